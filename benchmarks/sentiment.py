"""Zero-shot cross-lingual sentiment on UMSAB (the LASER study's table, on public data).

    python benchmarks/sentiment.py ../shared/data/umsab [--encoder e5 --encoder e5-aligned]

For each encoder available here: a head trained on UMSAB English train (C tuned on English val)
with `faqsearch.sentiment.train`, then macro-F1 and accuracy on the test split of all 8
languages (zero-shot for the 7 non-English ones), beside fully-supervised XLM-R. Then the
shipped head (trained on data/sentiment/) on its held-out English test and the UMSAB tests,
the language-directions experiment (how many directions to remove) on both data sets, and
label-prior adaptation: each test language's label prior re-estimated from its unlabelled
texts by EM (Saerens et al. 2002), as a bot could from its own traffic per language.
UMSAB is converted to temporary TSV files; nothing is copied into the repository.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

import numpy as np

from faqsearch import sentiment
from faqsearch.encoders import ENCODERS, get_encoder
from faqsearch.tsv import load_labelled

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = {
    "english": "en", "arabic": "ar", "french": "fr", "german": "de",
    "hindi": "hi", "italian": "it", "portuguese": "pt", "spanish": "es",
}  # fmt: skip
LABELS = ("negative", "neutral", "positive")  # UMSAB's 0, 1, 2
XLMR = {"ar": 63.6, "en": 68.2, "fr": 72.0, "de": 73.6, "hi": 36.6, "it": 71.5, "pt": 67.1, "es": 65.9}
DIRECTIONS = (0, 1, 2, 4, 8, 16, 32)


def to_tsv(umsab: Path, language: str, split: str, out: Path) -> Path:
    """One UMSAB split as text<TAB>label<TAB>language (its texts keep \\uXXXX escapes: decode them)."""
    texts = (umsab / language / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
    labels = (umsab / language / f"{split}_labels.txt").read_text(encoding="utf-8").split()
    path = out / f"{language}-{split}.tsv"
    with path.open("w", encoding="utf-8") as f:
        for text, label in zip(texts, labels, strict=True):
            text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
            f.write(f"{' '.join(text.split()) or '(empty)'}\t{LABELS[int(label)]}\t{LANGUAGES[language]}\n")
    return path


def table(title: str, rows: dict[str, dict[str, sentiment.Scores]]) -> None:
    """rows: name -> language -> scores; prints macro-F1 (accuracy) and the retention ratio."""
    codes = list(LANGUAGES.values())
    print(f"\n{title}\n{'':22}" + "".join(f"{c:>12}" for c in codes) + "  min ratio to en")
    for name, scores in rows.items():
        cells = "".join(f"{100 * scores[c].macro_f1:6.1f} ({100 * scores[c].accuracy:3.0f})" for c in codes)
        ratio = min(scores[c].macro_f1 for c in codes[1:]) / scores["en"].macro_f1
        print(f"{name:22}{cells}  {ratio:.2f}")
    print(f"{'XLM-R supervised':22}" + "".join(f"{XLMR[c]:12.1f}" for c in codes))


def umsab_scores(head, encoder, tests) -> dict[str, sentiment.Scores]:
    return {LANGUAGES[lang]: sentiment.evaluate(head, encoder, data).overall for lang, data in tests.items()}


def prior_adapted(head, encoder, data) -> sentiment.Scores:
    """Macro-F1 after re-estimating the label prior on `data`'s texts alone (EM; the head's
    balanced class weights make its own prior uniform)."""
    vectors, _ = sentiment.embed(encoder, data)
    probabilities = head.probabilities(vectors)
    uniform = np.full(probabilities.shape[1], 1 / probabilities.shape[1])
    prior = uniform
    for _ in range(100):
        adapted = probabilities * (prior / uniform)
        adapted /= adapted.sum(1, keepdims=True)
        prior, previous = adapted.mean(0), prior
        if np.abs(prior - previous).max() < 1e-6:
            break
    truth = np.array([head.info.labels.index(e.label) for e in data.examples])
    return sentiment._scores(truth, adapted.argmax(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("umsab", type=Path, help="the umsab/ folder (one subfolder per language)")
    parser.add_argument("--encoder", action="append", choices=sorted(ENCODERS), help="default: every available one")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="umsab-"))
    train = load_labelled(to_tsv(args.umsab, "english", "train", tmp))
    val = load_labelled(to_tsv(args.umsab, "english", "val", tmp))
    tests = {lang: load_labelled(to_tsv(args.umsab, lang, "test", tmp)) for lang in LANGUAGES}
    ours = {split: load_labelled(ROOT / "data" / "sentiment" / f"{split}.tsv") for split in ("train", "dev", "test")}
    multilingual = load_labelled(ROOT / "tests" / "data" / "sentiment_multilingual.tsv")

    names = args.encoder or [name for name, cls in ENCODERS.items() if cls.unavailable_reason() is None]
    encoders = [get_encoder(name) for name in names]
    rows, shipped = {}, {}
    for encoder in encoders:
        rows[encoder.name] = umsab_scores(sentiment.train(encoder, train, val, progress=True), encoder, tests)
        head_path = sentiment.SHIPPED_ROOT / encoder.name
        if head_path.is_dir():
            shipped[encoder.name] = sentiment.open_head(encoder, head_path)
    table("UMSAB, trained on English train (C tuned on English val): macro-F1 (accuracy)", rows)
    adapted = {}
    for encoder in encoders:
        head = sentiment.train(encoder, train, val)
        adapted[encoder.name] = {LANGUAGES[lang]: prior_adapted(head, encoder, data) for lang, data in tests.items()}
    table("the same heads, label prior re-estimated per test language by EM (not kept)", adapted)

    for name, head in shipped.items():
        encoder = get_encoder(name)
        own = sentiment.evaluate(head, encoder, ours["test"]).overall
        print(
            f"\nshipped {name} head: held-out English support messages macro-F1 {100 * own.macro_f1:.1f}, "
            f"accuracy {100 * own.accuracy:.1f} ({own.examples} examples)"
        )
        scores = {name: umsab_scores(head, encoder, tests)}
        table(f"UMSAB, shipped {name} head (trained on data/sentiment/train.tsv)", scores)

    print("\nlanguage directions removed (LANGUAGE_DIRECTIONS): macro-F1 on")
    print("  support = data/sentiment/test.tsv, 12 languages = tests/data/sentiment_multilingual.tsv (min language),")
    print("  UMSAB = mean of the 7 non-English tests (English)")
    for encoder in encoders:
        for directions in DIRECTIONS:
            sentiment.LANGUAGE_DIRECTIONS = directions
            head = sentiment.train(encoder, ours["train"], ours["dev"])
            support = sentiment.evaluate(head, encoder, ours["test"]).overall.macro_f1
            report = sentiment.evaluate(head, encoder, multilingual)
            worst = min(s.macro_f1 for s in report.per_language.values())
            umsab_head = sentiment.train(encoder, train, val)
            scores = umsab_scores(umsab_head, encoder, tests)
            others = sum(s.macro_f1 for c, s in scores.items() if c != "en") / (len(scores) - 1)
            print(
                f"  {encoder.name:4} {directions:2}: support {100 * support:5.1f}   12 languages "
                f"{100 * report.overall.macro_f1:5.1f} (min {100 * worst:5.1f})   UMSAB {100 * others:5.1f} "
                f"({100 * scores['en'].macro_f1:5.1f})"
            )


if __name__ == "__main__":
    main()
