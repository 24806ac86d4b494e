"""No match across languages on the same questions: is a gap the language's, or the questions'?

The FAQ is clinc150-N20+tatoeba-q-validation (public_sets.py). Asked, all expecting no match:
clinc150's out-of-scope queries (English), the English questions of the Tatoeba dev half (none
of them is an entry, though some paraphrase one), and the same dev questions' translations into
24 languages. A build's confidence is fair across languages when a translation is rejected about
as often as its English original; clinc's rows show how much the questions themselves decide.

Usage: python benchmarks/no_match_by_language.py ../shared/data [--encoder e5-aligned ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from public_sets import every_set

from faqsearch import load_faqs
from faqsearch.build import build_index
from faqsearch.encoders import get_encoder
from faqsearch.search import FAQSearch

FAQ = "clinc150-N20+tatoeba-q-validation"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="../shared/data")
    parser.add_argument("--encoder", action="append", help="repeatable (default: e5-aligned)")
    args = parser.parse_args()
    print("| encoder | questions (all unanswerable) | asked | rejected | mean confidence | mean score |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        sets = {bench.name: bench for bench in every_set(args.data, Path(tmp))}
        mixed, dev = sets[FAQ], sets["tatoeba-q-dev"]
        groups = {
            "clinc150 out-of-scope (English)": [
                q["question"] for q in mixed.asked() if q["expected"] == "none" and q["language"] == "en"
            ],
            "Tatoeba dev questions, English originals": [e["question"] for e in dev.entries()],
            "the same, translated (24 languages)": [q["question"] for q in dev.asked()],
        }
        for name in args.encoder or ["e5-aligned"]:
            encoder = get_encoder(name)
            built = build_index(load_faqs(mixed.faq), encoder, Path(tmp) / name)
            search = FAQSearch(built.index, encoder)
            for label, questions in groups.items():
                best = [answer.candidates[0] for answer in search.ask_many(questions, k=1)]
                confidence = np.array([c.confidence for c in best])
                score = np.mean([c.score for c in best])
                print(
                    f"| {name} | {label} | {len(questions)} | {np.mean(confidence < search.min_confidence):.3f} | "
                    f"{confidence.mean():.3f} | {score:.3f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
