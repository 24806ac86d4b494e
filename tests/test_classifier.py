"""The entry classifier: scikit-learn's LogisticRegression(C) fitted by its own float32 solver."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from faqsearch import calibration, classifier


def vectors(phrasings: int, entries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = np.r_[np.arange(entries), rng.integers(0, entries, phrasings - entries)]
    x = 0.3 * rng.standard_normal((entries, 64))[rows] + rng.standard_normal((phrasings, 64))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), rows


@pytest.mark.parametrize("entries", [2, 12])
def test_the_fit_is_sklearns_logistic_regression(entries):
    """The same objective (multinomial; one direction for two entries, as sklearn fits two
    classes): probabilities within 0.005 of sklearn's fitted to its optimum."""
    x, rows = vectors(300, entries)
    theirs = LogisticRegression(C=classifier.C, tol=1e-10, max_iter=10_000).fit(x, rows).predict_proba(x)
    ours = classifier.fit(x, rows, entries).probabilities(x)
    assert np.abs(ours - theirs).max() < 0.005


def test_an_entry_absent_from_the_rows_gets_no_vote_and_a_lone_entry_all():
    x, rows = vectors(60, 3)
    present = rows != 1
    model = classifier.fit(x[present], rows[present], 3)
    assert model.probabilities(x)[:, 1].max() < 1e-6
    lone = classifier.fit(x[rows == 2], rows[rows == 2], 3)
    assert lone.probabilities(x)[:, 2] == pytest.approx(1.0)


def test_fold_models_leave_out_only_the_rows_the_confidence_fit_asks(monkeypatch):
    """A fold model never saw the asked rows of its fold, and saw every row that is never asked;
    as few folds as leave each model at least (1 - 1 / FOLDS) of the rows (here 2 of 5: 100 of
    400 rows asked), FOLDS where every row is asked. It reads its rows in place, block by block,
    and is exactly the model fitted on a copy of them."""
    monkeypatch.setattr(classifier, "BLOCK", 64)
    x, rows = vectors(400, 10)
    asked = np.sort(np.random.default_rng(1).permutation(400)[:100])
    full = classifier.fit(x, rows, 10)
    models, fold = classifier.out_of_fold(x, rows, full, asked)
    assert len(models) == 2 and sorted(set(fold.tolist())) == [0, 1]
    for k, model in enumerate(models):
        seen = np.ones(400, dtype=bool)
        seen[asked[fold[asked] == k]] = False
        expected = classifier.fit(x[seen], rows[seen], 10, full)
        assert np.array_equal(model.probabilities(x), expected.probabilities(x))
    every, fold = classifier.out_of_fold(x, rows, full, calibration.sample(400)[0])  # up to SAMPLE rows: all asked
    assert len(every) == classifier.FOLDS
    without = classifier.fit(x[fold != 0], rows[fold != 0], 10, full)
    assert np.array_equal(every[0].probabilities(x), without.probabilities(x))
