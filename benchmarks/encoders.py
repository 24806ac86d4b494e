"""Answer quality of the example FAQ per encoder: the measurement behind the bundled-encoder choice.

For each available encoder, builds faqs/en.yaml and asks every labelled question file given:
accuracy@1 per language (best candidate is the expected entry), and at the encoder's default
threshold the share of answerable questions answered correctly and of unanswerable ones rejected.

Usage: python benchmarks/encoders.py [tests/data/chat_queries.yaml tests/data/queries.yaml]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from faqsearch import FAQSearch, load_faqs
from faqsearch.encoders import ENCODERS, get_encoder
from faqsearch.evaluation import evaluate, load_queries, overall
from faqsearch.index import build_index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("queries", type=Path, nargs="*", default=sorted(Path("tests/data").glob("*queries.yaml")))
    parser.add_argument("--faq", default="faqs/en.yaml")
    args = parser.parse_args()
    source = load_faqs(args.faq)
    with tempfile.TemporaryDirectory() as tmp:
        for path in args.queries:
            queries = load_queries(path)
            languages = sorted({q.language for q in queries if q.expected != "none"})
            print(f"\n{path}: {len(queries)} questions\n")
            print(f"| encoder | acc@1 | answered right | none rejected | {' | '.join(languages)} |")
            print("|---|---|---|---|" + "---|" * len(languages))
            for name, cls in ENCODERS.items():
                if cls.unavailable_reason():
                    continue
                build_index(source, get_encoder(name), Path(tmp) / name)
                figures = evaluate(FAQSearch.open(Path(tmp) / name), queries)
                total = overall(figures)
                per = " | ".join(
                    f"{figures[lang].accuracy_at_1:.2f}" if figures.get(lang) and figures[lang].answerable else "-"
                    for lang in languages
                )
                print(
                    f"| {name} | {total.accuracy_at_1:.3f} | {total.answered_correctly / total.answerable:.3f} "
                    f"| {total.rejected / max(total.unanswerable, 1):.3f} | {per} |"
                )


if __name__ == "__main__":
    main()
