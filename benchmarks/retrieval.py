"""Retrieval v2 on public data and the project's own sets: ranking rules, no match, calibration.

For every set of public_sets.py it builds a real index (the product's build: alignment,
retrieval, calibration) and prints:
1. accuracy@1 of each entry-scoring rule on the same vectors, in the index's space (language
   offset removed, centered): `mean of all` (the scoring shipped before v2), `nearest` (plain
   nearest neighbour), the mean of the m nearest phrasings, log-mean-exp pooling, and the
   POOL=3 rule fused with an entry classifier (logistic regression fitted on the FAQ's own
   phrasing vectors: the source idea of this product). These rows are exact (every phrasing
   compared), so they show the rule, not the retrieval;
2. the product itself (`faqsearch eval` on the built index: retrieve RETRIEVE phrasings, pool,
   calibrated confidence): accuracy@1, answered, rejected, expected calibration error;
3. confidence by the question's language: the FAQ's own, and the others (a build fits one
   model for each);
4. for sets with unanswerable questions, the trade-off curve over the confidence threshold.

Usage: python benchmarks/retrieval.py ../shared/data [--encoder e5] [--sets clinc150-N20,...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent))
from public_sets import Benchmark, every_set

from faqsearch import langid, load_faqs
from faqsearch.build import build_index
from faqsearch.encoders import get_encoder
from faqsearch.evaluation import NONE, evaluate, load_queries, reliability
from faqsearch.index import EMBEDDINGS
from faqsearch.retrieval import index_vectors
from faqsearch.search import FAQSearch
from faqsearch.vectorcache import encode_cached

CLASSIFIER_WEIGHTS = (0.1, 0.2, 0.3, 0.5, 1.0)  # the product uses classifier.WEIGHT


def pooled(cosines: np.ndarray, row_entry: np.ndarray, rule: str) -> np.ndarray:
    """(questions, entries) scores from (questions, phrasings) cosines under one rule."""
    entries = row_entry.max() + 1
    out = np.empty((len(cosines), entries), dtype=np.float32)
    for e in range(entries):
        block = cosines[:, row_entry == e]
        if rule == "mean of all":
            out[:, e] = block.mean(1)
        elif rule.startswith("log-mean-exp"):
            t = float(rule.split("t=")[1])
            out[:, e] = t * (np.log(np.exp((block - block.max(1, keepdims=True)) / t).mean(1)) + block.max(1) / t)
        else:
            m = 1 if rule == "nearest" else int(rule.split()[2])
            out[:, e] = -np.sort(-block, axis=1)[:, :m].mean(1)
    return out


def rule_accuracies(bench: Benchmark, built, encoder) -> dict[str, float]:
    index = built.index
    queries = [q for q in load_queries(bench.queries) if q.expected != NONE]
    ids = [e.id for e in index.entries]
    expected = np.array([ids.index(q.expected) for q in queries])
    languages = [langid.detect(q.question, prior=index.manifest.language) for q in queries]
    vectors = encode_cached(encoder, [q.question for q in queries], languages, "bench-questions")
    r = index.retriever
    rows = [lang for e in index.entries for lang in e.phrasing_languages(index.manifest.language)]
    phrasings = index_vectors(np.load(index.path / EMBEDDINGS), rows, r.parts, r.alignments)
    queries_in_space = r.weigh(r.align(vectors, languages), languages)
    cosines = queries_in_space @ phrasings.T
    rules = ["mean of all", "nearest", "mean of 2", "mean of 3", "mean of 5", "log-mean-exp t=0.05"]
    scores = {rule: pooled(cosines, r.row_entry, rule) for rule in rules}
    result = {rule: float((s.argmax(1) == expected).mean()) for rule, s in scores.items()}
    if r.sizes.min() > 1:
        classifier = LogisticRegression(C=10, max_iter=300).fit(phrasings, r.row_entry)
        probability = classifier.predict_proba(queries_in_space)
        for weight in CLASSIFIER_WEIGHTS:
            fused = scores["mean of 3"] + weight * probability
            result[f"mean of 3 + {weight} classifier"] = float((fused.argmax(1) == expected).mean())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="../shared/data")
    parser.add_argument("--encoder", default="e5")
    parser.add_argument("--sets", help="comma-separated set names (default: all)")
    args = parser.parse_args()
    encoder = get_encoder(args.encoder)
    rows, product, curves = {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for bench in every_set(args.data, Path(tmp)):
            if args.sets and bench.name not in args.sets.split(","):
                continue
            faq = load_faqs(bench.faq)
            built = build_index(faq, encoder, Path(tmp) / "indexes" / bench.name.replace(" ", "-"))
            rows[bench.name] = rule_accuracies(bench, built, encoder)
            search = FAQSearch(built.index, encoder)
            report = evaluate(search, load_queries(bench.queries, {e.id for e in faq.entries}))
            product[bench.name] = (report, built.index.manifest)
            if report.overall.unanswerable:
                curves[bench.name] = report.curve
            print(f"done {bench.name}", file=sys.stderr)
    names = list(rows)
    print(f"## accuracy@1 by scoring rule ({args.encoder}, exact)\n")
    print("| rule | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for rule in dict.fromkeys(r for row in rows.values() for r in row):
        print(f"| {rule} | " + " | ".join(f"{rows[n][rule]:.3f}" if rule in rows[n] else "-" for n in names) + " |")
    print("\n## the product (retrieve, pool, calibrated confidence)\n")
    print("| set | entries | phrasings | acc@1 | answered | answered right | rejected | ECE | fitted on |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, (report, manifest) in product.items():
        o = report.overall
        ex = manifest.calibration.examples
        print(
            f"| {name} | {manifest.entries} | {manifest.phrasings} | {o.accuracy_at_1:.3f} | {o.answered:.3f} | "
            f"{o.answered_correctly:.3f} | {o.rejected:.3f} | {report.expected_calibration_error:.3f} | "
            f"{ex['right']} right / {ex['asked'] - ex['right']} wrong |"
        )
    print("\n## confidence by the question's language\n")
    print("| set | questions in | questions | mean confidence | right | ECE |")
    print("|---|---|---|---|---|---|")
    for name, (report, manifest) in product.items():
        for group in ("the FAQ's", "other"):
            members = [o for o in report.outcomes if (o.language == manifest.language) == (group == "the FAQ's")]
            if members:
                right, mean = np.mean([o.correct for o in members]), np.mean([o.confidence for o in members])
                ece = reliability(members)[1]
                print(f"| {name} | {group} | {len(members)} | {mean:.3f} | {right:.3f} | {ece:.3f} |")
    for name, (report, _) in product.items():
        if len(report.per_language) > 1:
            print(f"\n### {name} per language\n")
            print("| language | questions | acc@1 | answered | rejected |")
            print("|---|---|---|---|---|")
            for language, f in report.per_language.items():
                print(f"| {language} | {f.questions} | {f.accuracy_at_1:.3f} | {f.answered:.3f} | {f.rejected:.3f} |")
    for name, points in curves.items():
        print(f"\n### {name}: no-match trade-off over the confidence threshold\n")
        print("| threshold | unanswerable rejected | answerable answered | answerable answered right |")
        print("|---|---|---|---|")
        for p in points:
            print(f"| {p.threshold:.2f} | {p.rejected:.3f} | {p.answered:.3f} | {p.answered_right:.3f} |")


if __name__ == "__main__":
    main()
