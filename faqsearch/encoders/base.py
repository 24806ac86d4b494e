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

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why this encoder cannot run here, or None when it can (must not import heavy packages)."""
        return None if find_spec(cls.requires) else f"not installed: {cls.install_hint}"

    def encode(self, texts: Sequence[str], languages: Sequence[str]) -> np.ndarray:
        """Embed `texts` (each with its ISO 639-1 language) as a (n, dim) float32 array of unit rows."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.asarray(self._embed(list(texts), list(languages)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    @abstractmethod
    def _embed(self, texts: list[str], languages: list[str]) -> np.ndarray:
        """Raw (not necessarily normalized) embeddings of a batch."""
