"""Rebuild one index forever with a stand-in encoder (fast, deterministic), alternating two
versions of a FAQ: tests/test_versions.py kills this process at random instants."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

from faqsearch.build import build_index
from faqsearch.encoders import Encoder
from faqsearch.faqs import load_faqs


class Hashed(Encoder):
    """A vector per text from its hash: no model, so a build takes a fraction of a second."""

    name, dim, version, requires, install_hint = "hashed", 32, "1", "numpy", ""

    def _embed(self, texts: list[str], languages: list[str]) -> np.ndarray:
        seeds = [int.from_bytes(hashlib.sha256(t.encode()).digest()[:4], "little") for t in texts]
        return np.stack([np.random.default_rng(s).standard_normal(self.dim) for s in seeds])


def main() -> None:
    faqs, index = [Path(p) for p in sys.argv[1:3]], Path(sys.argv[3])
    builds = 0
    while True:
        build_index(load_faqs(faqs[builds % 2]), Hashed(), index)
        builds += 1
        print(builds, flush=True)


if __name__ == "__main__":
    main()
