"""Latin-script languages as people type them without diacritics ("sifremi unuttum").

Customers often leave the accents out: on a phone, on a keyboard without ş, ğ or ı, or out of
habit (Portuguese "voce", Vietnamese without its tones). e5-aligned finds the English translation
of 93% of LASER's Tatoeba Turkish sentences, and of 77% once their diacritics are stripped;
Vietnamese falls from 95% to 14% (BENCHMARKS.md "Typed without diacritics"). The training data
is written with diacritics, so `distill.py --stripped` also trains on sentences without them
(`strip_some`), and benchmarks/tatoeba.py measures the gap (`strip`).
"""

from __future__ import annotations

import random
import unicodedata

from training.parallel import Pair

# Latin letters that are not a base letter plus combining marks, written as people type them
OWN_LETTERS = str.maketrans(
    {"ı": "i", "ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe", "đ": "d", "Đ": "D",
     "ł": "l", "Ł": "L", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th", "ħ": "h", "Ħ": "H"}
)  # fmt: skip


def _latin(ch: str) -> bool:
    return ch.isascii() or unicodedata.name(ch, "").startswith("LATIN")


def strip(text: str) -> str:
    """`text` with the diacritics of its Latin letters left out, whether written precomposed or
    as combining marks; other scripts exactly as they were (stripping combining marks there
    would delete Devanagari's nukta, for one)."""
    out, latin = [], False
    for ch in text.translate(OWN_LETTERS):
        if unicodedata.combining(ch):
            if not latin:
                out.append(ch)
            continue
        latin = _latin(ch)
        decomposed = unicodedata.normalize("NFD", ch) if latin else ch
        out.append("".join(c for c in decomposed if not unicodedata.combining(c)))
    return "".join(out)


def strip_some(pairs: list[Pair], share: float, seed: int) -> list[Pair]:
    """`pairs` with, for `share` of those that have diacritics to strip, the text typed without
    them instead (drawn with `seed`): the same number of pairs, so a run costs the same."""
    rng = random.Random(seed)
    out = []
    for pair in pairs:
        plain = strip(pair.text)
        out.append(Pair(pair.code, plain, pair.english) if plain != pair.text and rng.random() < share else pair)
    return out
