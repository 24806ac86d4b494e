"""Sentence pairs with English from ../shared/data/parallel/tatoeba-challenge, split for training.

Shared by alignment.py (per-language corrections) and distill.py (e5-aligned). Two things are
never trained on: the validation half of the cross-lingual FAQ benchmark (benchmarks/public_sets.py
keeps English questions whose casefolded text hashes to "validation"), and a held-out split of
our own (VALIDATION pairs per language, chosen by hash, so every run holds out the same pairs).
LASER's Tatoeba benchmark sentences were removed from these files by whoever prepared the data.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

from benchmarks.public_sets import half

VALIDATION = 20  # held-out pairs per language code
# Tatoeba-Challenge codes -> the ISO 639-1 codes faqsearch's language detection returns (langid.py);
# a code without one (Gothic, Klingon, Lojban, ...) is still trained on, but has no offset.
CODES = {  # ISO 639-1 -> its Tatoeba-Challenge codes
    "af": "afr", "ar": "ara", "az": "aze", "be": "bel", "bg": "bul", "bn": "ben", "br": "bre", "bs": "bos_Latn",
    "ca": "cat", "cs": "ces", "cy": "cym", "da": "dan", "de": "deu", "el": "ell", "eo": "epo", "es": "spa",
    "et": "est", "eu": "eus", "fa": "fas pes", "fi": "fin", "fr": "fra", "fy": "fry", "ga": "gle", "gd": "gla",
    "gl": "glg", "he": "heb", "hi": "hin", "hr": "hrv", "hu": "hun", "hy": "hye", "id": "ind", "is": "isl",
    "it": "ita", "ja": "jpn", "ka": "kat", "kk": "kaz", "km": "khm", "ko": "kor", "ku": "kur_Latn", "la": "lat",
    "lt": "lit", "lv": "lav", "mk": "mkd", "ml": "mal", "mn": "mon", "mr": "mar", "ms": "msa zsm_Latn", "my": "mya",
    "nl": "nld", "no": "nob", "pl": "pol", "pt": "por", "ro": "ron", "ru": "rus", "sl": "slv", "sq": "sqi",
    "sr": "srp_Cyrl srp_Latn", "sv": "swe", "th": "tha", "tl": "tgl", "tr": "tur", "ug": "uig_Arab", "uk": "ukr",
    "ur": "urd", "uz": "uzb", "vi": "vie", "zh": "cmn_Hans cmn_Hant zho",
}  # fmt: skip
ISO1 = {code: language for language, codes in CODES.items() for code in codes.split()}


@dataclass(frozen=True)
class Pair:
    code: str  # Tatoeba-Challenge language code
    text: str  # the non-English side
    english: str


def in_faq_benchmark(english: str) -> bool:
    """The English side is a question of the cross-lingual FAQ benchmark's validation half (the
    benchmark's own rule, so the two cannot drift apart)."""
    return english.endswith("?") and half(english.casefold()) == "validation"


def read(root: Path) -> dict[str, list[Pair]]:
    """Language code -> its usable pairs (deduplicated, both sides non-empty), in file order."""
    folder = root / "tatoeba-challenge"
    codes = [line.split("\t")[0] for line in (folder / "PAIRS.tsv").read_text().splitlines()[1:]]
    pairs: dict[str, list[Pair]] = {}
    seen: set[tuple[str, str]] = set()
    for code in codes:
        other = (folder / f"{code}-eng.{code}").read_text(encoding="utf-8").splitlines()
        english = (folder / f"{code}-eng.eng").read_text(encoding="utf-8").splitlines()
        for text, en in zip(other, english, strict=True):
            text, en = text.strip(), en.strip()
            if text and en and (text, en) not in seen and not in_faq_benchmark(en):
                seen.add((text, en))
                pairs.setdefault(code, []).append(Pair(code, text, en))
    return pairs


def split(pairs: dict[str, list[Pair]], per_language: int, seed: int) -> tuple[list[Pair], list[Pair]]:
    """(training, validation): up to `per_language` training pairs per code, drawn at random with
    `seed`, and up to VALIDATION held-out pairs per code (never in training, whatever the seed)."""
    rng = random.Random(seed)
    training, validation = [], []
    for rows in pairs.values():
        held = sorted(rows, key=lambda p: hashlib.sha256(p.english.encode()).digest())[:VALIDATION]
        held_english = {p.english for p in held}
        rest = [p for p in rows if p.english not in held_english]
        validation += held
        training += rng.sample(rest, min(per_language, len(rest)))
    rng.shuffle(training)
    return training, validation
