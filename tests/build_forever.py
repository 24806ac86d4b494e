"""Rebuild one index forever with a stand-in encoder (fast, deterministic), alternating two
versions of a FAQ: tests/test_versions.py and benchmarks/kill.py kill this process at random
instants. Each phase of a build prints a line, and the short ones (writing the files, the
rename, the link swap) are slowed down by SLOW seconds, so that random kills land in every
phase, not only in the long computation before the write."""

from __future__ import annotations

import hashlib
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

import faqsearch.build
import faqsearch.versions
from faqsearch.build import build_index
from faqsearch.encoders import Encoder
from faqsearch.faqs import load_faqs

SLOW = 0.3


class Hashed(Encoder):
    """A vector per text from its hash: no model, so a build takes a fraction of a second."""

    name, dim, version, requires, install_hint = "hashed", 32, "1", "numpy", ""

    def _embed(self, texts: list[str], languages: list[str]) -> np.ndarray:
        seeds = [int.from_bytes(hashlib.sha256(t.encode()).digest()[:4], "little") for t in texts]
        return np.stack([np.random.default_rng(s).standard_normal(self.dim) for s in seeds])


def phase(name: str) -> None:
    print(name, flush=True)
    time.sleep(SLOW)


def slowed() -> None:
    """Wrap the write and publish steps so they announce themselves and take a little longer."""
    new_version, publish, replace = faqsearch.build.new_version, faqsearch.versions.publish, os.replace

    @contextmanager
    def writing(directory):
        with new_version(directory) as folder:
            phase("writing")
            yield folder
            phase("written")

    def publishing(directory, version):
        phase("renamed")
        publish(directory, version)
        phase("published")

    def swapping(source, target):
        phase("swapping")
        replace(source, target)

    faqsearch.build.new_version, faqsearch.versions.publish = writing, publishing
    faqsearch.versions.os = type("os", (), {**vars(os), "replace": staticmethod(swapping)})


def main() -> None:
    faqs, index = [Path(p) for p in sys.argv[1:3]], Path(sys.argv[3])
    slowed()
    builds = 0
    while True:
        print("computing", flush=True)
        build_index(load_faqs(faqs[builds % 2]), Hashed(), index)
        builds += 1
        print(f"built {builds}", flush=True)


if __name__ == "__main__":
    main()
