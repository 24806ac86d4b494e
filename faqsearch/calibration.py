"""Confidence a bot can act on: the probability that the best entry is the right answer.

Raw cosines mean different things per encoder and per FAQ, so every index is calibrated when
it is built, from the FAQ itself and the shipped off-topic sample:
- each phrasing asked against the other phrasings (right when its own entry comes first);
- each phrasing asked against the other entries only (an on-domain question with no answer);
- every off-topic message, in 40 languages (a question with no answer).
A logistic regression on two features of the best entry's score, both scale-free so that
cross-lingual questions (whose cosines are all lower) are judged like same-language ones:
- its score minus the entry's hubness (how high the entry scores for off-topic messages:
  some entries attract everything), as a z-score among the question's entry scores;
- its margin over the next entry, in the same units.
Classes are weighted equally, so 0.5 means "as likely right as not"; it is the default threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HUBNESS_NEIGHBOURS = 50
THRESHOLD = 0.5
MIN_POSITIVES = 5  # fewer right answers than this (a tiny FAQ): keep the prior weights
# Weights fitted on the example FAQ (faqs/en.yaml) with e5; the fit starts from and is
# regularized towards them, so a FAQ with few phrasings still gets a sensible confidence.
PRIOR = (1.96, 0.56, -2.26)
RIDGE = 1.0


@dataclass(frozen=True)
class Calibration:
    hubness: list[float]  # per entry
    weights: list[float]  # of the two features
    bias: float
    threshold: float
    examples: dict[str, int]  # what it was fitted on

    def confidence(self, scores: np.ndarray) -> np.ndarray:
        """(questions, entries) scores -> the same shape of confidences in [0, 1]."""
        logits = features(scores, np.asarray(self.hubness)) @ np.asarray(self.weights) + self.bias
        return 1 / (1 + np.exp(-logits))


def features(scores: np.ndarray, hubness: np.ndarray) -> np.ndarray:
    """(questions, entries, 2): per entry, the hubness-corrected score and the margin over the
    best other entry, both divided by the spread of the question's scores. Entries scored
    -inf are absent (left out while calibrating)."""
    present = np.isfinite(scores)
    finite = np.where(present, scores, np.nan)
    mean = np.nanmean(finite, axis=1, keepdims=True)
    spread = np.maximum(np.nanstd(finite, axis=1, keepdims=True), 1e-3)
    ordered = -np.sort(-np.where(present, scores, -np.inf), axis=1)
    best = ordered[:, :1]
    second = ordered[:, 1:2] if scores.shape[1] > 1 else np.full_like(best, -1.0)
    second = np.where(np.isfinite(second), second, -1.0)
    other = np.where(scores >= best, second, best)
    return np.stack([(scores - hubness - mean) / spread, (scores - other) / spread], axis=-1)


def fit(phrasing_cosines: np.ndarray, members: np.ndarray, offtopic_scores: np.ndarray) -> Calibration:
    """Calibrate from the (phrasings x phrasings) cosines of an index, its (phrasings x entries)
    one-hot membership, and the (messages x entries) scores of the off-topic sample."""
    rows, row_entry = len(members), members.argmax(1)
    counts = members.sum(0)
    sums = phrasing_cosines @ members
    own = (np.arange(rows), row_entry)
    # each phrasing against the others: drop itself from its entry's mean (the entry is absent
    # if it was its only phrasing)
    left = counts[None, :] - members
    one_out = sums - members * np.diag(phrasing_cosines)[:, None]
    one_out = np.where(left > 0, one_out / np.maximum(left, 1), -np.inf)
    # each phrasing against the other entries only
    entry_out = sums / counts
    entry_out[own] = -np.inf
    neighbours = min(HUBNESS_NEIGHBOURS, len(offtopic_scores))
    hubness = -np.sort(-offtopic_scores, axis=0)[:neighbours].mean(0)

    def best_features(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        best = scores.argmax(1)
        return features(scores, hubness)[np.arange(len(scores)), best], best

    x_one_out, best = best_features(one_out)
    right = best == row_entry
    x = np.concatenate([x_one_out, best_features(entry_out)[0], best_features(offtopic_scores)[0]])
    y = np.concatenate([right, np.zeros(rows + len(offtopic_scores), dtype=bool)])
    examples = {"phrasings_right": int(right.sum()), "no_answer": int((~y).sum())}
    weights = np.array(PRIOR) if right.sum() < MIN_POSITIVES else _logistic(x, y)
    return Calibration(
        hubness=[round(float(h), 6) for h in hubness],
        weights=[round(float(w), 6) for w in weights[:2]],
        bias=round(float(weights[2]), 6),
        threshold=THRESHOLD,
        examples=examples,
    )


def _logistic(x: np.ndarray, y: np.ndarray, steps: int = 30) -> np.ndarray:
    """Weights and bias of a class-balanced logistic regression, ridge-regularized towards
    PRIOR, by Newton's method (two features: no library needed)."""
    design = np.c_[x, np.ones(len(x))]
    weight = np.where(y, len(y) / (2 * y.sum()), len(y) / (2 * (~y).sum()))
    prior = np.array(PRIOR)
    w = prior.copy()
    for _ in range(steps):
        p = 1 / (1 + np.exp(-design @ w))
        gradient = design.T @ (weight * (p - y)) + RIDGE * (w - prior)
        hessian = (design * (weight * p * (1 - p))[:, None]).T @ design + RIDGE * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w
