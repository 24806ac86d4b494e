"""Sentence pairs with English from ../shared/data/parallel, split for training.

Tatoeba-Challenge pairs (short everyday sentences) are the data. FLORES-200 (the same 1,012
Wikipedia sentences in 204 languages) tops up the encoder's languages that Tatoeba-Challenge has
few or no pairs of (Tamil, Telugu, Swahili, Javanese, Slovak, ... have none): `with_flores`.

Shared by alignment.py (per-language corrections) and distill.py (e5-aligned). Two things are
never trained on: the validation half of the cross-lingual FAQ benchmark (benchmarks/public_sets.py
keeps English questions whose casefolded text hashes to "validation"), and a held-out split of
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

from benchmarks.public_sets import half

VALIDATION = 20  # held-out pairs per language code
FLORES_WORDS = 20  # longer FLORES pairs are left out: distill.py cuts at 64 tokens, and pads a batch to its longest
# Tatoeba-Challenge codes -> the ISO 639-1 codes faqsearch's language detection returns (langid.py);
# a code without one (Gothic, Klingon, Lojban, ...) is still trained on, but has no offset. `read`
# keeps a pair under the first code listing it, so Serbo-Croatian `hbs` (langid: mostly Croatian)
# holds the Croatian pairs, and `kur` and `uig` the Kurdish and Uyghur ones.
CODES = {  # ISO 639-1 -> its Tatoeba-Challenge codes
    "af": "afr", "ar": "ara", "az": "aze", "be": "bel", "bg": "bul", "bn": "ben", "br": "bre", "bs": "bos_Latn",
    "ca": "cat", "cs": "ces", "cy": "cym", "da": "dan", "de": "deu", "el": "ell", "eo": "epo", "es": "spa",
    "et": "est", "eu": "eus", "fa": "fas pes", "fi": "fin", "fr": "fra", "fy": "fry", "ga": "gle", "gd": "gla",
    "gl": "glg", "he": "heb", "hi": "hin", "hr": "hrv hbs", "hu": "hun", "hy": "hye", "id": "ind", "is": "isl",
    "it": "ita", "ja": "jpn", "ka": "kat", "kk": "kaz", "km": "khm", "ko": "kor", "ku": "kur kur_Latn", "la": "lat",
    "lt": "lit", "lv": "lav", "mk": "mkd", "ml": "mal", "mn": "mon", "mr": "mar", "ms": "msa zsm_Latn", "my": "mya",
    "nl": "nld", "no": "nob", "pl": "pol", "pt": "por", "ro": "ron", "ru": "rus", "sl": "slv", "sq": "sqi",
    "sr": "srp_Cyrl srp_Latn", "sv": "swe", "th": "tha", "tl": "tgl", "tr": "tur", "ug": "uig uig_Arab", "uk": "ukr",
    "ur": "urd", "uz": "uzb", "vi": "vie", "zh": "cmn_Hans cmn_Hant zho",
}  # fmt: skip
# the encoder's languages (faqsearch.langid.ENCODER_LANGUAGES, English aside) -> their FLORES-200
# file; Breton, Western Frisian and Latin are not in FLORES-200
FLORES = {
    "af": "afr_Latn", "am": "amh_Ethi", "ar": "arb_Arab", "as": "asm_Beng", "az": "azj_Latn", "be": "bel_Cyrl",
    "bg": "bul_Cyrl", "bn": "ben_Beng", "bs": "bos_Latn", "ca": "cat_Latn", "cs": "ces_Latn", "cy": "cym_Latn",
    "da": "dan_Latn", "de": "deu_Latn", "el": "ell_Grek", "eo": "epo_Latn", "es": "spa_Latn", "et": "est_Latn",
    "eu": "eus_Latn", "fa": "pes_Arab", "fi": "fin_Latn", "fr": "fra_Latn", "ga": "gle_Latn", "gd": "gla_Latn",
    "gl": "glg_Latn", "gu": "guj_Gujr", "ha": "hau_Latn", "he": "heb_Hebr", "hi": "hin_Deva", "hr": "hrv_Latn",
    "hu": "hun_Latn", "hy": "hye_Armn", "id": "ind_Latn", "is": "isl_Latn", "it": "ita_Latn", "ja": "jpn_Jpan",
    "jv": "jav_Latn", "ka": "kat_Geor", "kk": "kaz_Cyrl", "km": "khm_Khmr", "kn": "kan_Knda", "ko": "kor_Hang",
    "ku": "kmr_Latn", "ky": "kir_Cyrl", "lo": "lao_Laoo", "lt": "lit_Latn", "lv": "lvs_Latn", "mg": "plt_Latn",
    "mk": "mkd_Cyrl", "ml": "mal_Mlym", "mn": "khk_Cyrl", "mr": "mar_Deva", "ms": "zsm_Latn", "my": "mya_Mymr",
    "ne": "npi_Deva", "nl": "nld_Latn", "no": "nob_Latn", "om": "gaz_Latn", "or": "ory_Orya", "pa": "pan_Guru",
    "pl": "pol_Latn", "ps": "pbt_Arab", "pt": "por_Latn", "ro": "ron_Latn", "ru": "rus_Cyrl", "sa": "san_Deva",
    "si": "sin_Sinh", "sk": "slk_Latn", "sl": "slv_Latn", "so": "som_Latn", "sq": "als_Latn", "sr": "srp_Cyrl",
    "sv": "swe_Latn", "sw": "swh_Latn", "ta": "tam_Taml", "te": "tel_Telu", "th": "tha_Thai", "tl": "tgl_Latn",
    "tr": "tur_Latn", "ug": "uig_Arab", "uk": "ukr_Cyrl", "ur": "urd_Arab", "uz": "uzn_Latn", "vi": "vie_Latn",
    "xh": "xho_Latn", "zh": "zho_Hans",
}  # fmt: skip
ISO1 = {code: language for language, codes in CODES.items() for code in codes.split()} | {
    name: language for language, name in FLORES.items()
}


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
