"""LASER (93-language BiLSTM) through `laserembeddings`; torch is imported only when used."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import numpy as np

from .. import models
from .base import Encoder


class LaserEncoder(Encoder):
    name = "laser"

    @classmethod
    def unavailable_reason(cls) -> str | None:
        if find_spec("laserembeddings") is None or find_spec("torch") is None:
            return (
                "not installed: pip install -c constraints/cpu-torch.txt -e '.[laser]' "
                "(the constraints file keeps torch on its CPU build)"
            )
        missing = models.missing_laser_files()
        if missing:
            folder = models.laser_dir()
            return f"model files missing in {folder} ({', '.join(missing)}): run `faqsearch models download laser`"
        return None

    @classmethod
    def model_files(cls) -> str | None:
        return str(models.laser_dir())

    def __init__(self) -> None:
        from laserembeddings import Laser

        directory = models.laser_dir()
        checkpoint = directory / models.LASER_CHECKPOINT
        self._laser = Laser(
            bpe_codes=str(directory / models.LASER_CODES),
            bpe_vocab=str(directory / models.LASER_VOCAB),
            encoder=str(checkpoint),
            embedding_options={"cpu": True},
        )
        self.dim = self._laser.bpeSentenceEmbedding.encoder.encoder.output_units
        from importlib.metadata import version  # here: 14 ms of every cold command otherwise

        # The checkpoint's size identifies it well enough to catch a swapped model file.
        self.version = f"laserembeddings {version('laserembeddings-fork')}; {_describe(checkpoint)}"

    def _embed(self, texts: list[str], languages: list[str]) -> np.ndarray:
        return self._laser.embed_sentences(texts, lang=languages)


def _describe(path: Path) -> str:
    return f"{path.name} ({path.stat().st_size} bytes)"
