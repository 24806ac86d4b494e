"""Per-language offsets learned from public parallel data, shipped per encoder version.

An encoder places a sentence and its translation apart by roughly a constant per language. The
offset is that constant: the mean vector of a language's sentences minus the mean of their
English translations, over up to 500 Tatoeba-Challenge pairs per language
(training/alignment.py writes faqsearch/data/offsets/ENCODER.npz and measures it). A build
removes it from questions in that language; languages without shipped offsets (or encoders
without a file, or another version of the encoder) fall back to the off-topic sample's
(offtopic.py: 48 messages per language, noisier).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from . import packagedata
from .encoders import Encoder, split

FOLDER = Path(__file__).parent / "data" / "offsets"


def path(encoder_name: str) -> Path:
    return FOLDER / f"{encoder_name}.npz"


@cache
def _read(encoder_name: str) -> tuple[str, dict[str, np.ndarray]] | None:
    if not path(encoder_name).is_file():
        return None
    meta, arrays = packagedata.read(path(encoder_name))
    return meta["version"], dict(zip(meta["languages"], arrays["offsets"].astype(np.float32), strict=True))


def shipped(encoder: Encoder) -> dict[str, np.ndarray]:
    """Language -> its offset from English, for this encoder version (empty if none shipped)."""
    found = _read(encoder.name)
    return found[1] if found and found[0] == encoder.version else {}


def write(out: Path, version: str, offsets: dict[str, np.ndarray], measured: dict) -> None:
    """Store offsets (float16: they are means of ~1k unit vectors, ±1e-3 is noise) with what was measured."""
    languages = sorted(offsets)
    meta = {"version": version, "languages": languages, "measured": measured}
    packagedata.write(out, meta, {"offsets": np.stack([offsets[lang] for lang in languages]).astype(np.float16)})


def language_offsets(
    encoder: Encoder, faq_language: str, sample: dict[str, np.ndarray], dims: list[int]
) -> dict[str, np.ndarray]:
    """Language -> its offset from the FAQ's language, for every part of `encoder`: the shipped
    one where both languages have it, else the off-topic sample's (`sample`, whole vectors)."""
    languages = set(sample)
    blocks: list[dict[str, np.ndarray]] = []
    for k, (part, _) in enumerate(encoder.parts()):
        learned = shipped(part)
        learned = learned | {"en": np.zeros(part.dim, np.float32)} if learned else {}
        per_part = {lang: split(v[None, :], dims)[k][0] for lang, v in sample.items()}
        if faq_language in learned:
            per_part |= {lang: v - learned[faq_language] for lang, v in learned.items()}
        languages |= set(per_part)
        blocks.append(per_part)
    return {
        lang: np.concatenate([b.get(lang, np.zeros(d, np.float32)) for b, d in zip(blocks, dims, strict=True)])
        for lang in languages
    }
