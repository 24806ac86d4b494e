"""Accuracy of faqsearch's query language identification on short sentences.

Two sources: LASER's Tatoeba test set (short everyday sentences, one file per language; only
the languages the detector can name are counted) and the hand-written chatbot queries in
tests/data/. Each is scored with and without the FAQ-language prior (English here).

Usage: python benchmarks/langid.py ../shared/data/tatoeba [--per-language 300]
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from faqsearch.evaluation import load_queries
from faqsearch.langid import ENCODER_LANGUAGES, detect

# Tatoeba's ISO 639-3 codes for the languages ENCODER_LANGUAGES names (ISO 639-1).
TATOEBA = {
    "afr": "af", "amh": "am", "ara": "ar", "aze": "az", "bel": "be", "bul": "bg", "ben": "bn", "bre": "br",
    "bos": "bs", "cat": "ca", "ces": "cs", "cym": "cy", "dan": "da", "deu": "de", "ell": "el", "epo": "eo",
    "spa": "es", "est": "et", "eus": "eu", "pes": "fa", "fin": "fi", "fra": "fr", "fry": "fy", "gle": "ga",
    "gla": "gd", "glg": "gl", "heb": "he", "hin": "hi", "hrv": "hr", "hun": "hu", "hye": "hy", "ind": "id",
    "isl": "is", "ita": "it", "jpn": "ja", "jav": "jv", "kat": "ka", "kaz": "kk", "khm": "km", "kor": "ko",
    "kur": "ku", "lat": "la", "lit": "lt", "lvs": "lv", "mkd": "mk", "mal": "ml", "mon": "mn", "mar": "mr",
    "zsm": "ms", "nld": "nl", "nob": "no", "pol": "pl", "por": "pt", "ron": "ro", "rus": "ru", "slk": "sk",
    "slv": "sl", "sqi": "sq", "srp": "sr", "swe": "sv", "swh": "sw", "tam": "ta", "tel": "te", "tha": "th",
    "tgl": "tl", "tur": "tr", "uig": "ug", "ukr": "uk", "urd": "ur", "uzb": "uz", "vie": "vi", "xho": "xh",
    "cmn": "zh",
}  # fmt: skip


# Short English chat messages: where a language prior matters most.
SHORT_ENGLISH = [
    "how do i cancel", "cancel", "refund please", "my password doesnt work", "where is my package",
    "change email", "delete account", "student discount?", "gift card", "app keeps crashing",
    "talk to human", "track order", "is there a family plan", "pause my subscription", "wrong address",
]  # fmt: skip


def score(samples: list[tuple[str, str]], prior: str | None) -> tuple[float, dict[str, float]]:
    per: dict[str, list[bool]] = defaultdict(list)
    for text, language in samples:
        per[language].append(detect(text, prior) == language)
    flat = [ok for oks in per.values() for ok in oks]
    return sum(flat) / len(flat), {lang: sum(oks) / len(oks) for lang, oks in per.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tatoeba", type=Path, help="folder with tatoeba.XXX-eng.XXX files")
    parser.add_argument("--per-language", type=int, default=300)
    parser.add_argument("--queries", type=Path, nargs="*", default=sorted(Path("tests/data").glob("*queries.yaml")))
    args = parser.parse_args()
    assert set(TATOEBA.values()) <= set(ENCODER_LANGUAGES)
    tatoeba = []
    for code, language in TATOEBA.items():
        lines = (args.tatoeba / f"tatoeba.{code}-eng.{code}").read_text(encoding="utf-8").splitlines()
        tatoeba += [(line, language) for line in lines[: args.per_language]]
    tatoeba += [  # English sentences too, since the prior favours English
        (line, "en") for line in (args.tatoeba / "tatoeba.deu-eng.eng").read_text().splitlines()[: args.per_language]
    ]
    sets = {f"Tatoeba, {len(TATOEBA) + 1} languages x {args.per_language}": tatoeba}
    sets["short English chat messages (inline)"] = [(text, "en") for text in SHORT_ENGLISH]
    for path in args.queries:
        sets[str(path)] = [(q.question, q.language) for q in load_queries(path)]
    print("| sentences | n | accuracy, no prior | accuracy, prior `en` | worst languages (with prior) |")
    print("|---|---|---|---|---|")
    for name, samples in sets.items():
        plain, _ = score(samples, None)
        with_prior, per = score(samples, "en")
        worst = ", ".join(f"{lang} {acc:.2f}" for lang, acc in sorted(per.items(), key=lambda x: x[1])[:5])
        print(f"| {name} | {len(samples)} | {plain:.3f} | {with_prior:.3f} | {worst} |")


if __name__ == "__main__":
    main()
