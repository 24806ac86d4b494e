"""Confidence a bot can act on: the probability that a candidate entry is the right answer.

Every index is calibrated when it is built, through the same retrieval that answers questions,
on a bounded sample (so a build's time grows linearly with the FAQ):
- up to SAMPLE phrasings, each asked with itself left out (right when its own entry comes first),
  and again with its whole entry left out (an on-domain question the FAQ does not answer);
- the same phrasings "asked in another language": each plus the difference translation made to
  a sentence of public parallel data (offsets.py; the off-topic sample's where the encoder has
  none shipped), asked in that language (its offset removed like any question's), which lowers
  cosines as translation does;
- the off-topic sample itself, 48 messages in 40 languages (questions with no answer).
Two logistic regressions on two features of a candidate (its pooled score, and its margin over
the best other candidate), one for questions in the FAQ's language and one for the others: the
same score means more in Tamil than in English. Weights are kept non-negative and confidences
capped down the ranking, so a lower candidate never shows a higher confidence than the one
above it. Answerable and unanswerable sample questions weigh ANSWERABLE_SHARE and the rest, a
prior chosen on clinc150 and the project's evaluation set (BENCHMARKS.md). A model the FAQ cannot
support (fewer than MIN_RIGHT right answers: a tiny FAQ, or one phrasing per entry in its own
language) gets DEFAULT, and the build says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .offsets import Differences
from .offtopic import OfftopicSample
from .retrieval import RETRIEVE, Ranking, Retriever, boost, pool

THRESHOLD = 0.5
SAMPLE = 2000
MIN_RIGHT = 20
ANSWERABLE_SHARE = 0.9
# Fitted on clinc150 (20 phrasings per intent, e5, benchmarks/retrieval.py): what a model gets
# when the FAQ cannot support a fit of its own (weights of score and margin, bias).
DEFAULT = {"same_language": (4.76, 7.31, -3.81), "other_languages": (3.38, 8.9, -2.07)}
LOGIT_LIMIT = 9.2  # confidences stay within [0.0001, 0.9999]: never certain, so --min-confidence 1 rejects all
RIDGE = 1e-3  # on standardized features: keeps separable data (near-duplicate FAQs) finite
NEAR_DUPLICATE = 0.98  # centered cosine between phrasings of two entries that the build warns about


@dataclass(frozen=True)
class Model:
    weights: list[float]  # of the features
    bias: float
    fitted: bool  # False: DEFAULT, the FAQ gave too few right (or wrong) answers to fit on


@dataclass(frozen=True)
class Calibration:
    same_language: Model  # for questions in the FAQ's language
    other_languages: Model
    threshold: float
    examples: dict[str, int]  # what it was fitted on

    @classmethod
    def from_json(cls, data: dict) -> Calibration:
        models = {key: Model(**data[key]) for key in ("same_language", "other_languages")}
        return cls(**{**data, **models})

    def confidence(self, ranking: Ranking, same_language: bool) -> np.ndarray:
        """One question's candidates -> their confidences, never increasing down the ranking."""
        model = self.same_language if same_language else self.other_languages
        logits = features(ranking) @ np.asarray(model.weights) + model.bias
        confidence = 1 / (1 + np.exp(-np.clip(logits, -LOGIT_LIMIT, LOGIT_LIMIT)))
        return np.minimum.accumulate(confidence)


def features(ranking: Ranking) -> np.ndarray:
    """(candidates, 2): each candidate's score, and its margin over the best other candidate."""
    scores = ranking.scores.astype(np.float64)
    if not len(scores):
        return np.zeros((0, 2))
    others = np.full(len(scores), scores[0])
    others[0] = scores[1] if len(scores) > 1 else ranking.rest
    return np.stack([scores, scores - others], axis=1)


@dataclass
class Sample:
    """What one model is fitted on: the first candidates' features of the sample questions,
    whether each was right, and whether the question had an answer at all."""

    x: list[np.ndarray]
    right: list[bool]
    answerable: list[bool]

    def add(self, ranking: Ranking, right: bool, answerable: bool) -> None:
        if len(ranking.entries):
            self.x.append(features(ranking)[0])
            self.right.append(right)
            self.answerable.append(answerable)


def _ranked(retriever: Retriever, cosines, rows, complete: bool, vote) -> Ranking:
    ranking = pool(cosines, rows, retriever.row_entry, retriever.sizes, complete)
    return ranking if vote is None else boost(ranking, vote)


def _ask(
    retriever: Retriever,
    queries: np.ndarray,
    languages: list[str],
    rows: np.ndarray,
    folds,
    into: Sample,
) -> list:
    """Ask sampled phrasings (row numbers `rows`, vectors `queries`) with themselves left out and
    with their entry left out, the entry classifier's vote coming from the fold model that never
    saw the phrasing; returns (row, other row, other entry) for near-duplicates."""
    total = retriever.vectors.ntotal
    depth = min(RETRIEVE + 1, total)
    aligned = retriever.align(queries, languages)
    cosines, found = retriever.search(retriever.weigh(aligned, languages), depth)
    votes = None
    if folds is not None:
        models, fold = folds
        votes = np.empty((len(rows), len(retriever.sizes)), dtype=np.float32)
        for k, model in enumerate(models):
            mine = fold[rows] == k
            votes[mine] = retriever.votes(aligned[mine], model)
    duplicates = []
    for i, (row, c, r) in enumerate(zip(rows, cosines, found, strict=True)):
        entry = retriever.row_entry[row]
        vote = None if votes is None else votes[i]
        if retriever.sizes[entry] > 1:  # a lone phrasing has no other to find it by
            one_out = _ranked(retriever, c, np.where(r != row, r, -1), depth >= total, vote)
            into.add(one_out, len(one_out.entries) > 0 and one_out.entries[0] == entry, True)
        others = np.where((r >= 0) & (retriever.row_entry[np.maximum(r, 0)] != entry), r, -1)
        entry_out = _ranked(retriever, c, others, depth >= total, vote)
        into.add(entry_out, False, False)
        if len(entry_out.entries) and entry_out.scores[0] >= NEAR_DUPLICATE:
            duplicates.append((int(row), int(entry_out.rows[0]), int(entry_out.entries[0])))
    return duplicates


def calibrate(
    retriever: Retriever,
    phrasings: np.ndarray,
    language: str,
    translations: Differences,
    offtopic: OfftopicSample,
    folds=None,
    seed: int = 0,
) -> tuple[Calibration, list[tuple[int, int, int]]]:
    """Fit an index's confidence from its phrasing vectors (row order, FAQ language), what
    translation does to a vector (`translations`: differences and the language of each) and the
    off-topic sample (`folds`: the entry classifier's out-of-fold models and each row's fold,
    when the index has a classifier); also returns near-duplicate phrasings of different entries."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.permutation(len(phrasings))[:SAMPLE])
    same, other = Sample([], [], []), Sample([], [], [])
    duplicates = _ask(retriever, phrasings[rows], [language] * len(rows), rows, folds, same)
    differences, translated_into = translations
    if len(differences):
        pick = rng.integers(len(differences), size=len(rows))
        asked = [translated_into[i] for i in pick]
        _ask(retriever, phrasings[rows] + differences[pick], asked, rows, folds, other)
    for ranking, message_language in zip(
        retriever.rank(offtopic.vectors, offtopic.languages), offtopic.languages, strict=True
    ):
        (same if message_language == language else other).add(ranking, False, False)
    models = {}
    for name, examples in (("same_language", same), ("other_languages", other)):
        right = np.array(examples.right, dtype=bool)
        fitted = right.sum() >= MIN_RIGHT and (~right).sum() >= MIN_RIGHT
        weights = (
            _logistic(np.array(examples.x), right, example_weights(right, np.array(examples.answerable)))
            if fitted
            else np.array(DEFAULT[name])
        )
        models[name] = Model([round(float(w), 6) for w in weights[:-1]], round(float(weights[-1]), 6), bool(fitted))
    counts = {
        "sampled_phrasings": len(rows),
        "right": int(sum(same.right) + sum(other.right)),
        "asked": len(same.right) + len(other.right),
    }
    return Calibration(threshold=THRESHOLD, examples=counts, **models), duplicates


def example_weights(right: np.ndarray, answerable: np.ndarray) -> np.ndarray:
    """Answerable questions weigh ANSWERABLE_SHARE in all, unanswerable ones the rest."""
    if answerable.all() or not answerable.any():
        return np.full(len(right), 1 / len(right))
    return np.where(answerable, ANSWERABLE_SHARE / answerable.sum(), (1 - ANSWERABLE_SHARE) / (~answerable).sum())


def _logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weights (>= 0) and bias of a weighted, ridge-regularized logistic regression on
    standardized features, returned in the features' own units."""
    mean, scale = x.mean(0), np.maximum(x.std(0), 1e-6)
    z = (x - mean) / scale
    free = np.ones(z.shape[1], dtype=bool)
    while True:
        w = _newton(np.c_[z[:, free], np.ones(len(z))], y, weight)
        weights = np.zeros(z.shape[1])
        weights[free] = w[:-1]
        if (weights >= 0).all():
            break
        free &= weights > 0  # a negative weight would let a lower candidate outrank a higher one
    raw = weights / scale
    return np.r_[raw, w[-1] - raw @ mean]


def _newton(design: np.ndarray, y: np.ndarray, weight: np.ndarray, steps: int = 50) -> np.ndarray:
    w = np.zeros(design.shape[1])
    ridge = RIDGE * np.r_[np.ones(design.shape[1] - 1), 0.0]  # the bias is not shrunk
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(design @ w, -50, 50)))
        gradient = design.T @ (weight * (p - y)) + ridge * w
        hessian = (design * (weight * p * (1 - p))[:, None]).T @ design + np.diag(ridge) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return w
