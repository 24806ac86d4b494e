"""`faqsearch build`: embed a FAQ's phrasings (only those whose text changed since the last
build of the same index), align, index, choose its background sentences, calibrate and write
the index atomically."""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from . import ann, background, calibration, classifier, index, memory, progress
from .calibration import NEAR_DUPLICATE, calibrate
from .confidence import REFERENCE_PRIOR, Calibration
from .encoders import Encoder, split
from .errors import FAQSearchError, IndexUnusable
from .faqs import FAQFile
from .index import (
    FILES,
    FORMAT_VERSION,
    MANIFEST,
    VECTORS,
    BackgroundInfo,
    EncoderInfo,
    Index,
    Manifest,
    index_folder,
    row_entry,
)
from .offsets import language_offsets, translation_differences
from .offtopic import encode_sample
from .rebuild import Kept, Reusable, fit_inputs, kept_fit, previous_classifier, previous_index, reusable_vectors
from .retrieval import Alignment, PartInfo, Retriever, index_vectors
from .versions import new_version, prune

# Peak memory of a build per phrasing: float32 vectors held ~4 times (raw, aligned, FAISS, file) and
# the Python objects of its text and entry; 1M phrasings of 384-d peaked at 6.8 GiB (BENCHMARKS.md).
BYTES_PER_VALUE = 4 * 4
BYTES_PER_PHRASING_TEXT = 1200
# A background sentence this near (centered cosine) to a phrasing is a paraphrase of it, in scope:
# left out of that index's background (BENCHMARKS.md). Past GENERAL of the corpus left out, the
# FAQ is as general as the corpus itself, and the build says so.
IN_SCOPE = 0.85
GENERAL = 0.5


@dataclass
class Built:
    index: Index
    notes: list[str] = field(default_factory=list)  # what the user should know (fallbacks, duplicates)
    timings: progress.Timings = field(default_factory=progress.Timings)  # seconds per stage (--profile)


def part_infos(encoder: Encoder) -> list[PartInfo]:
    return [
        PartInfo(part.name, part.dim, weight, sorted(part.languages) if part.languages else None)
        for part, weight in encoder.parts()
    ]


def check_memory(phrasings: int, dim: int) -> None:
    """Refuse, before any work, a FAQ whose build would not fit in this machine's memory."""
    memory.require(
        phrasings * (dim * BYTES_PER_VALUE + BYTES_PER_PHRASING_TEXT),
        f"building this FAQ ({phrasings:,} phrasings)",
        "build it on a larger machine or split the FAQ",
    )


def embed(faq: FAQFile, encoder: Encoder, known: Reusable) -> tuple[np.ndarray, int]:
    """The phrasings' vectors in row order (from the `known` ones where there, else embedded now,
    each in its language), and how many had to be embedded."""
    rows, previous = known
    phrasings = [p for entry in faq.entries for p in entry.phrasings]
    where = np.fromiter((rows.get(p, -1) for p in phrasings), dtype=np.intp, count=len(phrasings))
    missing = np.flatnonzero(where < 0)
    languages = faq.phrasing_languages()
    fresh = progress.encode(
        encoder, [phrasings[i] for i in missing], [languages[i] for i in missing], f"embedding with {encoder.name}"
    )
    if len(missing) == len(phrasings):  # a first build: the encoder's vectors as they are, not a copy
        return np.ascontiguousarray(fresh, dtype=np.float32), len(missing)
    vectors = np.empty((len(phrasings), encoder.dim), dtype=np.float32)
    vectors[where >= 0] = previous[where[where >= 0]]
    vectors[missing] = fresh
    return vectors, len(missing)


@contextmanager
def build_lock(directory: Path, wait: bool = True, create: bool = False) -> Iterator[None]:
    """One build (or rollback) at a time per index: a file lock beside it (`.<name>.lock`). A
    second one waits, saying so on stderr, or with `wait=False` fails at once. Holding the lock,
    it removes what killed builds of this index left behind (versions.prune). Only a build
    (`create`) locks an index that does not exist yet: nothing else leaves a lock beside nothing."""
    index_folder(str(directory))
    if not create and not (directory.is_symlink() or directory.exists()):
        raise IndexUnusable(f"no index at {directory}; build one with `faqsearch build <faq file>`")
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(directory.parent / f".{directory.name}.lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if not wait:
                raise FAQSearchError(
                    f"another build of {directory} is running (lock {lock.lock_file}); wait for it, "
                    "or leave out --no-wait to wait"
                ) from None
            print(f"waiting for another build of {directory} to finish (lock {lock.lock_file})", file=sys.stderr)
            lock.acquire()
    except OSError as exc:  # a read-only folder: nothing was changed
        raise _unwritable(directory, exc) from None
    try:
        ours = re.compile(rf"\.{re.escape(directory.name)}\.(building|previous)-[A-Za-z0-9_]+")
        for leftover in directory.parent.iterdir():
            if leftover.is_dir() and ours.fullmatch(leftover.name):
                shutil.rmtree(leftover, ignore_errors=True)  # of builds from before versions
        try:
            prune(directory)
        except OSError as exc:
            raise _unwritable(directory, exc) from None
        yield
    finally:
        lock.release()


def build_index(
    faq: FAQFile,
    encoder: Encoder,
    directory: Path,
    index_type: str = "auto",
    wait: bool = True,
    timings: progress.Timings | None = None,
) -> Built:
    """Build (or rebuild) the index of `faq` at `directory` as a new version (versions.py):
    readers see the old version or the new one whole, and a failed or killed build leaves the
    old one as it was. One build at a time per index (see build_lock). Each stage's seconds go
    to `timings` (one that already holds the FAQ's reading, for `faqsearch build --profile`)."""
    phrasings = sum(len(e.phrasings) for e in faq.entries)
    check_memory(phrasings, encoder.dim)
    timings = timings or progress.Timings()
    with build_lock(directory, wait, create=True), memory.collector_paused():
        return _build(faq, encoder, directory, index_type, phrasings, timings)


def _unwritable(directory: Path, exc: OSError) -> FAQSearchError:
    return FAQSearchError(
        f"cannot write the index to {directory} ({exc.strerror or exc}); choose a writable folder with --index"
    )


def _build(
    faq: FAQFile, encoder: Encoder, directory: Path, index_type: str, phrasings: int, timings: progress.Timings
) -> Built:
    started = time.perf_counter()
    built_at = datetime.now(timezone.utc)
    _refuse_to_replace_non_index(directory)
    chosen, note = ann.choose(index_type, phrasings)
    notes = [note] if note else []
    with timings.stage("embed"):
        previous = previous_index(directory)
        vectors, embedded = embed(faq, encoder, reusable_vectors(directory, previous, encoder, faq.language))
        offtopic = encode_sample(encoder)
    with timings.stage("index", f"indexing {phrasings:,} phrasings ({chosen.kind})"):
        parts = part_infos(encoder)
        dims = [p.dim for p in parts]
        offsets = language_offsets(encoder, faq.language, offtopic.language_offsets(faq.language), dims)
        alignments = [
            Alignment(block.mean(0), {lang: split(v[None, :], dims)[k][0] for lang, v in offsets.items()})
            for k, block in enumerate(split(vectors, dims))
        ]
        languages = faq.phrasing_languages()
        aligned = index_vectors(vectors, languages, parts, alignments)
        centroids = None
        if chosen.kind == "ivf" and embedded <= ann.REUSE_CELLS_UP_TO * phrasings and (directory / VECTORS).is_file():
            centroids = ann.cells(directory / VECTORS, chosen, aligned.shape[1])
        stored = ann.build(aligned, chosen, centroids)
    rows = row_entry(faq.entries)
    voting = classifier.applies(len(faq.entries), phrasings)
    first_part = aligned[:, : parts[0].dim]  # what the classifier reads: see Retriever.votes
    entry_classifier = None
    if voting:
        with timings.stage("classifier", "fitting the entry classifier"):
            start = previous_classifier(directory, previous, faq, parts[0].dim)
            entry_classifier = classifier.fit(first_part, rows, len(faq.entries), start)
    retriever = Retriever(stored, chosen, parts, alignments, rows, entry_classifier)
    with timings.stage("background", "choosing background sentences"):
        corpus = background.load(encoder)
        inputs = fit_inputs(faq, encoder, chosen, voting, corpus, offtopic)
        kept = kept_fit(directory, previous, faq, inputs)
        sample, info, nearness = background_sample(retriever, corpus, kept, aligned)
    notes += _general_notes(info)
    with timings.stage("calibration", "calibrating confidence"):
        if kept is not None:
            confidence = kept.calibration
            duplicates = calibration.near_duplicates(retriever, vectors, kept.fresh, languages)
        else:
            translations = translation_differences(
                encoder, faq.language, offtopic.translation_differences(faq.language)
            )
            refused = calibration.Refused(
                encoder.encode([t for t, _ in faq.no_match], [lang for _, lang in faq.no_match]),
                [lang for _, lang in faq.no_match],
            )
            folds = None  # the classifier's fold models: they serve this fit only
            if entry_classifier is not None:
                folds = classifier.out_of_fold(first_part, rows, entry_classifier, calibration.sample(phrasings)[0])
            confidence, duplicates = calibrate(
                retriever, vectors, languages, faq.language, translations, offtopic, sample, folds, refused
            )
            confidence = replace(confidence, fitted_for=inputs)
    notes += _calibration_notes(confidence, phrasings) + _duplicate_notes(faq, rows, duplicates)
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        language=faq.language,
        encoder=EncoderInfo(encoder.name, encoder.version, encoder.dim),
        parts=parts,
        index_type=chosen,
        calibration=confidence,
        source_path=str(faq.path.resolve()),
        source_sha256=faq.sha256,
        built_at=built_at.isoformat(timespec="seconds"),
        build_seconds=round(time.perf_counter() - started, 3),
        entries=len(faq.entries),
        phrasings=phrasings,
        embedded=embedded,
        background=info,
        files={},
        default_answer=faq.default_answer,
    )
    try:
        with timings.stage("write", "writing the index"), new_version(directory) as folder:
            manifest = index.write(folder, manifest, faq.entries, retriever, vectors, nearness)
    except OSError as exc:  # the previous index, if any, is left as it was
        raise _unwritable(directory, exc) from None
    return Built(Index(directory, manifest, faq.entries, retriever), notes, timings)


@dataclass(frozen=True)
class _Aligned:
    """Background sentences in the index's space, made from their stored vectors only for the
    rows read (ann.Rows): the aligned corpus is never whole in a build's memory (27 MB)."""

    retriever: Retriever
    vectors: background.Vectors
    languages: list[str]

    @property
    def shape(self) -> tuple[int, int]:
        return self.vectors.shape

    def __getitem__(self, rows: slice | np.ndarray) -> np.ndarray:
        languages = self.languages[rows] if isinstance(rows, slice) else [self.languages[i] for i in rows]
        return self.retriever.align(self.vectors[rows], languages)


def background_sample(
    retriever: Retriever, corpus: background.Background, kept: Kept | None, stored: np.ndarray
) -> tuple[calibration.Background, BackgroundInfo, np.ndarray]:
    """Give `retriever` the background sentences that are not paraphrases of its phrasings
    (IN_SCOPE); return them as the confidence fit asks them, what the manifest records, and each
    sentence's nearness (nearness.npy). Where the previous fit is `kept`, its nearness is
    updated instead of searched: the sentences whose nearest phrasing changed are searched again,
    and every one is compared with the phrasings that are new (`stored`: the index's vectors)."""
    languages = corpus.corpus.languages
    aligned = _Aligned(retriever, corpus.vectors, languages)
    nearness = np.empty((len(languages), 2)) if kept is None else kept.nearness.copy()
    fresh = None if kept is None or not len(kept.fresh) else ann.build(stored[kept.fresh], ann.IndexType("flat"))
    for start in range(0, len(languages), ann.BACKGROUND_BLOCK):
        block = slice(start, start + ann.BACKGROUND_BLOCK)
        prepared = retriever.weigh(aligned[block], languages[block])
        near = nearness[block]  # a view: updated in place
        searched = slice(None) if kept is None else np.flatnonzero(near[:, 1] < 0)  # a first fit: every one
        cosines, rows = retriever.search(prepared[searched], 1)
        near[searched] = np.c_[cosines[:, 0], rows[:, 0]]
        if fresh is not None:
            cosines, rows = fresh.search(prepared, 1)
            nearer = np.flatnonzero(cosines[:, 0] > near[:, 0])
            near[nearer] = np.c_[cosines[nearer, 0], kept.fresh[rows[nearer, 0]]]
    nearest = nearness[:, 0].astype(np.float32)
    keep = np.flatnonzero(nearest < IN_SCOPE)
    whole = len(keep) == len(languages)  # most FAQs paraphrase none: no copy of the corpus's rows
    vectors = corpus.vectors if whole else corpus.vectors.take(keep)
    kept_languages = [languages[i] for i in keep]
    retriever.background = ann.background(_Aligned(retriever, vectors, kept_languages))
    info = BackgroundInfo(corpus.corpus.sha256, len(languages), len(languages) - len(keep), len(keep))
    sample = calibration.Background(vectors, kept_languages, corpus.corpus.groups[keep], nearest[keep])
    return sample, info, nearness


def _general_notes(info: BackgroundInfo) -> list[str]:
    if info.in_scope <= GENERAL * info.sentences:
        return []
    return [
        f"{info.in_scope:,} of the {info.sentences:,} background sentences are paraphrases of this FAQ's phrasings: "
        "the FAQ is about as general as everyday language, so they were left out and confidence relies on "
        "the rest; expect fewer general questions to be rejected as off-topic"
    ]


def _calibration_notes(confidence: Calibration, phrasings: int) -> list[str]:
    if confidence.measured():
        return []
    return [
        f"a FAQ of {phrasings} phrasing{'' if phrasings == 1 else 's'} is too small to measure where its own "
        f"in-domain questions sit (that takes {REFERENCE_PRIOR}): its confidence is placed mostly where public FAQs' "
        "sit; add entries, or alternative phrasings to them"
    ]


def _duplicate_notes(faq: FAQFile, rows: np.ndarray, duplicates: list[tuple[int, int, int]]) -> list[str]:
    phrasings = [p for entry in faq.entries for p in entry.phrasings]
    pairs: dict[tuple[str, str], tuple[str, str]] = {}
    for row, other, entry in duplicates:
        ids = tuple(sorted((faq.entries[rows[row]].id, faq.entries[entry].id)))
        pairs.setdefault(ids, (phrasings[row], phrasings[other]))
    notes = [
        f"entries `{a}` and `{b}` have near-identical phrasings ({x!r} / {y!r}, centered cosine >= "
        f"{NEAR_DUPLICATE}): check whether they mean the same; if so merge them, if not reword one so they "
        "differ, or questions will hesitate between them"
        for (a, b), (x, y) in list(pairs.items())[:5]
    ]
    if len(pairs) > 5:
        notes.append(f"... and {len(pairs) - 5} more pairs of entries with near-identical phrasings")
    return notes


def _refuse_to_replace_non_index(directory: Path) -> None:
    """A build replaces an index folder whole: refuse a folder that is not an index, or holds
    files of someone else's (a rebuild would delete them)."""
    if directory.exists() and not directory.is_dir():
        raise FAQSearchError(f"{directory} is a file, not an index folder; choose another output folder with --index")
    if not directory.is_dir() or not any(directory.iterdir()):
        return
    if not (directory / MANIFEST).is_file():
        raise IndexUnusable(
            f"{directory} exists and is not a faqsearch index; choose another output folder with --index"
        )
    strangers = sorted(p.name for p in directory.iterdir() if p.name not in FILES | _listed(directory))
    if strangers:
        names = ", ".join(strangers[:3]) + (", ..." if len(strangers) > 3 else "")
        raise FAQSearchError(
            f"{directory} holds files that are not part of the index ({names}), which a rebuild would delete; "
            "move them elsewhere, or choose another output folder with --index"
        )


def _listed(directory: Path) -> set[str]:
    """The plain file names the existing manifest lists, whatever its format version (an index
    of an older format is replaced by a rebuild)."""
    try:
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        listed = data.get("files") or data.get("files_sha256") or {}
        return {name for name in listed if isinstance(name, str) and name == Path(name).name}
    except (OSError, ValueError, AttributeError):
        return set()
