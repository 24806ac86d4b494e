"""Answer quality of the example FAQ per encoder: the measurement behind the bundled-encoder choice.

For each available encoder, builds faqs/en.yaml and runs `faqsearch eval` on every labelled
question file given: accuracy@1 and MRR@5 overall and per language, and at the index's default
confidence threshold the share of answerable questions answered and of unanswerable ones
rejected, plus the expected calibration error.

Usage: python benchmarks/encoders.py [tests/queries.yaml tests/data/chat_queries.yaml ...]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from faqsearch import FAQSearch, load_faqs
from faqsearch.build import build_index
from faqsearch.encoders import ENCODERS, get_encoder
from faqsearch.evaluation import evaluate, load_queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("queries", type=Path, nargs="*", default=[Path("tests/queries.yaml")])
    parser.add_argument("--faq", default="faqs/en.yaml")
    args = parser.parse_args()
    source = load_faqs(args.faq)
    with tempfile.TemporaryDirectory() as tmp:
        for path in args.queries:
            queries = load_queries(path)
            languages = sorted({q.language for q in queries if q.expected != "none"})
            print(f"\n{path}: {len(queries)} questions\n")
            print(f"| encoder | acc@1 | MRR@5 | answered | none rejected | ECE | {' | '.join(languages)} |")
            print("|---|---|---|---|---|---|" + "---|" * len(languages))
            for name, cls in ENCODERS.items():
                if cls.unavailable_reason():
                    continue
                build_index(source, get_encoder(name), Path(tmp) / name)
                report = evaluate(FAQSearch.open(Path(tmp) / name), queries)
                total = report.overall
                per = " | ".join(f"{report.per_language[lang].accuracy_at_1:.2f}" for lang in languages)
                print(
                    f"| {name} | {total.accuracy_at_1:.3f} | {total.mrr_at_5:.3f} | {total.answered:.3f} "
                    f"| {total.rejected:.3f} | {report.expected_calibration_error:.3f} | {per} |"
                )


if __name__ == "__main__":
    main()
