"""Aggregate: how a question's retrieved phrasings become its ranking of FAQ entries
(retrieval.py retrieves them). Each entry scores as the mean cosine of its POOL nearest
phrasings, plus the entry classifier's vote where the index has one; a batch is pooled at once
in array operations, and kept as flat arrays (Pooled) from which a question's Ranking, or only
its first candidate (Firsts: all a build's confidence fit reads), is taken.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import classifier

POOL = 3  # an entry scores as the mean cosine of its POOL nearest phrasings


@dataclass(frozen=True)
class Ranking:
    """One question's entries, best first."""

    entries: np.ndarray  # entry numbers
    scores: np.ndarray  # pooled cosines, descending
    rows: np.ndarray  # each entry's nearest phrasing (row number)
    rest: float  # an upper bound on the score of any entry not listed
    retrieved: np.ndarray  # the retrieved phrasings' cosines, descending
    background: float = float("nan")  # mean cosine of the nearest background sentences (nan: the index has none)


@dataclass(frozen=True)
class Firsts:
    """What a build's confidence fit reads of each question's ranking, as arrays over a batch:
    thousands of Ranking objects took it ~0.15 s and ~3 KB a question (12 MB at 2,000 phrasings)."""

    entries: np.ndarray  # its first entry (-1: none found)
    scores: np.ndarray  # that entry's score (float64)
    others: np.ndarray  # the best other candidate's: the second entry's score, or `rest` without one
    background: np.ndarray  # its background similarity (nan: the index has none)

    def take(self, rows: np.ndarray) -> Firsts:
        return Firsts(self.entries[rows], self.scores[rows], self.others[rows], self.background[rows])


@dataclass(frozen=True)
class Pooled:
    """`pool`'s rankings of a batch as flat arrays: question i's entries, best first, are
    [bounds[i], bounds[i + 1])."""

    entries: np.ndarray
    scores: np.ndarray  # float32
    rows: np.ndarray  # each entry's nearest phrasing
    bounds: np.ndarray
    rest: np.ndarray  # per question
    cosines: np.ndarray  # (questions, depth) as retrieved
    found: np.ndarray

    def ranking(self, i: int, background: float = float("nan")) -> Ranking:
        mine, retrieved = slice(self.bounds[i], self.bounds[i + 1]), self.cosines[i][self.found[i]]
        entries, scores, rows = self.entries[mine], self.scores[mine], self.rows[mine]
        return Ranking(entries, scores, rows, float(self.rest[i]), retrieved, background)

    def counts(self) -> np.ndarray:
        return np.diff(self.bounds)

    def firsts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each question's first entry (-1: none) and its score, and the best other candidate's
        score (the second entry's, or `rest`): Firsts' fields for this batch."""
        counts, start = self.counts(), self.bounds[:-1]
        if not len(self.entries):  # no question found any entry
            return np.full(len(counts), -1), np.full(len(counts), np.nan), self.rest
        first, second = np.minimum(start, len(self.entries) - 1), np.minimum(start + 1, len(self.entries) - 1)
        scores = self.scores.astype(np.float64)
        return (
            np.where(counts > 0, self.entries[first], -1),
            np.where(counts > 0, scores[first], np.nan),
            np.where(counts > 1, scores[second], self.rest),
        )


def pool(
    cosines: np.ndarray,
    rows: np.ndarray,
    row_entry: np.ndarray,
    sizes: np.ndarray,
    complete: bool,
    hidden: tuple[np.ndarray, np.ndarray] | None = None,
    probabilities: np.ndarray | None = None,
) -> Pooled:
    """Aggregate each question's retrieved phrasings ((questions, depth) cosines descending; row
    -1 = none) into entry scores. An entry with fewer than POOL of its phrasings retrieved counts
    the missing ones at the lowest retrieved cosine, which bounds them from above (unless
    `complete`: every candidate row was retrieved, so none is missing); phrasings `hidden` from a
    question (sorted keys question x entries + entry, and how many of that entry's it hides) are
    not missing, so an entry of 3 asked with one left out scores as the mean of its other 2, as
    an entry of 2 would. With `probabilities` (questions, entries), each entry also gets the
    classifier's vote (classifier.WEIGHT x its probability) and the entries are re-ranked. Ties
    keep the order of the entries' nearest phrasings. Array operations over the whole batch: a
    build pools ~10,000 sample questions, which a loop per question took seconds to."""
    questions, depth = rows.shape
    found = rows >= 0
    n_entries = len(sizes)
    entry = np.where(found, row_entry[np.maximum(rows, 0)], n_entries)  # n_entries: none, sorted last
    order = np.argsort(entry, axis=1, kind="stable")  # each entry's rows together, nearest first
    grid = np.arange(questions)[:, None]
    ordered = entry[grid, order].ravel()
    ordered_cosines = cosines[grid, order].astype(np.float64).ravel()
    question = np.repeat(np.arange(questions), depth)
    starts = np.flatnonzero(np.concatenate(([True], (ordered[1:] != ordered[:-1]) | (question[1:] != question[:-1]))))
    ends = np.append(starts[1:], len(ordered))
    real = ordered[starts] < n_entries
    starts, ends = starts[real], ends[real]
    taken = np.minimum(ends - starts, POOL)
    total = ordered_cosines[starts]  # summed in order, as a Python sum of the POOL nearest would
    for k in range(1, POOL):
        total = total + np.where(taken > k, ordered_cosines[np.minimum(starts + k, len(ordered) - 1)], 0.0)
    group_question, group_entry = question[starts], ordered[starts]
    last = depth - 1 - np.argmax(found[:, ::-1], axis=1)
    floor = np.where(found.any(axis=1) & (not complete), cosines[np.arange(questions), last], 0.0).astype(np.float64)
    hides = np.zeros(len(starts), dtype=np.int64)
    if hidden is not None and len(hidden[0]):
        keys, counts = hidden
        key = group_question * n_entries + group_entry
        at = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
        hides = np.where(keys[at] == key, counts[at], 0)
    need = np.minimum(sizes[group_entry] - hides, POOL)
    scores = (total + (need - taken) * floor[group_question]) / need
    first = order.ravel()[starts]  # each entry's nearest phrasing, by position
    pooled = scores.astype(np.float32)
    sort_keys = [first, -scores, group_question]  # np.lexsort: the last key first
    if probabilities is not None:  # re-ranked by the vote, ties in the pooled order
        pooled = pooled + classifier.WEIGHT * probabilities[group_question, group_entry]
        sort_keys.insert(2, -pooled)
    ranked = np.lexsort(sort_keys)
    bounds = np.searchsorted(group_question[ranked], np.arange(questions + 1))
    nearest = rows[group_question, first]
    return Pooled(group_entry[ranked], pooled[ranked], nearest[ranked], bounds, floor, cosines, found)
