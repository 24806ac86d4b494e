"""The one interface every encoder implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from importlib.util import find_spec

import numpy as np


class Encoder(ABC):
    """Maps sentences in any language to L2-normalized vectors, so inner product = cosine.

    Subclasses set `name`, `dim` and `version` (an index records all three: vectors from
    another encoder, or another version of it, are not comparable).
    """

    name: str
    dim: int
    version: str
    requires: str  # the importable package the encoder runs on
    install_hint: str
    languages: frozenset[str] | None = None  # the languages it was trained on, where that is a short list

    def parts(self) -> list[tuple[Encoder, float]]:
        """The encoders whose vectors make up this one's, each with its weight in a score (see
        fused.py); a plain encoder is its own only part."""
        return [(self, 1.0)]

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why this encoder cannot run here, or None when it can (must not import heavy packages)."""
        return None if find_spec(cls.requires) else f"not installed: {cls.install_hint}"

    @classmethod
    def model_files(cls) -> str | None:
        """Where its model files are kept, for `faqsearch models list` (None: inside its package)."""
        return None

    def expect(self, count: float) -> None:
        """About to embed `count` sentences (math.inf: a server): an encoder with a faster engine
        that is slow to start starts it here where that pays (e5.py); a plain one does nothing."""
        for part, _ in self.parts():
            if part is not self:
                part.expect(count)

    def done(self) -> None:
        """The job `expect` announced is embedded: an engine started for such jobs alone lets its
        memory go before what follows (a build's fit: e5.py); a plain encoder does nothing."""
        for part, _ in self.parts():
            if part is not self:
                part.done()

    def encode(self, texts: Sequence[str], languages: Sequence[str]) -> np.ndarray:
        """Embed `texts` (each with its ISO 639-1 language) as a (n, dim) float32 array whose rows
        are unit vectors (one unit block per part, for an encoder made of several)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.array(self._embed(list(texts), list(languages)), dtype=np.float32)
        for block in split(vectors, [part.dim for part, _ in self.parts()]):
            block /= np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12)
        return vectors

    @abstractmethod
    def _embed(self, texts: list[str], languages: list[str]) -> np.ndarray:
        """Raw (not necessarily normalized) embeddings of a batch."""


def split(vectors: np.ndarray, dims: Sequence[int]) -> list[np.ndarray]:
    """Views of the column blocks of (n, sum(dims)) vectors: one per part, in part order."""
    ends = np.cumsum(dims)
    return [vectors[:, end - dim : end] for dim, end in zip(dims, ends, strict=True)]
