"""Confidence on FAQs with one phrasing per entry, and two or three (issue #35).

Most FAQs people already have hold one question per answer. Each FAQ below is built as the
product builds it and asked at the index's default threshold; none was written by this project
but the last:
- banking77-N1 / clinc150-N1: one training utterance per intent (the first), its test utterances
  as questions, clinc150's 1,000 out-of-scope queries expecting no match; -N3: three per intent;
  -N3-mixed: one per intent but for every tenth intent, which has three (most real FAQs);
- general questions held out of the background corpus (public_sets.general_questions, Tatoeba
  and FLORES style, English and 37 languages; the "validation" half, the public default being
  fitted on the other) asked to banking77-N1 and clinc150-N1: no match;
- tatoeba-paraphrases (dev and validation halves): English questions as single-phrasing entries,
  asked with English paraphrases and with translations in 24 languages (public_sets);
- real FAQs with questions written by others (real_faqs.py; `--real` the clones it reads);
- the example FAQ (faqs/en.yaml) with only its first phrasing per entry, asked the project's own
  evaluation set (14 languages).
Per set and for questions in the FAQ's language and in others: top-1 accuracy, answered right,
their ratio, answered wrong (answerable questions given a wrong entry), rejected (unanswerable
questions given no match), ECE, and each build's note about its confidence. `--languages` adds a
row per language. `--set module.NAME=VALUE` changes a constant before building (as no_match.py).

Usage: python benchmarks/single_phrasing.py ../shared/data [--only clinc] [--languages] [--real CLONE ...]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from no_match import _f, arguments, search_for
from public_sets import (
    Benchmark,
    few_with_alternatives,
    general_questions,
    intents,
    one_phrasing,
    own,
    tatoeba_paraphrases,
)
from real_faqs import real_faq_sets

from faqsearch.encoders import get_encoder
from faqsearch.evaluation import Figures, Outcome, evaluate, load_queries, reliability


def sets(data: Path, folder: Path, real: list[Path]) -> list[Benchmark]:
    one, three = intents(data, folder, 1), intents(data, folder, 3)
    general = general_questions(data, folder, "validation")  # confidence_default.py fits on "dev"
    asked_general = [
        Benchmark(f"{bench.name} x general ({style})", bench.faq, path)
        for bench in one
        for style, path in general.items()
    ]
    paraphrases = [tatoeba_paraphrases(data, folder, half) for half in ("dev", "validation")]
    mixed = [few_with_alternatives(bench, folder) for bench in three]
    found = real_faq_sets(folder, real) if real else []
    return [*one, *asked_general, *three, *mixed, *paraphrases, *found, one_phrasing(own()[0], folder)]


def row(name: str, group: str, members: list[Outcome]) -> str:
    figures = Figures.of(members)
    answerable = [o for o in members if o.answerable]  # Figures has no share answered wrong
    wrong = np.mean([o.matched and not o.correct for o in answerable]) if answerable else float("nan")
    ratio = figures.answered_correctly / figures.accuracy_at_1 if figures.accuracy_at_1 else float("nan")
    return (
        f"| {name} | {group} | {figures.answerable} | {_f(figures.accuracy_at_1)} | {_f(figures.answered_correctly)} "
        f"| {_f(ratio)} | {_f(wrong)} | {figures.unanswerable} | {_f(figures.rejected)} "
        f"| {reliability(members)[1]:.3f} |"
    )


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--languages", action="store_true", help="a row per language too")
    parser.add_argument("--real", type=Path, nargs="*", default=[], help="clones for real_faqs.py")
    args = parser.parse_args()
    encoder = get_encoder(args.encoder)
    print(f"encoder {args.encoder}; settings: {', '.join(args.set) or 'as shipped'}\n")
    print("| set | questions in | answerable | top-1 | answered right | right / top-1 | answered wrong ", end="")
    print("| unanswerable | rejected | ECE |\n|---|---|---|---|---|---|---|---|---|---|")
    searches, notes = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for bench in sets(args.data, Path(tmp), args.real):
            if args.only and args.only not in bench.name:
                continue
            search, built = search_for(bench, encoder, Path(tmp), searches)
            if built:
                notes[bench.faq.stem] = [n for n in built.notes if "confidence" in n]
            report = evaluate(search, load_queries(bench.queries, {e.id for e in search.index.entries}))
            outcomes, language = report.outcomes, search.index.manifest.language
            groups = {language: [o for o in outcomes if o.language == language]}
            groups["others"] = [o for o in outcomes if o.language != language]
            if args.languages:
                groups |= {lang: [o for o in outcomes if o.language == lang] for lang in sorted(report.per_language)}
            for group, members in groups.items():
                if members:
                    print(row(bench.name, group, members), flush=True)
    print("\n| FAQ | what the build said about its confidence |\n|---|---|")
    for name, said in notes.items():
        print(f"| {name} | {' / '.join(said) or '-'} |")


if __name__ == "__main__":
    main()
