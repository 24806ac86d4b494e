"""Retrieve, then aggregate: how a question's vector becomes a ranking of FAQ entries.

A question is moved into the index's space (its language's offset removed, centered,
re-normalized, each encoder part scaled by its weight for that language), its RETRIEVE nearest
phrasings are fetched from FAISS (only rows of allowed entries, with a tag filter), each entry
among them scores as the mean cosine of its POOL nearest phrasings, and the entry classifier, where
the index has one, adds its vote (classifier.py). Nothing is ever compared with the whole index,
so a question costs about the same at 1k and 1M phrasings (an approximate index above
ann.FLAT_UP_TO). The same question is also compared with the index's background sentences
(background.py): its mean cosine to the BACKGROUND_NEAREST nearest is evidence for confidence of
how ordinary, rather than FAQ-like, it is (cohort normalization).

The rule was chosen on public intent sets, a cross-lingual Tatoeba set and the project's own
question files (benchmarks/retrieval.py, BENCHMARKS.md): the mean of the 3 nearest plus the
classifier's vote ranks above the single nearest phrasing and above the mean over all phrasings,
which punished entries with many varied alternatives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import faiss
import numpy as np

from . import ann, classifier
from .classifier import Classifier
from .encoders import split

RETRIEVE = 100  # phrasings fetched per question (more when they hold fewer than k entries)
POOL = 3  # an entry scores as the mean cosine of its POOL nearest phrasings
BACKGROUND_NEAREST = 5  # a question's background similarity: the mean cosine of its nearest background sentences
ALIGN_ROWS = 8192  # rows of several languages aligned at a time
RANK_ROWS = 256  # questions pooled at a time: a build's fit asks thousands, and pooling's temporaries grow with them


@dataclass(frozen=True)
class PartInfo:
    """One encoder's block of the vectors (a fused encoder's index has one per part)."""

    name: str
    dim: int
    weight: float
    languages: list[str] | None  # the languages it reads (None: all); it sits out questions in others


@dataclass
class Alignment:
    """One part's centre (the mean phrasing vector) and per-language offsets."""

    center: np.ndarray
    offsets: dict[str, np.ndarray]


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
class LeaveOut:
    """What a build's confidence fit hides from each of its sample questions, so that a question
    made from the index's own data is asked as a stranger would ask it."""

    rows: list[np.ndarray] | None = None  # per question: phrasing rows to ignore (itself, or its whole entry)
    votes: np.ndarray | None = None  # per question: the entry classifier's vote from a model that never saw it
    background: list[np.ndarray] | None = None  # per question: background rows to ignore (its own translations)


def part_weights(parts: Sequence[PartInfo], language: str) -> np.ndarray:
    """Each part's share of a question's score: the weights of the parts that read its
    language, scaled to sum to 1 (every part's, if none reads it)."""
    reads = np.array([p.languages is None or language in p.languages for p in parts])
    weights = np.array([p.weight for p in parts]) * (reads if reads.any() else 1)
    return weights / weights.sum()


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def align(
    vectors: np.ndarray, languages: Sequence[str], parts: Sequence[PartInfo], alignments: Sequence[Alignment]
) -> np.ndarray:
    """(texts, dim) encoder vectors in `languages` -> the index's space: per part, the language
    offset removed, centered and re-normalized. Questions and phrasings alike: a phrasing a
    customer wrote in Spanish sits where its meaning does, as a Spanish question does."""
    position = {lang: i for i, lang in enumerate(dict.fromkeys(languages))}  # each offset once, not once per row
    blocks = []
    for block, alignment in zip(split(vectors, [p.dim for p in parts]), alignments, strict=True):
        offsets = np.stack([alignment.offsets.get(lang, np.zeros_like(alignment.center)) for lang in position] or [0])
        if len(position) > 1:  # a block of rows at a time: the rows' offsets side by side would be another copy
            which = np.fromiter((position[lang] for lang in languages), np.intp, len(languages))
            shifted = np.empty(block.shape, np.result_type(block, offsets))
            for start in range(0, len(block), ALIGN_ROWS):
                rows = slice(start, start + ALIGN_ROWS)
                np.subtract(block[rows], offsets[which[rows]], out=shifted[rows])
        else:
            shifted = block - offsets  # in place from here: temporaries took 100,000 phrasings 0.5 s more
        shifted /= np.maximum(np.linalg.norm(shifted, axis=1, keepdims=True), 1e-12)
        shifted -= alignment.center
        shifted /= np.maximum(np.linalg.norm(shifted, axis=1, keepdims=True), 1e-12)
        blocks.append(shifted)
    return np.ascontiguousarray(blocks[0] if len(blocks) == 1 else np.hstack(blocks), dtype=np.float32)


def index_vectors(
    vectors: np.ndarray, languages: Sequence[str], parts: Sequence[PartInfo], alignments: Sequence[Alignment]
) -> np.ndarray:
    """What FAISS stores for (phrasings, dim) encoder vectors: aligned (`align`), and the block of
    a part that does not read a phrasing's language zeroed (as a question in that language weighs
    it 0), so a weighted query's inner product is the weighted sum of the cosines that count."""
    aligned = align(vectors, languages, parts, alignments)
    if len(parts) > 1:
        reads = {lang: part_weights(parts, lang) > 0 for lang in set(languages)}
        aligned *= np.repeat(np.array([reads[lang] for lang in languages], dtype=np.float32), [p.dim for p in parts], 1)
    return aligned


def pool(
    cosines: np.ndarray,
    rows: np.ndarray,
    row_entry: np.ndarray,
    sizes: np.ndarray,
    complete: bool,
    hidden: tuple[np.ndarray, np.ndarray] | None = None,
    probabilities: np.ndarray | None = None,
) -> list[Ranking]:
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
    rankings = []
    for i in range(questions):
        mine = ranked[bounds[i] : bounds[i + 1]]
        rankings.append(Ranking(group_entry[mine], pooled[mine], nearest[mine], float(floor[i]), cosines[i][found[i]]))
    return rankings


class Retriever:
    """The phrasings' FAISS index plus what is needed to query it and pool its answers."""

    def __init__(
        self,
        vectors: faiss.Index,
        index_type: ann.IndexType,
        parts: list[PartInfo],
        alignments: list[Alignment],
        row_entry: np.ndarray,
        entry_classifier: Classifier | None = None,
        background: faiss.Index | None = None,
    ):
        self.vectors, self.index_type, self.classifier = vectors, index_type, entry_classifier
        self.parts, self.alignments, self.row_entry = parts, alignments, row_entry
        self.background = background  # the background sentences, stored like the phrasings
        self.sizes = np.bincount(row_entry)
        self._parameters = ann.search_parameters(index_type, None)

    def align(self, queries: np.ndarray, languages: Sequence[str]) -> np.ndarray:
        """(questions, dim) encoder vectors -> the index's space (`align`)."""
        return align(queries, languages, self.parts, self.alignments)

    def weigh(self, aligned: np.ndarray, languages: Sequence[str]) -> np.ndarray:
        """Aligned questions -> FAISS queries: each part scaled by its weight for the language,
        so an inner product is the weighted sum of the parts' cosines."""
        if len(self.parts) == 1:  # its weight is 1 in every language: the aligned vectors are the queries
            return np.ascontiguousarray(aligned, dtype=np.float32)
        per_language = {language: part_weights(self.parts, language) for language in set(languages)}
        weights = np.array([per_language[language] for language in languages], dtype=np.float32)
        weights = weights.reshape(len(languages), len(self.parts))  # (0, parts) when none is asked
        dims = [p.dim for p in self.parts]
        return np.ascontiguousarray(np.repeat(weights, dims, axis=1) * aligned, dtype=np.float32)

    def search(self, prepared: np.ndarray, depth: int, parameters=None) -> tuple[np.ndarray, np.ndarray]:
        """The `depth` nearest rows of each prepared query: (cosines, rows), rows -1 past the end."""
        return self.vectors.search(prepared, max(depth, 1), params=parameters or self._parameters)

    def near_background(self, prepared: np.ndarray, ignore: list[np.ndarray] | None = None) -> np.ndarray:
        """Each prepared query's mean cosine to its BACKGROUND_NEAREST nearest background
        sentences, leaving out the rows in `ignore` (nan without a background)."""
        if self.background is None or self.background.ntotal == 0:
            return np.full(len(prepared), np.nan)
        extra = max((len(rows) for rows in ignore), default=0) if ignore else 0
        depth = min(BACKGROUND_NEAREST + extra, self.background.ntotal)
        cosines, rows = self.background.search(prepared, depth)
        cosines = np.where(rows >= 0, cosines, -np.inf)
        for i, hidden in enumerate(ignore or ()):
            cosines[i, np.isin(rows[i], hidden)] = -np.inf
        nearest = -np.sort(-cosines, axis=1)[:, :BACKGROUND_NEAREST]
        found = np.isfinite(nearest)
        with np.errstate(invalid="ignore"):  # a question with none left: nan
            return np.where(found, nearest, 0).sum(1) / found.sum(1)

    def votes(self, aligned: np.ndarray, model: Classifier | None = None) -> np.ndarray | None:
        """The entry classifier's probabilities for aligned questions (None without one). It reads
        the first part, the one that reads every language, so a fused index votes as its e5 would."""
        model = model or self.classifier
        return None if model is None else model.probabilities(aligned[:, : self.parts[0].dim])

    def rank(
        self,
        queries: np.ndarray,
        languages: Sequence[str],
        entries: int = 1,
        allowed: np.ndarray | None = None,
        leave_out: LeaveOut | None = None,
        background: np.ndarray | None = None,
    ) -> list[Ranking]:
        """Each question's ranking (encoder vectors in, with their languages), holding at least
        `entries` entries where that many can be found; `allowed` (a boolean mask over rows)
        restricts the search to those rows; `leave_out` hides rows, votes and background sentences
        per question (the build's confidence fit); `background`: the questions' background
        similarity where already measured (the fit asks each sampled phrasing twice)."""
        if not len(queries):
            return []
        leave_out = leave_out or LeaveOut()
        aligned = self.align(queries, languages)
        prepared = self.weigh(aligned, languages)
        candidates = self.vectors.ntotal if allowed is None else int(allowed.sum())
        parameters = (
            self._parameters
            if allowed is None
            else ann.search_parameters(self.index_type, np.packbits(allowed, bitorder="little"))
        )
        probabilities = self.votes(aligned) if leave_out.votes is None else leave_out.votes
        if background is None:
            background = self.near_background(prepared, leave_out.background)
        hidden = leave_out.rows or [np.zeros(0, np.int64)] * len(prepared)
        depth = min(RETRIEVE + max((len(h) for h in hidden), default=0), candidates)
        todo = np.arange(len(prepared))
        rankings: list[Ranking] = [None] * len(prepared)  # type: ignore[list-item]
        while len(todo):
            cosines, rows = self.search(prepared[todo], depth, parameters)
            complete = depth >= candidates
            pooled = []
            for start in range(0, len(todo), RANK_ROWS):  # pooling's temporaries grow with the questions
                block = slice(start, start + RANK_ROWS)
                pooled += self._pooled(todo[block], cosines[block], rows[block], hidden, probabilities, complete)
            again = []
            for i, ranking in zip(todo, pooled, strict=True):
                rankings[i] = replace(ranking, background=float(background[i]))
                if len(ranking.entries) < entries and not complete:
                    again.append(i)
            todo, depth = np.array(again, dtype=int), min(depth * 4, candidates)
        return rankings

    def _pooled(
        self,
        questions: np.ndarray,
        cosines: np.ndarray,
        rows: np.ndarray,
        hidden: list[np.ndarray],
        probabilities: np.ndarray | None,
        complete: bool,
    ) -> list[Ranking]:
        """`pool` for the retrieved `rows` of `questions` (positions among the ranked ones), not
        counting the rows each one's `hidden` holds."""
        mine = [hidden[i] for i in questions]
        counts = None
        if any(len(h) for h in mine):
            owner = np.repeat(np.arange(len(questions)), [len(h) for h in mine])
            flat = np.concatenate(mine).astype(np.int64)
            span = max(self.vectors.ntotal, 1)  # (question, row) -> one number
            rows = np.where(np.isin(np.arange(len(questions))[:, None] * span + rows, owner * span + flat), -1, rows)
            keys, per_entry = np.unique(owner * len(self.sizes) + self.row_entry[flat], return_counts=True)
            counts = (keys, per_entry)
        votes = None if probabilities is None else probabilities[questions]
        return pool(cosines, rows, self.row_entry, self.sizes, complete, counts, votes)
