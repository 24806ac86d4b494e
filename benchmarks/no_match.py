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
`--curves` prints the trade-off curves, `--weights` the fitted confidence models, `--ceiling` what
any threshold on the shipped confidence, or on a model fitted on the set's own questions, can
reach (below). "why rejected": the share of each no-match reason among the unanswerable
questions rejected.

Usage: python benchmarks/no_match.py ../shared/data [--encoder e5-aligned] [--set calibration.ANSWERABLE_SHARE=0.7]
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from public_sets import Benchmark, general_questions, intents, intents_left_out, own, tatoeba_questions

from faqsearch import load_faqs
from faqsearch.build import Built, build_index
from faqsearch.confidence import FEATURES, NO_MATCH, features
from faqsearch.encoders import get_encoder
from faqsearch.evaluation import Figures, evaluate, load_queries, reliability
from faqsearch.pooling import POOL
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


# --ceiling: the answered-right share each set must keep while rejecting as much as it can.
KEEP_RIGHT = 0.80
EXTRA = ("top phrasing cosine", "classifier's top vote", "vote entropy", "score - 5th score", "score - entry cohesion")


def best_rejected(confidence: np.ndarray, right: np.ndarray, none: np.ndarray) -> float:
    """The most unanswerable questions any threshold rejects while KEEP_RIGHT of the answerable
    ones (`right`: answered right; neither: answered wrong) are still answered right."""
    answerable = (~none).sum()
    kept = [t for t in np.unique(confidence) if (right & (confidence >= t)).sum() >= KEEP_RIGHT * answerable]
    return max((float((none & (confidence < t)).sum() / none.sum()) for t in kept), default=float("nan"))


def ceiling(search: FAQSearch, report) -> str:
    """Best rejection at KEEP_RIGHT answered right: on the shipped confidence's own curve, and on
    logistic models fitted on this set's questions (5-fold cross-validated: an upper bound for any
    weights) with the shipped features and with EXTRA ones; AUROC right vs unanswerable for each."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_val_predict

    retriever, outcomes = search.index.retriever, report.outcomes
    questions, languages = [o.query.question for o in outcomes], [o.language for o in outcomes]
    vectors = CachedEncoder(search.encoder).encode(questions, languages)
    rankings = retriever.rank(vectors, languages, entries=5)
    votes = retriever.votes(retriever.align(vectors, languages))
    stored = retriever.vectors.reconstruct_n(0, retriever.vectors.ntotal)
    starts = np.r_[0, np.cumsum(retriever.sizes)]
    cohesion = np.array([_cohesion(stored[a:b]) for a, b in itertools.pairwise(starts)])
    rows = []
    for ranking, vote in zip(rankings, votes, strict=True):
        top, scores = ranking.entries[0], ranking.scores
        entropy = -(vote * np.log(vote + 1e-12)).sum()
        extra = [ranking.retrieved[0], vote.max(), -entropy, scores[0] - scores[-1], scores[0] - cohesion[top]]
        rows.append([*features(ranking)[0], *extra])
    x = np.array(rows)
    right = np.array([o.answerable and o.correct for o in outcomes])
    none = np.array([not o.answerable for o in outcomes])
    known = right | none  # answered wrong: neither side of the AUROC
    shipped = np.array([o.confidence for o in outcomes])
    cells = [f"{roc_auc_score(right[known], shipped[known]):.3f} / {_f(best_rejected(shipped, right, none))}"]
    for columns in (slice(0, len(FEATURES)), slice(None)):
        model = LogisticRegression(C=10, max_iter=2000)
        fitted = cross_val_predict(model, x[known][:, columns], right[known], cv=5, method="predict_proba")[:, 1]
        confidence = np.full(len(right), -1.0)  # answered wrong: counts against answered-right at any threshold
        confidence[known] = fitted
        cells.append(f"{roc_auc_score(right[known], fitted):.3f} / {_f(best_rejected(confidence, right, none))}")
    return " | ".join(cells)


def _cohesion(block: np.ndarray) -> float:
    """How near an entry's phrasings are to each other: the mean, over its phrasings, of the mean
    cosine to their POOL nearest others (the score a phrasing of the entry would get)."""
    if len(block) < 2:
        return 1.0
    cosines = block @ block.T
    np.fill_diagonal(cosines, -np.inf)
    return float(np.sort(cosines, axis=1)[:, ::-1][:, :POOL].mean(1).mean())


def _f(x: float) -> str:
    return "-" if x != x else f"{x:.3f}"


def arguments(description: str) -> argparse.ArgumentParser:
    """What every benchmark of the no-match decision takes (this one and single_phrasing.py)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("data", type=Path, help="../shared/data")
    parser.add_argument("--encoder", default="e5-aligned")
    parser.add_argument("--set", action="append", default=[], type=assign, help="module.NAME=VALUE, repeatable")
    parser.add_argument("--only", help="run only the sets whose name contains this")
    return parser


def search_for(bench: Benchmark, encoder, folder: Path, searches: dict) -> tuple[FAQSearch, Built | None]:
    """The FAQ of `bench` built once per FAQ file (`searches` keeps them), and what that build
    returned when this call built it (None when an earlier one did)."""
    if bench.faq in searches:
        return searches[bench.faq], None
    built = build_index(load_faqs(bench.faq), encoder, folder / "indexes" / bench.faq.stem.replace(" ", "_"))
    searches[bench.faq] = FAQSearch(built.index, CachedEncoder(encoder))
    return searches[bench.faq], built


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--curves", action="store_true")
    parser.add_argument("--weights", action="store_true")
    parser.add_argument("--ceiling", action="store_true")
    args = parser.parse_args()
    encoder = get_encoder(args.encoder)
    print(f"encoder {args.encoder}; settings: {', '.join(args.set) or 'as shipped'}\n")
    print("| set | questions in | answerable | answered right | unanswerable | rejected | ECE | why rejected |")
    print("|---|---|---|---|---|---|---|---|")
    general, curves, weights, searches, ceilings = [], {}, {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for bench in sets(args.data, Path(tmp)):
            if args.only and args.only not in bench.name:
                continue
            search, built = search_for(bench, encoder, Path(tmp), searches)
            if built:
                weights[bench.faq.stem] = built.index.manifest.calibration
            report = evaluate(search, load_queries(bench.queries, {e.id for e in search.index.entries}))
            for group in ("en", "others", "all"):
                members = [o for o in report.outcomes if group == "all" or (o.language == "en") == (group == "en")]
                figures = Figures.of(members)
                why = Counter(o.no_match for o in members if not o.answerable and not o.matched)
                reasons = ", ".join(f"{r} {why[r] / sum(why.values()):.2f}" for r in NO_MATCH if why[r]) or "-"
                print(
                    f"| {bench.name} | {group} | {figures.answerable} | {_f(figures.answered_correctly)} "
                    f"| {figures.unanswerable} | {_f(figures.rejected)} | {reliability(members)[1]:.3f} | {reasons} |",
                    flush=True,
                )
            if "general" in bench.name:
                per_language = {lang: f.rejected for lang, f in report.per_language.items()}
                others = {lang: r for lang, r in per_language.items() if lang != "en"}
                worst = min(others, key=others.get)
                general.append((bench.name, per_language["en"], np.mean(list(others.values())), worst, others[worst]))
            if report.overall.unanswerable and report.overall.answerable:
                curves[bench.name] = report.curve
                if args.ceiling:
                    ceilings[bench.name] = ceiling(search, report)
    print("\n| general questions | English rejected | others, mean | worst language | English - others |")
    print("|---|---|---|---|---|")
    for name, english, mean, worst, lowest in general:
        print(f"| {name} | {english:.3f} | {mean:.3f} | {worst} {lowest:.3f} | {english - mean:+.3f} |")
    if args.weights:
        print("\n| FAQ | model | weights (score, margin, background) | bias | fitted |\n|---|---|---|---|---|")
        for name, c in weights.items():
            for label, m in (("same language", c.same_language), ("other languages", c.other_languages)):
                print(f"| {name} | {label} | {', '.join(f'{w:.2f}' for w in m.weights)} | {m.bias:.2f} | {m.fitted} |")
    if args.ceiling:
        extra = ", ".join(EXTRA)
        print(f"\n| set | AUROC / best rejected at >= {KEEP_RIGHT} answered right: shipped confidence ", end="")
        print(f"| refitted on the set, shipped features | refitted, with {extra} |\n|---|---|---|---|")
        for name, cells in ceilings.items():
            print(f"| {name} | {cells} |")
    for name, points in curves.items() if args.curves else ():
        print(f"\n### {name}: trade-off over the threshold\n")
        print("| threshold | unanswerable rejected | answerable answered | answered right |\n|---|---|---|---|")
        for p in points:
            print(f"| {p.threshold:.2f} | {_f(p.rejected)} | {_f(p.answered)} | {_f(p.answered_right)} |")


if __name__ == "__main__":
    main()
