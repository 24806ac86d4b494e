"""An entry classifier fitted at build time on the FAQ's own phrasing vectors: the source idea
of this product (a model fitted on sentence vectors in one language works in every language).

A multinomial logistic regression maps a question's aligned vector to a probability per entry;
retrieval adds WEIGHT x that probability to each retrieved entry's pooled score. On public intent
sets it lifts accuracy@1 by 3-5 points over pooling alone (BENCHMARKS.md). It is fitted only
where it can learn something and stays cheap: at least MIN_PHRASINGS_PER_ENTRY phrasings per
entry on average, at most MAX_ENTRIES entries and MAX_PHRASINGS phrasings (the build fits it
up to six times: out_of_fold; a question then costs one (entries x dim) product, under 0.5 ms).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

import numpy as np

WEIGHT = 0.5
C = 10.0  # inverse regularization strength of the fit
MAX_ENTRIES = 1000
MAX_PHRASINGS = 30_000  # with MAX_ENTRIES: the fits take ~40 s at 20,000 phrasings (BENCHMARKS.md)
MIN_PHRASINGS_PER_ENTRY = 2
FOLDS = 5  # out-of-fold models give calibration probabilities for phrasings a model never saw
# The fit stops when no gradient component of its (mean) objective exceeds this: half sklearn's
# default, so that it ends at least as near the exact optimum as sklearn's newton-cg did
# (probabilities within 0.0002-0.005 of it from 281 x 40 to 10,000 x 300, sklearn's within
# 0.0006-0.019), still in less time (benchmarks/classifier_fit.py, BENCHMARKS.md)
TOLERANCE = 5e-5
MAX_STEPS, MAX_INNER = 300, 200  # Newton steps, and conjugate-gradient steps of each (as sklearn ran)
BLOCK = 4096  # rows per matrix product: the (rows, entries) probabilities are made a block at a time


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
    vectors: np.ndarray,
    row_entry: np.ndarray,
    entries: int,
    start: Classifier | None = None,
    rows: np.ndarray | None = None,
) -> Classifier:
    """Fit on (phrasings, dim) aligned vectors, or only their `rows`, from `start`'s weights when
    given (a fold model starts from the full one: a few steps instead of many); an entry absent
    from the rows gets a -inf-like bias. The model is scikit-learn's LogisticRegression(C=C)
    (multinomial; for two entries one direction, the first entry's logit fixed at 0), fitted as
    its newton-cg fits it but with float32 products: importing scikit-learn alone took a one-shot
    build of the example FAQ 1.5 s, and its float64 fits of 20,000 phrasings x 1,000 entries a
    minute and a half."""
    labels = row_entry if rows is None else row_entry[rows]
    present = np.unique(labels)
    weights = np.zeros((entries, vectors.shape[1]), dtype=np.float32)
    bias = np.full(entries, -1e4, dtype=np.float32)
    if len(present) == 1:  # a fold of a two-entry FAQ may hold one entry only: all its vote
        bias[present[0]] = 0.0
        return Classifier(weights, bias)
    objective = _Objective(np.ascontiguousarray(vectors, dtype=np.float32), np.searchsorted(present, labels), rows)
    if len(present) == 2:  # one direction, as sklearn fits two classes
        fitted = _newton(objective, np.zeros((1, vectors.shape[1] + 1)))
        weights[present[1]], bias[present[1]] = fitted[0, :-1], fitted[0, -1]
        bias[present[0]] = 0.0
    else:
        begin = np.zeros((len(present), vectors.shape[1] + 1))
        if start is not None:
            begin = np.c_[start.weights[present], start.bias[present]].astype(np.float64)
        fitted = _newton(objective, begin)
        weights[present], bias[present] = fitted[:, :-1], fitted[:, -1]
    return Classifier(weights, bias)


class _Objective:
    """sklearn's objective for LogisticRegression(C): the mean cross-entropy of a softmax over
    `labels` plus (1 / (C n)) / 2 x the squared weights (not the biases), of (classes, dim + 1)
    weights and biases; with one row of parameters for two classes, class 0's logit is 0. It fits
    the `rows` of `x` (None: all), read a block at a time: a fold model copies none of its rows
    (18,000 of 20,000 phrasings: 27 MB)."""

    def __init__(self, x: np.ndarray, labels: np.ndarray, rows: np.ndarray | None = None):
        self.x, self.rows, self.labels = x, rows, labels
        self.n = len(x) if rows is None else len(rows)
        self.ridge = 1 / (C * self.n)

    def _features(self) -> Iterator[tuple[slice, np.ndarray]]:
        """Each block of the fitted rows: where it lies among them, and its features."""
        for begin in range(0, self.n, BLOCK):
            block = slice(begin, begin + BLOCK)
            yield block, self.x[block] if self.rows is None else self.x[self.rows[block]]

    def _blocks(self, parameters: np.ndarray) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
        """Each block of rows with its features and (rows, classes) logits, less each row's largest."""
        weights, bias = parameters[:, :-1].astype(np.float32), parameters[:, -1].astype(np.float32)
        for rows, x in self._features():
            logits = x @ weights.T
            logits += bias  # in place: a (rows, classes) block is 16 MB at 1,000 entries
            if len(parameters) == 1:
                logits = np.c_[np.zeros(len(logits), dtype=np.float32), logits]
            logits -= logits.max(axis=1, keepdims=True)
            yield rows, x, logits

    def value(self, parameters: np.ndarray) -> float:
        loss = 0.0
        for rows, _, logits in self._blocks(parameters):
            normalizer = np.log(np.exp(logits).sum(axis=1))
            loss += float(np.sum(normalizer - logits[np.arange(len(logits)), self.labels[rows]], dtype=np.float64))
        return loss / self.n + self.ridge / 2 * float(np.sum(parameters[:, :-1] ** 2))

    def gradient(self, parameters: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """The gradient, and each block's probabilities (for `hessian_times`, `hessian_diagonal`)."""
        gradient, probabilities = np.zeros_like(parameters), []
        for rows, x, logits in self._blocks(parameters):
            p = np.exp(logits, out=logits)
            p /= p.sum(axis=1, keepdims=True)
            probabilities.append(p)
            residual = p.copy()
            residual[np.arange(len(p)), self.labels[rows]] -= 1
            self._add(gradient, residual, x)
        gradient /= self.n
        gradient[:, :-1] += self.ridge * parameters[:, :-1]
        return gradient, probabilities

    def hessian_times(self, direction: np.ndarray, probabilities: list[np.ndarray]) -> np.ndarray:
        """The objective's Hessian (at the parameters `probabilities` came from) times `direction`."""
        weights, bias = direction[:, :-1].astype(np.float32), direction[:, -1].astype(np.float32)
        product = np.zeros_like(direction)
        for (_, x), p in zip(self._features(), probabilities, strict=True):
            change = x @ weights.T  # each logit's change along `direction`
            change += bias
            if len(direction) == 1:
                change = np.c_[np.zeros(len(change), dtype=np.float32), change]
            change *= p
            change -= p * change.sum(axis=1, keepdims=True)
            self._add(product, change, x)
        product /= self.n
        product[:, :-1] += self.ridge * direction[:, :-1]
        return product

    def hessian_diagonal(self, probabilities: list[np.ndarray], classes: int) -> np.ndarray:
        """The Hessian's diagonal for `classes` rows of parameters (at the parameters
        `probabilities` came from), kept above 0."""
        diagonal = np.zeros((classes, self.x.shape[1] + 1))
        for (_, x), p in zip(self._features(), probabilities, strict=True):
            self._add(diagonal, p * (1 - p), x * x)
        diagonal /= self.n
        diagonal[:, :-1] += self.ridge
        return np.maximum(diagonal, 1e-12)

    @staticmethod
    def _add(into: np.ndarray, per_class: np.ndarray, features: np.ndarray) -> None:
        """Add (rows, classes) derivatives by logit, times the rows' `features`, to the parameters'
        (the reference class's dropped where there is one)."""
        if len(into) == 1:
            per_class = per_class[:, 1:]
        into[:, :-1] += per_class.T @ features
        into[:, -1] += per_class.sum(axis=0)


def _newton(objective: _Objective, parameters: np.ndarray) -> np.ndarray:
    """Minimize from `parameters` by Newton steps solved by conjugate gradients, as sklearn's
    newton-cg does (its stopping rules) but preconditioned by the Hessian's diagonal (a fit of
    20,000 phrasings x 1,000 entries: 11 steps and 107 products instead of 16 and 188), each
    step backtracked until it decreases the objective (Armijo); ends when every gradient
    component is within TOLERANCE, or when no step decreases the objective (its float32 precision)."""
    value = objective.value(parameters)
    for _ in range(MAX_STEPS):
        gradient, probabilities = objective.gradient(parameters)
        if np.abs(gradient).max() <= TOLERANCE:
            break
        size = np.abs(gradient).sum()
        step = _conjugate_gradient(
            partial(objective.hessian_times, probabilities=probabilities),
            gradient,
            objective.hessian_diagonal(probabilities, len(parameters)),
            min(0.5, np.sqrt(size)) * size,
        )
        del probabilities  # 80 MB at 20,000 x 1,000: not held through the line search and the next gradient's
        slope, length = float(np.sum(gradient * step)), 1.0
        while (new_value := objective.value(parameters + length * step)) > value + 1e-4 * length * slope:
            length /= 2
            if length < 1e-8:
                return parameters
        parameters, value = parameters + length * step, new_value
    return parameters


def _conjugate_gradient(hessian_times, gradient: np.ndarray, scale: np.ndarray, tolerance: float) -> np.ndarray:
    """The Newton step: Hessian x step = -gradient, by conjugate gradients preconditioned by the
    Hessian's diagonal (`scale`), until the residuals' absolute sum is within `tolerance`
    (sklearn's rule); steepest descent where the curvature vanishes at once (rounding)."""
    step, residual = np.zeros_like(gradient), gradient.copy()
    scaled = residual / scale
    direction, product = -scaled, float(np.sum(residual * scaled))
    for _ in range(MAX_INNER + 1):
        if np.abs(residual).sum() <= tolerance:
            break
        curved = hessian_times(direction)
        curvature = float(np.sum(direction * curved))
        if curvature <= 16 * np.finfo(np.float64).eps * float(np.sum(direction**2)):
            break
        alpha = product / curvature
        step += alpha * direction
        residual += alpha * curved
        scaled = residual / scale
        new_product = float(np.sum(residual * scaled))
        direction, product = -scaled + new_product / product * direction, new_product
    return step if step.any() else -gradient


def out_of_fold(
    vectors: np.ndarray, row_entry: np.ndarray, full: Classifier, asked: np.ndarray, seed: int = 0
) -> tuple[list[Classifier], np.ndarray]:
    """Classifiers each fitted (starting from the `full` one) without one fold of the rows the
    confidence fit asks (`asked`), and each row's fold: a calibration question is scored by a
    model that never saw it. Rows never asked stay in every model, and there are as few folds as
    leave each model at least (1 - 1 / FOLDS) of the rows: FOLDS where every row is asked (up to
    calibration.SAMPLE), one model without the 2,000 asked of 20,000 phrasings (a few steps from
    the full fit) instead of five without 4,000 each."""
    folds = max(1, -(-FOLDS * len(asked) // max(len(vectors), 1)))  # ceil
    fold = np.random.default_rng(seed).permutation(len(vectors)) % folds
    kept = np.ones(len(vectors), dtype=bool)
    kept[asked] = False
    entries = len(full.bias)
    models = [fit(vectors, row_entry, entries, full, np.flatnonzero(kept | (fold != k))) for k in range(folds)]
    return models, fold
