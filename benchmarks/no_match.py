"""The no-match decision on public data and the project's own sets (issue #27).

Each FAQ is built as the product builds it, then asked, at the index's default threshold:
- general questions held out of the background corpus (public_sets.general_questions), in
  English and 37 other languages, in two styles (Tatoeba-Challenge, FLORES-200), asked to the
  example FAQ (faqs/en.yaml) and to banking77-N20: all should get no match;
- clinc150-N20 with its 1,000 out-of-scope queries;
- banking77-N20 and clinc150-N20 with every third intent left out of the FAQ (in-domain
  questions the FAQ does not cover);
- tatoeba-q-validation: English questions as one-phrasing entries, asked in 24 languages (real
  translations: what answered-right costs in other languages on public data);
- the project's own sets (evaluation, chat, long).
Every figure is given for questions in the FAQ's language (en) and in the others. `--set
module.NAME=VALUE` changes a constant of faqsearch before building (how variants were compared),
`--curves` prints the trade-off curves, `--weights` the fitted confidence models. "why rejected":
the share of each no-match reason among the unanswerable questions rejected.

Usage: python benchmarks/no_match.py ../shared/data [--encoder e5-aligned] [--set calibration.ANSWERABLE_SHARE=0.7]
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from public_sets import Benchmark, general_questions, intents, intents_left_out, own, tatoeba_questions

from faqsearch import load_faqs
from faqsearch.build import build_index
from faqsearch.confidence import NO_MATCH
from faqsearch.encoders import get_encoder
from faqsearch.evaluation import evaluate, load_queries, reliability
from faqsearch.search import FAQSearch
from faqsearch.vectorcache import encode_cached


class CachedEncoder:
    """The encoder, with question vectors cached on disk: variants differ only after encoding."""

    def __init__(self, encoder):
        self.encoder = encoder

    def __getattr__(self, name):
        return getattr(self.encoder, name)

    def encode(self, texts, languages):
        return encode_cached(self.encoder, texts, languages, "bench-questions")


def assign(setting: str) -> str:
    """Apply `module.NAME=VALUE` to faqsearch.module (VALUE parsed as a number when it is one)."""
    target, _, value = setting.partition("=")
    module, _, name = target.rpartition(".")
    owner = importlib.import_module(f"faqsearch.{module}")
    if not hasattr(owner, name):
        raise SystemExit(f"--set {setting}: faqsearch.{module} has no {name}")
    setattr(owner, name, type(getattr(owner, name))(value))
    return setting


def sets(data: Path, folder: Path) -> list[Benchmark]:
    banking, clinc = intents(data, folder, 20)
    general = general_questions(data, folder)
    example = own()[0].faq
    return [
        *(Benchmark(f"example FAQ x general {style}", example, path) for style, path in general.items()),
        *(Benchmark(f"banking77-N20 x general {style}", banking.faq, path) for style, path in general.items()),
        clinc,
        intents_left_out(banking, folder),
        intents_left_out(clinc, folder),
        tatoeba_questions(data, folder, "validation"),
        *own(),
    ]


def _f(x: float) -> str:
    return "-" if x != x else f"{x:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="../shared/data")
    parser.add_argument("--encoder", default="e5-aligned")
    parser.add_argument("--set", action="append", default=[], type=assign, help="module.NAME=VALUE, repeatable")
    parser.add_argument("--only", help="run only the sets whose name contains this")
    parser.add_argument("--curves", action="store_true")
    parser.add_argument("--weights", action="store_true")
    args = parser.parse_args()
    encoder = get_encoder(args.encoder)
    print(f"encoder {args.encoder}; settings: {', '.join(args.set) or 'as shipped'}\n")
    print("| set | questions in | answerable | answered right | unanswerable | rejected | ECE | why rejected |")
    print("|---|---|---|---|---|---|---|---|")
    general, curves, weights, searches = [], {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for bench in sets(args.data, Path(tmp)):
            if args.only and args.only not in bench.name:
                continue
            faq = load_faqs(bench.faq)
            if bench.faq not in searches:  # one build per FAQ file
                built = build_index(faq, encoder, Path(tmp) / "indexes" / bench.faq.stem)
                weights[bench.faq.stem] = built.index.manifest.calibration
                searches[bench.faq] = FAQSearch(built.index, CachedEncoder(encoder))
            search = searches[bench.faq]
            report = evaluate(search, load_queries(bench.queries, {e.id for e in faq.entries}))
            for group in ("en", "others", "all"):
                members = [o for o in report.outcomes if group == "all" or (o.language == "en") == (group == "en")]
                answerable = [o for o in members if o.answerable]
                none = [o for o in members if not o.answerable]
                right = np.mean([o.matched and o.correct for o in answerable]) if answerable else float("nan")
                rejected = np.mean([not o.matched for o in none]) if none else float("nan")
                why = Counter(o.no_match for o in none if not o.matched)
                reasons = ", ".join(f"{r} {why[r] / sum(why.values()):.2f}" for r in NO_MATCH if why[r]) or "-"
                print(
                    f"| {bench.name} | {group} | {len(answerable)} | {_f(right)} | {len(none)} | {_f(rejected)} "
                    f"| {reliability(members)[1]:.3f} | {reasons} |",
                    flush=True,
                )
            if "general" in bench.name:
                per_language = {lang: f.rejected for lang, f in report.per_language.items()}
                others = {lang: r for lang, r in per_language.items() if lang != "en"}
                worst = min(others, key=others.get)
                general.append((bench.name, per_language["en"], np.mean(list(others.values())), worst, others[worst]))
            if report.overall.unanswerable and report.overall.answerable:
                curves[bench.name] = report.curve
    print("\n| general questions | English rejected | others, mean | worst language | English - others |")
    print("|---|---|---|---|---|")
    for name, english, mean, worst, lowest in general:
        print(f"| {name} | {english:.3f} | {mean:.3f} | {worst} {lowest:.3f} | {english - mean:+.3f} |")
    if args.weights:
        print("\n| FAQ | model | weights (score, margin, background) | bias | fitted |\n|---|---|---|---|---|")
        for name, c in weights.items():
            for label, m in (("same language", c.same_language), ("other languages", c.other_languages)):
                print(f"| {name} | {label} | {', '.join(f'{w:.2f}' for w in m.weights)} | {m.bias:.2f} | {m.fitted} |")
    for name, points in curves.items() if args.curves else ():
        print(f"\n### {name}: trade-off over the threshold\n")
        print("| threshold | unanswerable rejected | answerable answered | answered right |\n|---|---|---|---|")
        for p in points:
            print(f"| {p.threshold:.2f} | {_f(p.rejected)} | {_f(p.answered)} | {_f(p.answered_right)} |")


if __name__ == "__main__":
    main()
