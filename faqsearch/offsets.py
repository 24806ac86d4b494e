"""What translation does to an encoder's vectors, learned from public parallel data and shipped
per encoder version (training/alignment.py writes faqsearch/data/offsets/ENCODER.npz).

An encoder places a sentence and its translation apart by roughly a constant per language. The
offset is that constant: the mean vector of a language's sentences minus the mean of their
English translations, over up to 500 Tatoeba-Challenge pairs per language. A build removes it
from questions in that language. Around it, each translation moves a sentence by some noise of
its own: up to 16 of those differences per language are shipped too, and a build adds them to its
phrasings to simulate questions asked in other languages (calibration.py). Languages without
shipped offsets (or encoders without a file, or another version of the encoder) fall back to
the off-topic sample (offtopic.py: 48 chat messages per language, whose loose translations
moved vectors further than real ones do: BENCHMARKS.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from . import packagedata
from .encoders import Encoder, split

FOLDER = Path(__file__).parent / "data" / "offsets"


def path(encoder_name: str) -> Path:
    return FOLDER / f"{encoder_name}.npz"


@dataclass(frozen=True)
class Shipped:
    version: str
    offsets: dict[str, np.ndarray]  # language -> its offset from English
    differences: np.ndarray  # (pairs, dim): a sentence's vector minus its English translation's
    translated_into: list[str]  # the language of each difference


@cache
def _read(encoder_name: str) -> Shipped | None:
    if not path(encoder_name).is_file():
        return None
    meta, arrays = packagedata.read(path(encoder_name))
    offsets = dict(zip(meta["languages"], arrays["offsets"].astype(np.float32), strict=True))
    return Shipped(meta["version"], offsets, arrays["differences"].astype(np.float32), meta["translated_into"])


def _for(encoder: Encoder) -> Shipped | None:
    found = _read(encoder.name)
    return found if found and found.version == encoder.version else None


def shipped(encoder: Encoder) -> dict[str, np.ndarray]:
    """Language -> its offset from English, for this encoder version (empty if none shipped)."""
    found = _for(encoder)
    return found.offsets if found else {}


def write(
    out: Path, version: str, offsets: dict[str, np.ndarray], measured: dict, differences: dict[str, np.ndarray]
) -> None:
    """Store offsets and per-language samples of differences (float16: ±1e-3 is noise for unit
    vectors) with what was measured."""
    languages = sorted(offsets)
    meta = {
        "version": version,
        "languages": languages,
        "translated_into": [lang for lang in sorted(differences) for _ in differences[lang]],
        "measured": measured,
    }
    arrays = {
        "offsets": np.stack([offsets[lang] for lang in languages]),
        "differences": np.concatenate([differences[lang] for lang in sorted(differences)]),
    }
    packagedata.write(out, meta, {name: a.astype(np.float16) for name, a in arrays.items()})


Differences = tuple[np.ndarray, list[str]]  # (rows, dim) and the language of each row


def translation_differences(encoder: Encoder, faq_language: str, sample: Differences) -> Differences:
    """What translating a sentence from the FAQ's language into another does to its vector, one
    row per sampled pair and its language (calibration adds them to phrasings), from the shipped
    pairs: a pair's difference from English, less the FAQ language's offset, and for a FAQ not
    in English the FAQ language's own pairs turned round (into English). The off-topic sample's
    (`sample`) where some part of the encoder has nothing shipped for its version, or the FAQ's
    language has no offset: all rows must come from the same pairs in every part."""
    found = [_for(part) for part, _ in encoder.parts()]
    if any(f is None for f in found) or len({tuple(f.translated_into) for f in found}) > 1:
        return sample
    languages = np.array(found[0].translated_into)
    if faq_language != "en" and faq_language not in languages:
        return sample
    blocks = []
    for f in found:
        own = f.offsets.get(faq_language, np.zeros(f.differences.shape[1], np.float32))
        blocks.append(np.where((languages == faq_language)[:, None], -f.differences, f.differences - own))
    return np.hstack(blocks), np.where(languages == faq_language, "en", languages).tolist()


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
