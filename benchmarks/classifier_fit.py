"""Time of the entry classifier's fits (one full fit, then its FOLDS warm-started fold fits) per
solver, on synthetic vectors of a FAQ's shape: the measurement behind classifier.NEWTON_CG_UP_TO.

Usage: python benchmarks/classifier_fit.py
"""

from __future__ import annotations

import time

import numpy as np

from faqsearch import classifier

SHAPES = ((281, 40), (10_000, 300), (30_000, 1_000))  # phrasings, entries: the example FAQ to the limits
SOLVERS = {"newton-cg": float("inf"), "lbfgs": 0}  # classifier.NEWTON_CG_UP_TO that picks each


def main() -> None:
    import sklearn.linear_model  # noqa: F401  (its import, ~0.8 s, is not a fit's time)

    rng = np.random.default_rng(0)
    print("| phrasings x entries | solver | full fit s | fold fits s |\n|---|---|---|---|")
    for phrasings, entries in SHAPES:
        centers = rng.standard_normal((entries, 384)).astype(np.float32)
        rows = rng.integers(0, entries, phrasings)
        vectors = centers[rows] * 0.25 + rng.standard_normal((phrasings, 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        for solver, up_to in SOLVERS.items():
            classifier.NEWTON_CG_UP_TO = up_to
            started = time.perf_counter()
            full = classifier.fit(vectors, rows, entries)
            fitted = time.perf_counter()
            classifier.out_of_fold(vectors, rows, full)
            done = time.perf_counter()
            shape = f"{phrasings:,} x {entries:,}"
            print(f"| {shape} | {solver} | {fitted - started:.2f} | {done - fitted:.2f} |", flush=True)


if __name__ == "__main__":
    main()
