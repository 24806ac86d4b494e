"""Time and accuracy of the entry classifier's fits (one full fit, then its FOLDS fold fits as a
build runs them: each without the rows the confidence fit asks), on synthetic vectors of a FAQ's
shape, against scikit-learn's newton-cg at its default tolerance (what classifier.fit replaced)
and against the exact optimum (sklearn's newton-cg in float64 to a gradient of 1e-8): the
measurement behind classifier.TOLERANCE and its float32 solver. "diff": the largest difference
of any probability of any row from the exact optimum's.

Usage: python benchmarks/classifier_fit.py [--shapes 281x40,2000x100,10000x300,20000x1000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from faqsearch import calibration, classifier


def sklearn_fit(vectors: np.ndarray, rows: np.ndarray, tolerance: float = 1e-4) -> classifier.Classifier:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=classifier.C, solver="newton-cg", tol=tolerance, max_iter=1000).fit(vectors, rows)
    return classifier.Classifier(model.coef_, model.intercept_)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="281x40,2000x100,10000x300,20000x1000", help="phrasings x entries")
    args = parser.parse_args()
    import sklearn.linear_model  # noqa: F401  (its import, ~1 s, is not a fit's time)

    rng = np.random.default_rng(0)
    print("| phrasings x entries | full fit s | fold fits s | diff | sklearn newton-cg full fit s | its diff |")
    print("|---|---|---|---|---|---|")
    for shape in args.shapes.split(","):
        phrasings, entries = map(int, shape.split("x"))
        centers = rng.standard_normal((entries, 384)).astype(np.float32)
        rows = np.r_[np.arange(entries), rng.integers(0, entries, phrasings - entries)]
        vectors = centers[rows] * 0.25 + rng.standard_normal((phrasings, 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        started = time.perf_counter()
        full = classifier.fit(vectors, rows, entries)
        fitted = time.perf_counter()
        classifier.out_of_fold(vectors, rows, full, calibration.sample(phrasings)[0])
        folds = time.perf_counter()
        theirs = sklearn_fit(vectors, rows)
        done = time.perf_counter()
        exact = sklearn_fit(vectors.astype(np.float64), rows, 1e-8).probabilities(vectors)
        ours_off = np.abs(full.probabilities(vectors) - exact).max()
        theirs_off = np.abs(theirs.probabilities(vectors) - exact).max()
        print(
            f"| {phrasings:,} x {entries:,} | {fitted - started:.2f} | {folds - fitted:.2f} | {ours_off:.4f} | "
            f"{done - folds:.2f} | {theirs_off:.4f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
