"""Sentence pairs with English from ../shared/data/parallel, split for training.

Tatoeba-Challenge pairs (short everyday sentences) are the data. FLORES-200 (the same 1,012
Wikipedia sentences in 204 languages) tops up the encoder's languages that Tatoeba-Challenge has
few or no pairs of (Tamil, Telugu, Swahili, Javanese, Slovak, ... have none): `with_flores`.

Shared by alignment.py (per-language corrections) and distill.py (e5-aligned). Two things are
never trained on: the validation half of the cross-lingual FAQ benchmark (English questions whose
casefolded text faqsearch.publicdata.half calls "validation"), and a held-out split of
our own (VALIDATION pairs per language, chosen by hash, so every run holds out the same pairs).
LASER's Tatoeba benchmark sentences were removed from these files by whoever prepared the data.
"""

from __future__ import annotations

import argparse
import hashlib
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from faqsearch.publicdata import FLORES, ISO1, half

VALIDATION = 20  # held-out pairs per language code
FLORES_WORDS = 20  # longer FLORES pairs are left out: distill.py cuts at 64 tokens, and pads a batch to its longest


def folder(text: str) -> Path:
    """The scripts' `parallel` argument: a folder holding tatoeba-challenge/PAIRS.tsv, else
    argparse's one-line error (exit 2) before anything is read or written."""
    root = Path(text)
    if not (root / "tatoeba-challenge" / "PAIRS.tsv").is_file():
        raise argparse.ArgumentTypeError(
            f"{text}: no tatoeba-challenge/PAIRS.tsv in it: give the parallel data folder, e.g. ../shared/data/parallel"
        )
    return root


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


def with_flores(root: Path, training: list[Pair], per_language: int, seed: int) -> list[Pair]:
    """`training` plus, for each of the encoder's languages with fewer than `per_language` training
    pairs (all its Tatoeba-Challenge codes together), the rest from FLORES-200's shorter sentences
    under the FLORES code ("tam_Taml"), drawn with `seed` so that languages get different sentences.
    FLORES pairs are never held out: the held-out figures stay Tatoeba-Challenge's."""
    folder = root / "flores200"
    english = (folder / "eng_Latn.devtest").read_text(encoding="utf-8").splitlines()
    have = Counter(ISO1.get(p.code) for p in training)
    rng = random.Random(seed)
    extra = []
    for language, name in FLORES.items():
        if have[language] >= per_language:
            continue
        other = (folder / f"{name}.devtest").read_text(encoding="utf-8").splitlines()
        rows = [
            Pair(name, t.strip(), e.strip())
            for t, e in zip(other, english, strict=True)
            if t.strip() and e.strip() and len(e.split()) <= FLORES_WORDS
        ]
        extra += rng.sample(rows, min(per_language - have[language], len(rows)))
    out = training + extra
    rng.shuffle(out)
    return out
