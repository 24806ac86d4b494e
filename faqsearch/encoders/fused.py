"""e5 and USE-multilingual side by side: the best answers here in the 16 languages USE reads.

A vector is e5's followed by USE's (each a unit block). An index scores each part in its own
centered space and mixes the cosines: 0.75 e5 + 0.25 USE for a question in one of USE's
languages, e5 alone for any other (USE cannot read Hindi or Tamil, and would only add noise).
On the example FAQ this is +2.5 points accuracy@1 over e5 alone, and +4 on Tatoeba in USE's
languages, for ~2 ms more per question and ~120 MiB more memory (BENCHMARKS.md). The weight
was chosen on the development question sets and Tatoeba, not the evaluation set.
"""

from __future__ import annotations

import numpy as np

from .base import Encoder
from .e5 import E5Encoder
from .use import USEEncoder

USE_WEIGHT = 0.25


class E5UseEncoder(Encoder):
    name = "e5+use"
    dim = E5Encoder.dim + USEEncoder.dim

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return E5Encoder.unavailable_reason() or USEEncoder.unavailable_reason()

    def __init__(self) -> None:
        from . import get_encoder  # the registry's instances: each model is loaded once per process

        self._parts = [(get_encoder(E5Encoder.name), 1 - USE_WEIGHT), (get_encoder(USEEncoder.name), USE_WEIGHT)]
        # the weights are in the version: an index built with other weights would be scored wrongly
        self.version = " + ".join(f"{part.version} (weight {weight})" for part, weight in self._parts)

    def parts(self) -> list[tuple[Encoder, float]]:
        return self._parts

    def _embed(self, texts: list[str], languages: list[str]) -> np.ndarray:
        return np.hstack([part.encode(texts, languages) for part, _ in self._parts])
