"""The on-disk index: FAISS inner-product indexes over unit vectors plus JSON, written atomically.

Layout of `indexes/<name>/`:
- `manifest.json`: format version, encoder (name, version, dim) and its parts, confidence
  calibration, source file and its hash, build time, counts, and the sha256 of the files below;
- `entries.json`: the FAQ entries; row i of a FAISS index is the i-th phrasing when the
  entries' phrasings (question, then alternatives) are listed in order;
- per part of the encoder (one, unless it is fused: see encoders/fused.py):
  - `vectors.<part>.faiss`: the phrasings' vectors in a `faiss.IndexPreTransform` that subtracts
    their mean and re-normalizes (stored vectors and queries alike) in front of an exact
    `faiss.IndexFlatIP`, so every inner product is a cosine in the centered space;
  - `languages.<part>.json`: per language, the offset subtracted from a question in that
    language before it is compared (measured on the shipped parallel off-topic sample, see
    offtopic.py).

Centering removes the direction all sentences of an encoder share (e5 puts nearly every pair
between 0.7 and 1.0), the language offset removes most of what separates a question in Tamil
from the same question in English, and an entry scores as the mean cosine over all its
phrasings rather than its single nearest one: each measured better on held-out questions in
14 languages (BENCHMARKS.md). A fused encoder's parts are each centered on their own and their
cosines mixed by weight. The manifest also holds the confidence calibration.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import faiss
import numpy as np

from . import calibration
from .atomic import write_folder
from .calibration import Calibration
from .encoders import Encoder, split
from .errors import IndexUnusable
from .faqs import FAQEntry, FAQFile, file_sha256
from .offtopic import encode_sample

FORMAT_VERSION = 3
MANIFEST, ENTRIES = "manifest.json", "entries.json"
DEFAULT_ROOT = Path("indexes")


@dataclass(frozen=True)
class EncoderInfo:
    name: str
    version: str
    dim: int


@dataclass(frozen=True)
class PartInfo:
    """One encoder's block of the vectors (a fused encoder's index has one per part)."""

    name: str
    dim: int
    weight: float
    languages: list[str] | None  # the languages it reads (None: all); it sits out questions in others

    @property
    def files(self) -> tuple[str, str]:
        return f"vectors.{self.name}.faiss", f"languages.{self.name}.json"


def part_infos(encoder: Encoder) -> list[PartInfo]:
    return [
        PartInfo(part.name, part.dim, weight, sorted(part.languages) if part.languages else None)
        for part, weight in encoder.parts()
    ]


def part_weights(parts: list[PartInfo], language: str) -> np.ndarray:
    """Each part's share of a question's score: the weights of the parts that read its
    language, scaled to sum to 1 (every part's, if none reads it)."""
    reads = np.array([p.languages is None or language in p.languages for p in parts])
    weights = np.array([p.weight for p in parts]) * (reads if reads.any() else 1)
    return weights / weights.sum()


@dataclass(frozen=True)
class Manifest:
    format_version: int
    language: str
    encoder: EncoderInfo
    parts: list[PartInfo]
    calibration: Calibration
    source_path: str
    source_sha256: str
    built_at: str
    build_seconds: float
    entries: int
    phrasings: int
    files_sha256: dict[str, str]

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        return cls(
            **{
                **data,
                "encoder": EncoderInfo(**data["encoder"]),
                "parts": [PartInfo(**part) for part in data["parts"]],
                "calibration": Calibration(**data["calibration"]),
            }
        )


@dataclass
class Part:
    """One part's phrasing vectors (a centered cosine index) and language offsets."""

    info: PartInfo
    vectors: faiss.Index
    offsets: dict[str, np.ndarray]

    def cosines(self, queries: np.ndarray, languages: list[str]) -> np.ndarray:
        """(questions, phrasings) cosines in the centered space, in row order, after removing
        each question's language offset."""
        shifted = np.array(queries, dtype=np.float32)
        for i, language in enumerate(languages):
            if language in self.offsets:
                shifted[i] -= self.offsets[language]
        shifted /= np.maximum(np.linalg.norm(shifted, axis=1, keepdims=True), 1e-12)
        cosines, rows = self.vectors.search(shifted, self.vectors.ntotal)
        ordered = np.empty_like(cosines)
        np.put_along_axis(ordered, rows, cosines, axis=1)
        return ordered


class Scorer:
    """Scores questions against the phrasings: each part's cosines (language offset, centering),
    mixed by the parts' weights for the question's language, and each entry's mean over its
    phrasings."""

    def __init__(self, parts: list[Part], row_entry: np.ndarray):
        self.parts, self.row_entry = parts, row_entry
        self.members = np.zeros((len(row_entry), int(row_entry.max()) + 1), dtype=np.float32)
        self.members[np.arange(len(row_entry)), row_entry] = 1  # (phrasings, entries) one-hot
        self._mean_over_entry = self.members / self.members.sum(0)  # cosines @ this = entry scores

    def cosines(self, queries: np.ndarray, languages: list[str]) -> np.ndarray:
        """(questions, phrasings): the parts' cosines, mixed by weight (see part_weights)."""
        infos = [part.info for part in self.parts]
        weights = np.array([part_weights(infos, language) for language in languages], dtype=np.float32)
        mixed = np.zeros((len(queries), len(self.row_entry)), dtype=np.float32)
        for k, (part, block) in enumerate(zip(self.parts, split(queries, [i.dim for i in infos]), strict=True)):
            if weights[:, k].any():
                mixed += weights[:, k, None] * part.cosines(block, languages)
        return mixed

    def entry_scores(self, cosines: np.ndarray) -> np.ndarray:
        """(questions, entries): each entry's mean cosine over its phrasings."""
        return cosines @ self._mean_over_entry

    def nearest_row(self, cosines: np.ndarray, entry: int) -> int:
        """The row of `entry`'s phrasing nearest to a question, given its row cosines."""
        rows = np.flatnonzero(self.row_entry == entry)
        return int(rows[np.argmax(cosines[rows])])


@dataclass
class Index:
    """A loaded index: manifest, entries, and the scorer over their phrasings."""

    path: Path
    manifest: Manifest
    entries: tuple[FAQEntry, ...]
    scorer: Scorer

    def __post_init__(self) -> None:
        self.phrasings = [p for entry in self.entries for p in entry.phrasings]
        self.row_entry = self.scorer.row_entry


def _row_entry(entries: tuple[FAQEntry, ...]) -> np.ndarray:
    """Row i of the FAISS index -> the entry its phrasing belongs to."""
    return np.array([i for i, e in enumerate(entries) for _ in e.phrasings])


def build_index(faq: FAQFile, encoder: Encoder, directory: Path) -> Index:
    """Embed every phrasing of `faq` and write the index to `directory` atomically: it is built in
    a sibling temporary folder and renamed into place, so a failed or interrupted build leaves
    the previous index as it was."""
    _refuse_to_replace_non_index(directory)
    started = datetime.now(timezone.utc)
    phrasings = [p for entry in faq.entries for p in entry.phrasings]
    vectors = encoder.encode(phrasings, [faq.language] * len(phrasings))
    sample = encode_sample(encoder)
    offsets = sample.language_offsets(faq.language)
    infos = part_infos(encoder)
    dims = [info.dim for info in infos]
    files = {ENTRIES: json.dumps({"entries": [asdict(e) for e in faq.entries]}, ensure_ascii=False, indent=1).encode()}
    parts = []
    for k, (info, block) in enumerate(zip(infos, split(vectors, dims), strict=True)):
        vectors_file, languages_file = info.files
        files[languages_file] = _offsets_json({lang: split(v[None, :], dims)[k][0] for lang, v in offsets.items()})
        # scored from the offsets as written (rounded): exactly what a reader of the files gets
        parts.append(Part(info, _centered_cosine_index(block), _read_offsets(files[languages_file])))
        files[vectors_file] = faiss.serialize_index(parts[-1].vectors).tobytes()
    scorer = Scorer(parts, _row_entry(faq.entries))
    offtopic_scores = scorer.entry_scores(scorer.cosines(sample.vectors, sample.languages))
    phrasing_cosines = scorer.cosines(vectors, [faq.language] * len(phrasings))
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        language=faq.language,
        encoder=EncoderInfo(encoder.name, encoder.version, encoder.dim),
        parts=infos,
        calibration=calibration.fit(phrasing_cosines, scorer.members, offtopic_scores),
        source_path=str(faq.path.resolve()),
        source_sha256=faq.sha256,
        built_at=started.isoformat(timespec="seconds"),
        build_seconds=round((datetime.now(timezone.utc) - started).total_seconds(), 3),
        entries=len(faq.entries),
        phrasings=len(phrasings),
        files_sha256={name: _sha256(data) for name, data in files.items()},
    )
    files[MANIFEST] = json.dumps(asdict(manifest), ensure_ascii=False, indent=1).encode()
    write_folder(directory, files)
    return Index(directory, manifest, faq.entries, scorer)


def open_index(directory: Path) -> Index:
    """Load an index, refusing (with the fix in the message) one that is missing, corrupt, from
    another format version, or older than its source file."""
    directory = Path(directory)
    rebuild = "rebuild it with `faqsearch build <faq file>`"
    if not (directory / MANIFEST).is_file():
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
    rebuild = f"rebuild it with `faqsearch build {manifest.source_path}`"
    contents = {}
    for name, expected in manifest.files_sha256.items():
        try:
            contents[name] = (directory / name).read_bytes()
        except FileNotFoundError:
            raise IndexUnusable(f"{directory}/{name} is missing; {rebuild}") from None
        if _sha256(contents[name]) != expected:
            raise IndexUnusable(f"{directory}/{name} is corrupt (checksum mismatch); {rebuild}")
    source = Path(manifest.source_path)
    if source.is_file() and file_sha256(source) != manifest.source_sha256:
        raise IndexUnusable(f"{directory} is stale: {source} changed since it was built; {rebuild}")
    entries = tuple(
        FAQEntry(**{**e, "alternatives": tuple(e["alternatives"]), "tags": tuple(e["tags"])})
        for e in json.loads(contents[ENTRIES])["entries"]
    )
    parts = []
    for info in manifest.parts:
        vectors_file, languages_file = info.files
        vectors = faiss.deserialize_index(np.frombuffer(contents[vectors_file], dtype=np.uint8))
        parts.append(Part(info, vectors, _read_offsets(contents[languages_file])))
    return Index(directory, manifest, entries, Scorer(parts, _row_entry(entries)))


def _offsets_json(offsets: dict[str, np.ndarray]) -> bytes:
    return json.dumps({lang: [round(float(x), 7) for x in v] for lang, v in offsets.items()}).encode()


def _read_offsets(data: bytes) -> dict[str, np.ndarray]:
    return {lang: np.array(v, dtype=np.float32) for lang, v in json.loads(data).items()}


def list_indexes(root: Path = DEFAULT_ROOT) -> list[Path]:
    """Index folders directly under `root` (hidden build/backup folders excluded)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if not p.name.startswith(".") and (p / MANIFEST).is_file())


def _centered_cosine_index(vectors: np.ndarray) -> faiss.Index:
    vectors = np.ascontiguousarray(vectors)  # a part's block of columns is a strided view
    dim = vectors.shape[1]
    center = faiss.CenteringTransform(dim)
    center.train(vectors)
    index = faiss.IndexPreTransform(faiss.NormalizationTransform(dim, 2.0), faiss.IndexFlatIP(dim))
    index.prepend_transform(center)
    index.add(vectors)
    return index


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _refuse_to_replace_non_index(directory: Path) -> None:
    if directory.exists() and not (directory / MANIFEST).is_file() and any(directory.iterdir()):
        raise IndexUnusable(
            f"{directory} exists and is not a faqsearch index; choose another output folder with --index"
        )


def locate_index(name_or_path: str | None, root: Path = DEFAULT_ROOT) -> Path:
    """The index to use: an explicit folder, a name under `root`, or the only index there is."""
    if name_or_path is not None:
        path = Path(name_or_path)
        return path if path.exists() or path.is_absolute() or len(path.parts) > 1 else root / path
    found = list_indexes(root)
    if len(found) == 1:
        return found[0]
    if not found:
        raise IndexUnusable(f"no index under {root}/; build one with `faqsearch build faqs/en.yaml`")
    names = ", ".join(p.name for p in found)
    raise IndexUnusable(f"several indexes under {root}/ ({names}); choose one with --index NAME")
