"""The on-disk index (format 5): what is written, how it is checked and opened.

Layout of `indexes/<name>/`:
- `manifest.json`: format version, encoder (name, version, dim) and its parts, the FAISS index
  type and its parameters, the confidence calibration, source file and hash, build time and
  counts, and the size and sha256 of every other file;
- `entries.json`: the FAQ entries, with the language of each phrasing not in the FAQ's
  (`languages`; absent in indexes built before it, read as none); row i of the vectors is the
  i-th phrasing when the entries' phrasings (question, then alternatives) are listed in order;
- `alignment.json`: per encoder part, its centre (mean phrasing vector) and the per-language
  offsets measured on the shipped parallel off-topic sample (offtopic.py);
- `vectors.faiss`: the phrasings as retrieval.index_vectors stores them (each in its language
  aligned, centered, unit per part), in a FAISS index of the type ann.choose picked; opened memory-mapped;
- `classifier.npy`: the entry classifier's weights and biases, (entries, dim + 1), where the
  FAQ is one it applies to (classifier.py);
- `background.faiss`: the background sentences (background.py) this index compares questions
  with, stored like the phrasings (ann.background); those as near to a phrasing as its own
  paraphrases are left out at build time (the manifest says how many);
- `embeddings.npy`: the encoder's own vectors of the phrasings, read only by the next build,
  which re-embeds just the phrasings whose text changed;
- `nearness.npy`: each sentence of the background corpus with its cosine to its nearest phrasing
  and that phrasing's row, (sentences, 2) float64, read only by the next build, which updates it
  for the phrasings that changed instead of searching every sentence again (absent in indexes
  built before it: that build searches them all).

How a question is scored from these files is retrieval.py's business, not this module's.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from . import ann, memory
from .classifier import Classifier
from .confidence import Calibration
from .errors import FAQSearchError, IndexUnusable
from .faqs import MAX_TAG_CHARS, FAQEntry, Related, file_sha256
from .retrieval import Alignment, PartInfo, Retriever

FORMAT_VERSION = 5
MANIFEST, ENTRIES, ALIGNMENT, VECTORS, EMBEDDINGS, CLASSIFIER, BACKGROUND, NEARNESS = (
    "manifest.json",
    "entries.json",
    "alignment.json",
    "vectors.faiss",
    "embeddings.npy",
    "classifier.npy",
    "background.faiss",
    "nearness.npy",
)
# all an index may hold
FILES = frozenset({MANIFEST, ENTRIES, ALIGNMENT, VECTORS, EMBEDDINGS, CLASSIFIER, BACKGROUND, NEARNESS})
CHECKSUM_AT_OPEN = 64 << 20  # larger files are checked by size when opened, by sha256 when built
DEFAULT_ROOT = Path("indexes")
LISTED_TAGS = 20  # an error about tags names at most this many (an index may hold thousands)


@dataclass(frozen=True)
class EncoderInfo:
    name: str
    version: str
    dim: int


@dataclass(frozen=True)
class FileInfo:
    bytes: int
    sha256: str


@dataclass(frozen=True)
class BackgroundInfo:
    """Which background corpus the index compares with, and how much of it."""

    corpus_sha256: str
    sentences: int  # in the shipped corpus
    in_scope: int  # left out: as near to a phrasing as IN_SCOPE (build.py)
    kept: int


@dataclass(frozen=True)
class Manifest:
    format_version: int
    language: str
    encoder: EncoderInfo
    parts: list[PartInfo]
    index_type: ann.IndexType
    calibration: Calibration
    source_path: str
    source_sha256: str
    built_at: str
    build_seconds: float
    entries: int
    phrasings: int
    embedded: int  # phrasings the encoder embedded in this build (the rest were reused)
    background: BackgroundInfo
    files: dict[str, FileInfo]
    default_answer: str | None = None  # the FAQ's, said when nothing matches

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        return cls(
            **{
                **data,
                "encoder": EncoderInfo(**data["encoder"]),
                "parts": [PartInfo(**part) for part in data["parts"]],
                "index_type": ann.IndexType(**data["index_type"]),
                "calibration": Calibration.from_json(data["calibration"]),
                "background": BackgroundInfo(**data["background"]),
                "files": {name: FileInfo(**info) for name, info in data["files"].items()},
            }
        )


@dataclass
class Index:
    """A loaded index: manifest, entries, and the retriever over their phrasings."""

    path: Path
    manifest: Manifest
    entries: tuple[FAQEntry, ...]
    retriever: Retriever

    def __post_init__(self) -> None:
        self.phrasings = [p for entry in self.entries for p in entry.phrasings]
        self._by_id = {entry.id: entry for entry in self.entries}
        self.row_entry = self.retriever.row_entry
        self.mapped = {path: _identity(path) for path in (self.path / VECTORS, self.path / BACKGROUND)}

    def entry(self, entry_id: str) -> FAQEntry:
        return self._by_id[entry_id]

    def check_mapped(self) -> None:
        """Raise IndexUnusable if a memory-mapped file changed since it was opened. Reading a page
        of a file truncated under its mapping is a SIGBUS, which ends the whole process (every
        tenant of a server) where no exception can be caught: a server checks before each use
        (two stats, BENCHMARKS.md), so only a change in the milliseconds between check and
        search can still reach the mapping."""
        for path, opened in self.mapped.items():
            now = _identity(path)
            if now != opened:
                state = "is gone" if now is None else f"is now {now[1]:,} bytes (was {opened[1]:,})"
                raise IndexUnusable(
                    f"{path} changed while it was open: it {state}; rebuild the index with "
                    f"`faqsearch build {self.manifest.source_path}` rather than editing its files"
                )

    @cached_property
    def tags(self) -> dict[str, np.ndarray]:
        """Tag -> the entry numbers carrying it."""
        found: dict[str, list[int]] = {}
        for i, entry in enumerate(self.entries):
            for tag in entry.tags:
                found.setdefault(tag, []).append(i)
        return {tag: np.array(entries) for tag, entries in found.items()}

    def rows_tagged(self, tags: list[str]) -> np.ndarray:
        """A mask over rows: the phrasings of entries carrying any of `tags`."""
        unknown = [t for t in tags if t not in self.tags]
        if unknown:
            names = sorted(self.tags)
            known = ", ".join(names[:LISTED_TAGS]) + (
                f", ... ({len(names):,} in all)" if len(names) > LISTED_TAGS else ""
            )
            raise FAQSearchError(
                f"no entry carries the tag {', '.join(repr(t[:MAX_TAG_CHARS]) for t in unknown[:LISTED_TAGS])}; "
                f"tags in this index: {known or 'none: add `tags:` to entries in the FAQ file'}"
            )
        entries = np.zeros(len(self.entries), dtype=bool)
        for tag in tags:
            entries[self.tags[tag]] = True
        return entries[self.row_entry]


def _identity(path: Path) -> tuple[int, int, int] | None:
    """What changes when a file is replaced, truncated or written: inode, size, modification time."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def row_entry(entries: tuple[FAQEntry, ...]) -> np.ndarray:
    """Row i of the vectors -> the entry its phrasing belongs to."""
    return np.repeat(np.arange(len(entries)), [len(e.phrasings) for e in entries])


def write(
    folder: Path,
    manifest: Manifest,
    entries: tuple[FAQEntry, ...],
    retriever: Retriever,
    embeddings: np.ndarray,
    nearness: np.ndarray,
) -> Manifest:
    """Write every file of an index into the empty `folder`, then the manifest listing them
    (`manifest`'s own `files` are ignored); returns the manifest written."""
    (folder / ENTRIES).write_bytes(_entries_json(entries))
    (folder / ALIGNMENT).write_bytes(_alignment_json(manifest.parts, retriever.alignments))
    ann.write(retriever.vectors, folder / VECTORS)
    ann.write(retriever.background, folder / BACKGROUND)
    np.save(folder / EMBEDDINGS, embeddings, allow_pickle=False)
    np.save(folder / NEARNESS, nearness, allow_pickle=False)
    if retriever.classifier is not None:
        np.save(folder / CLASSIFIER, retriever.classifier.to_array(), allow_pickle=False)
    files = {name: file_info(folder / name) for name in sorted(p.name for p in folder.iterdir())}
    manifest = replace(manifest, files=files)
    (folder / MANIFEST).write_bytes(json.dumps(asdict(manifest), ensure_ascii=False, indent=1).encode())
    return manifest


def _entries_json(entries: tuple[FAQEntry, ...]) -> bytes:
    listed = [{**vars(e), "related": [[r.entry, r.text] for r in e.related]} for e in entries]
    return json.dumps({"entries": listed}, ensure_ascii=False, separators=(",", ":")).encode()


def _alignment_json(parts: list[PartInfo], alignments: list[Alignment]) -> bytes:
    def numbers(v: np.ndarray) -> list[float]:
        return [round(float(x), 7) for x in v]

    return json.dumps(
        {
            part.name: {"center": numbers(a.center), "offsets": {lang: numbers(v) for lang, v in a.offsets.items()}}
            for part, a in zip(parts, alignments, strict=True)
        }
    ).encode()


def _read_alignment(data: bytes, parts: list[PartInfo]) -> list[Alignment]:
    stored = json.loads(data)
    return [
        Alignment(
            np.array(stored[p.name]["center"], dtype=np.float32),
            {lang: np.array(v, dtype=np.float32) for lang, v in stored[p.name]["offsets"].items()},
        )
        for p in parts
    ]


def file_info(path: Path) -> FileInfo:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 22):
            digest.update(chunk)
    return FileInfo(path.stat().st_size, digest.hexdigest())


def read_manifest(directory: Path) -> Manifest:
    """The manifest of the index at `directory`, refusing (with the fix) a missing, corrupt or
    other-format one."""
    directory = Path(directory)
    rebuild = "rebuild it with `faqsearch build <faq file>`"
    if not (directory / MANIFEST).is_file():
        broken = broken_link(directory)
        if broken:
            raise IndexUnusable(broken)
        if directory.is_dir():
            raise IndexUnusable(f"{directory} is not a faqsearch index (no {MANIFEST}); {rebuild}")
        raise IndexUnusable(f"no index at {directory}; build one with `faqsearch build <faq file>`")
    try:
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise IndexUnusable(
                f"{directory} has index format {version}, this faqsearch reads format {FORMAT_VERSION}; {rebuild}"
            )
        manifest = Manifest.from_json(data)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise IndexUnusable(f"{directory}/{MANIFEST} is corrupt ({exc}); {rebuild}") from None
    strangers = sorted(set(manifest.files) - FILES)
    if strangers:
        names = ", ".join(map(repr, strangers[:3]))
        raise IndexUnusable(f"{directory}/{MANIFEST} lists files that are not part of an index ({names}); {rebuild}")
    return manifest


def broken_link(directory: Path) -> str | None:
    """What is wrong with `directory` if it is a link that leads to no folder, else None. An
    index is a link to its current version (versions.py), relative to the folder it is in, so
    `cp -r indexes/en tenants/t1` copies a link that leads nowhere from tenants/."""
    if not directory.is_symlink():
        return None
    try:
        directory.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"{directory} is a link that leads back to itself; remove it"
        return (
            f"{directory} is a link to {os.readlink(directory)}, which is not there: `cp -r` copies an index's "
            f"link, not its files; copy it with `cp -rL SOURCE {directory}`, or build it there with "
            f"`faqsearch build FAQ.yaml --index {directory}`"
        )
    return None


def check_file(directory: Path, manifest: Manifest, name: str, full: bool) -> Path:
    """The path of one of the index's files, after checking its size (and its sha256 when
    `full` or small)."""
    path, expected = directory / name, manifest.files.get(name)
    rebuild = f"rebuild it with `faqsearch build {manifest.source_path}`"
    if expected is None:
        raise IndexUnusable(f"{directory}/{MANIFEST} does not list {name}; {rebuild}")
    if not path.is_file():
        raise IndexUnusable(f"{directory}/{name} is missing; {rebuild}")
    if path.stat().st_size != expected.bytes or (
        (full or expected.bytes <= CHECKSUM_AT_OPEN) and file_info(path).sha256 != expected.sha256
    ):
        raise IndexUnusable(f"{directory}/{name} is corrupt (size or checksum mismatch); {rebuild}")
    return path


_warned: set[tuple[str, str]] = set()
_source_hashes: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> sha256


def source_changed(manifest: Manifest) -> bool:
    """Whether the FAQ file an index was built from has changed since (False when it is gone:
    an index copied to another machine without its FAQ still works). Hashes are cached by size
    and modification time, so asking often (the server's /health) costs a stat."""
    source = Path(manifest.source_path)
    try:
        if not source.is_file():
            return False
        stat = source.stat()
    except OSError:
        return False
    key = (str(source), stat.st_size, stat.st_mtime_ns)
    if key not in _source_hashes:
        _source_hashes[key] = file_sha256(source)
    return _source_hashes[key] != manifest.source_sha256


def read_entries(directory: Path, manifest: Manifest) -> tuple[FAQEntry, ...]:
    data = check_file(directory, manifest, ENTRIES, False).read_bytes()
    with memory.collector_paused():
        return tuple(
            FAQEntry(
                e["id"],
                e["question"],
                e["answer"],
                tuple(e["alternatives"]),
                e["answers"],
                tuple(e["tags"]),
                e.get("languages", {}),  # indexes built before phrasing languages have none
                tuple(Related(*r) for r in e.get("related", ())),  # nor before related entries
            )
            for e in json.loads(data)["entries"]
        )


def open_index(directory: Path, strict: bool = False) -> Index:
    """Load an index, refusing (with the fix in the message) one that is missing, corrupt or from
    another format version. One older than its source file (the FAQ was edited since) is still a
    whole, working index: it is used with a one-line warning on stderr (once per process and
    index version), or refused when `strict`."""
    directory = Path(directory)
    broken = broken_link(directory)
    if broken:
        raise IndexUnusable(broken)
    version = directory.resolve() if directory.is_symlink() else directory  # one version, whatever is published next
    manifest = read_manifest(version)
    rebuild = f"rebuild it with `faqsearch build {manifest.source_path}`"
    if source_changed(manifest):
        stale = f"{directory} is stale: {manifest.source_path} changed since it was built; {rebuild}"
        if strict:
            raise IndexUnusable(stale)
        if (str(directory), manifest.built_at) not in _warned:
            _warned.add((str(directory), manifest.built_at))
            print(f"warning: {stale}", file=sys.stderr)
    try:
        index = _load(version, manifest)
    except IndexUnusable:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, RuntimeError, OSError) as exc:
        # a file edited by hand, its checksum recomputed: whole, but not what a build writes
        raise IndexUnusable(f"{directory} holds a file that cannot be read ({exc}); {rebuild}") from None
    index.path = directory  # as the user named it (a link to the version read)
    return index


def _load(directory: Path, manifest: Manifest) -> Index:
    rebuild = f"rebuild it with `faqsearch build {manifest.source_path}`"
    entries = read_entries(directory, manifest)
    alignments = _read_alignment(check_file(directory, manifest, ALIGNMENT, False).read_bytes(), manifest.parts)
    vectors = ann.read(check_file(directory, manifest, VECTORS, False))
    rows = row_entry(entries)
    if vectors.ntotal != len(rows) or vectors.d != sum(p.dim for p in manifest.parts):
        raise IndexUnusable(f"{directory}/{VECTORS} does not match {ENTRIES}; {rebuild}")
    entry_classifier = None
    if CLASSIFIER in manifest.files:
        weights = np.load(check_file(directory, manifest, CLASSIFIER, False), allow_pickle=False)
        if weights.shape != (len(entries), manifest.parts[0].dim + 1):
            raise IndexUnusable(f"{directory}/{CLASSIFIER} does not match {ENTRIES}; {rebuild}")
        entry_classifier = Classifier.from_array(weights)
    background = ann.read(check_file(directory, manifest, BACKGROUND, False))
    if background.ntotal != manifest.background.kept or background.d != vectors.d:
        raise IndexUnusable(f"{directory}/{BACKGROUND} does not match {MANIFEST}; {rebuild}")
    retriever = Retriever(vectors, manifest.index_type, manifest.parts, alignments, rows, entry_classifier, background)
    return Index(directory, manifest, entries, retriever)


def list_indexes(root: Path = DEFAULT_ROOT) -> list[Path]:
    """Index folders directly under `root` (hidden build/backup folders excluded)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if not p.name.startswith(".") and (p / MANIFEST).is_file())


def manifest_stamp(directory: Path) -> tuple:
    """What changes when the index at `directory` is rebuilt or rolled back (its manifest's inode,
    time and size); () while it has none."""
    try:
        stat = (directory / MANIFEST).stat()
    except OSError:
        return ()
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def index_folder(text: str) -> Path:
    """The index folder an --index argument names. Its lock, versions and links sit beside it
    as `.<name>.*`, so a path without a name of its own ('', '.', '/', 'a/..') is refused: its
    lock would land in or above the folder meant."""
    path = Path(text)
    if not text.strip() or path.name in ("", ".."):
        raise FAQSearchError(f"--index {text!r} names no index folder; pass one such as indexes/en")
    return path


def locate_index(name_or_path: str | None, root: Path = DEFAULT_ROOT) -> Path:
    """The index to use: an explicit folder, a name under `root`, or the only index there is."""
    if name_or_path is not None:
        path = index_folder(name_or_path)
        return path if path.exists() or path.is_absolute() or len(path.parts) > 1 else root / path
    found = list_indexes(root)
    if len(found) == 1:
        return found[0]
    if not found:
        raise IndexUnusable(f"no index under {root}/; build one with `faqsearch build faqs/en.yaml`")
    names = ", ".join(p.name for p in found)
    raise IndexUnusable(f"several indexes under {root}/ ({names}); choose one with --index NAME")
