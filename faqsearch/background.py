"""The shipped background corpus: what ordinary sentences and questions look like, in many
languages, so confidence can tell "near this FAQ" from "near everything".

A question as close to some general sentence ("what is the capital of Australia?") as to the
FAQ's best entry is evidence that the FAQ does not cover it: cohort normalization, as speaker
verification normalizes a score by the scores of other speakers. The corpus is public parallel
data (Tatoeba-Challenge's everyday sentences and FLORES-200's encyclopedic ones, written by
training/background.py); sentences whose English side is `held_out` are never in it, so
benchmarks can ask general questions the background has never seen.

Files (faqsearch/data/background/):
- `corpus.npz`: the texts (UTF-8, read only when asked: a build with shipped vectors never needs
  them), the language of each, and each one's group (its English source: translations of one
  sentence share a group, so a fit that asks a background sentence leaves its whole group out);
- `ENCODER.npz`: its vectors for one encoder version, scalar-quantized to int8 per dimension.
An encoder without shipped vectors (USE, LASER) embeds the corpus once and caches it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import numpy as np

from . import packagedata
from .encoders import Encoder
from .errors import ShippedDataBroken
from .vectorcache import encode_cached

CORPUS = Path(__file__).parent / "data" / "background" / "corpus.npz"
HELD_OUT_EVERY = 4  # one English sentence in 4 (by hash) and all its translations stay out, for evaluation


def held_out(english: str) -> bool:
    """Whether sentences translating `english` are kept out of the corpus (evaluation data)."""
    return hashlib.sha256(" ".join(english.casefold().split()).encode()).digest()[0] % HELD_OUT_EVERY == 0


@dataclass(frozen=True)
class Corpus:
    path: Path
    languages: list[str]  # ISO 639-1 of each text
    groups: np.ndarray  # (n,) int: texts translating the same English sentence share a group
    sha256: str  # of the texts and languages: which corpus an index or a vectors file was made from

    @cached_property
    def texts(self) -> list[str]:
        """Read on first use (an encoder without shipped vectors embeds them): a build with shipped
        vectors never holds them (2.5 MB). Checked against `sha256`."""
        _, arrays = _read(self.path, ("texts", "ends"))
        try:
            blob, ends = arrays["texts"].tobytes(), arrays["ends"].tolist()
            texts = [blob[start:end].decode() for start, end in zip([0, *ends[:-1]], ends, strict=True)]
            if packagedata.texts_sha256(texts, self.languages) != self.sha256:
                raise ValueError("its texts do not match its checksum")
        except (KeyError, ValueError) as exc:
            raise ShippedDataBroken(self.path, f"damaged ({exc})") from None
        return texts


@dataclass(frozen=True)
class Vectors:
    """The corpus's vectors as stored, made float32 unit rows (per encoder part) only for the
    rows asked: shipped vectors stay int8, a quarter of the 27 MB a float32 copy of the corpus
    took of a build's memory, and a build asks only a few thousand of its rows."""

    parts: tuple[tuple[np.ndarray, np.ndarray | None], ...]  # per part: values, and int8's scale (None: float32)
    rows: np.ndarray | None = None  # the stored rows these are, in order (None: all of them)

    @property
    def shape(self) -> tuple[int, int]:
        count = len(self.parts[0][0]) if self.rows is None else len(self.rows)
        return count, sum(values.shape[1] for values, _ in self.parts)

    def __getitem__(self, rows) -> np.ndarray:
        """The `rows` (an index, a slice or an index array) as (rows, dim) float32, unit per part."""
        if self.rows is not None:
            rows = self.rows[rows]
        blocks = []
        for values, scale in self.parts:
            block = values[rows]
            if scale is not None:
                block = block.astype(np.float32)
                block *= scale
                block /= np.maximum(np.linalg.norm(block, axis=-1, keepdims=True), 1e-12)
            blocks.append(block)
        return blocks[0] if len(blocks) == 1 else np.hstack(blocks)

    def take(self, rows: np.ndarray) -> Vectors:
        """Only the `rows`, read through to the stored ones: not a copy (6.6 MB of a build that
        leaves out some sentences)."""
        return Vectors(self.parts, rows if self.rows is None else self.rows[rows])


@dataclass(frozen=True)
class Background:
    """The corpus with one encoder's vectors (every part of it, as the encoder returns them)."""

    corpus: Corpus
    vectors: Vectors  # (n, encoder dim): vectors[rows] gives float32 unit rows per part


def write_corpus(texts: list[str], languages: list[str], groups: np.ndarray, made_with: dict) -> None:
    """The shipped corpus (training/background.py): languages as codes into the names, the texts
    as one UTF-8 array and where each ends, so that reading the rest never decodes them."""
    names = sorted(set(languages))
    code = {name: i for i, name in enumerate(names)}
    encoded = [text.encode() for text in texts]
    meta = {"languages": names, "sha256": packagedata.texts_sha256(texts, languages), "made_with": made_with}
    arrays = {
        "groups": groups,
        "language": np.array([code[name] for name in languages], dtype=np.int16),
        "texts": np.frombuffer(b"".join(encoded), dtype=np.uint8),
        "ends": np.cumsum([len(text) for text in encoded], dtype=np.int64),
    }
    packagedata.write(CORPUS, meta, arrays)


def _read(path: Path, arrays: bool | tuple[str, ...] = True) -> tuple[dict, dict[str, np.ndarray]]:
    if not path.is_file():
        raise ShippedDataBroken(path, "missing")
    try:
        return packagedata.read(path, arrays)
    except packagedata.DAMAGED as exc:
        raise ShippedDataBroken(path, f"damaged ({exc})") from None


def corpus() -> Corpus:
    """The shipped corpus (read once per process)."""
    return _corpus(CORPUS)


@cache
def _corpus(path: Path) -> Corpus:
    meta, arrays = _read(path, ("groups", "language"))
    try:
        names, codes, groups = meta["languages"], arrays["language"].tolist(), arrays["groups"]
        languages = [names[code] for code in codes]  # each name once in memory, not once per sentence
        if len(languages) != len(groups):
            raise ValueError("its parts do not match")
        return Corpus(path, languages, groups.astype(np.int64), meta["sha256"])
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise ShippedDataBroken(path, f"damaged ({exc})") from None


def vectors_path(encoder_name: str) -> Path:
    return CORPUS.parent / f"{encoder_name}.npz"


def quantize(vectors: np.ndarray) -> dict[str, np.ndarray]:
    """int8 per dimension (scale = the dimension's largest magnitude / 127): a quarter of
    float32, cosines within ~0.005 (BENCHMARKS.md)."""
    scale = np.maximum(np.abs(vectors).max(0), 1e-8) / 127
    return {"vectors": np.round(vectors / scale).astype(np.int8), "scale": scale.astype(np.float32)}


def write_vectors(encoder: Encoder, texts: Corpus, vectors: np.ndarray) -> None:
    packagedata.write_vectors(vectors_path(encoder.name), encoder.version, texts.sha256, quantize(vectors))


def _part_vectors(part: Encoder, texts: Corpus) -> tuple[np.ndarray, np.ndarray | None]:
    """One encoder's vectors of the corpus: shipped for its version (int8, and their scale), else
    embedded once and cached (float32 unit vectors, no scale)."""
    path = vectors_path(part.name)
    arrays = packagedata.shipped_vectors(path, part.version, texts.sha256, (len(texts.languages), part.dim))
    if arrays is not None:
        if "scale" not in arrays:
            raise ShippedDataBroken(path, "damaged (its vectors have no scale)")
        return arrays["vectors"], arrays["scale"].astype(np.float32)
    return encode_cached(part, texts.texts, texts.languages, "background", progress=True), None


def load(encoder: Encoder) -> Background:
    """The corpus and `encoder`'s vectors of it (a fused encoder's parts side by side)."""
    texts = corpus()
    return Background(texts, Vectors(tuple(_part_vectors(part, texts) for part, _ in encoder.parts())))
