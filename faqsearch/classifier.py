"""An entry classifier fitted at build time on the FAQ's own phrasing vectors: the source idea
of this product (a model fitted on sentence vectors in one language works in every language).

A multinomial logistic regression maps a question's aligned vector to a probability per entry;
retrieval adds WEIGHT x that probability to each retrieved entry's pooled score. On public intent
sets it lifts accuracy@1 by 3-5 points over pooling alone (BENCHMARKS.md). It is fitted only
where it can learn something and stays cheap: at least MIN_PHRASINGS_PER_ENTRY phrasings per
entry on average, at most MAX_ENTRIES entries and MAX_PHRASINGS phrasings (the build fits it
six times; a question then costs one (entries x dim) product, under 0.5 ms).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WEIGHT = 0.5
C = 10.0  # inverse regularization strength of the fit
# newton-cg up to this many phrasings x entries, lbfgs above: at the example FAQ's size a full fit
# and its folds take 0.14 s against 3.0 s, at 10k x 300 9.8 s against 13.6 s, but at 30k x 1,000
# newton-cg's warm-started folds take 89 s against 24 s (benchmarks/classifier_fit.py)
NEWTON_CG_UP_TO = 10_000_000
MAX_ENTRIES = 1000
MAX_PHRASINGS = 30_000  # with MAX_ENTRIES: six fits of at most ~1 min together (BENCHMARKS.md)
MIN_PHRASINGS_PER_ENTRY = 2
FOLDS = 5  # out-of-fold models give calibration probabilities for phrasings a model never saw


@dataclass
class Classifier:
    weights: np.ndarray  # (entries, dim)
    bias: np.ndarray  # (entries,)

    def probabilities(self, aligned: np.ndarray) -> np.ndarray:
        """(questions, dim) aligned vectors -> (questions, entries) probabilities."""
        logits = aligned @ self.weights.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def to_array(self) -> np.ndarray:
        return np.c_[self.weights, self.bias].astype(np.float32)

    @classmethod
    def from_array(cls, array: np.ndarray) -> Classifier:
        return cls(np.ascontiguousarray(array[:, :-1]), np.ascontiguousarray(array[:, -1]))


def applies(entries: int, phrasings: int) -> bool:
    return 1 < entries <= MAX_ENTRIES and MIN_PHRASINGS_PER_ENTRY * entries <= phrasings <= MAX_PHRASINGS


def fit(
    vectors: np.ndarray, row_entry: np.ndarray, entries: int, start: Classifier | None = None, seed: int = 0
) -> Classifier:
    """Fit on (phrasings, dim) aligned vectors, from `start`'s weights when given (a fold model
    starts from the full one: a few iterations instead of hundreds); an entry absent from the
    rows gets a -inf-like bias."""
    from sklearn.linear_model import LogisticRegression

    present = np.unique(row_entry)
    weights = np.zeros((entries, vectors.shape[1]), dtype=np.float32)
    bias = np.full(entries, -1e4, dtype=np.float32)
    if len(present) == 1:  # a fold of a two-entry FAQ may hold one entry only: all its vote, sklearn refuses to fit
        bias[present[0]] = 0.0
        return Classifier(weights, bias)
    solver = "newton-cg" if len(vectors) * entries <= NEWTON_CG_UP_TO else "lbfgs"
    model = LogisticRegression(C=C, solver=solver, max_iter=300, random_state=seed, warm_start=start is not None)
    if start is not None and len(present) > 2:
        model.coef_, model.intercept_ = start.weights[present], start.bias[present]
    model.fit(vectors, row_entry)
    if len(present) == 2:  # sklearn fits one direction for two classes
        weights[present[1]], bias[present[1]] = model.coef_[0], model.intercept_[0]
        bias[present[0]] = 0.0
    else:
        weights[present], bias[present] = model.coef_, model.intercept_
    return Classifier(weights, bias)


def out_of_fold(
    vectors: np.ndarray, row_entry: np.ndarray, full: Classifier, seed: int = 0
) -> tuple[list[Classifier], np.ndarray]:
    """FOLDS classifiers, each fitted without one fold of the rows (starting from the `full`
    one), and each row's fold: a calibration question is scored by a model that never saw it."""
    fold = np.random.default_rng(seed).permutation(len(vectors)) % FOLDS
    entries = len(full.bias)
    return [fit(vectors[fold != k], row_entry[fold != k], entries, full, seed) for k in range(FOLDS)], fold
