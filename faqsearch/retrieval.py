"""Retrieve, then aggregate: how a question's vector becomes a ranking of FAQ entries.

A question is moved into the index's space (its language's offset removed, centered,
re-normalized, each encoder part scaled by its weight for that language), its RETRIEVE nearest
phrasings are fetched from FAISS (only rows of allowed entries, with a tag filter), each entry
among them scores as the mean cosine of its POOL nearest phrasings, and the entry classifier,
where the index has one, adds its vote (pooling.py). Nothing is ever compared with the whole index,
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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import faiss
import numpy as np

from . import ann
from .classifier import Classifier
from .encoders import split
from .pooling import Firsts, Pooled, Ranking, pool

RETRIEVE = 100  # phrasings fetched per question (more when they hold fewer than k entries)
BACKGROUND_NEAREST = 5  # a question's background similarity: the mean cosine of its nearest background sentences
ALIGN_ROWS = 8192  # rows of several languages aligned at a time
RANK_ROWS = 256  # questions pooled at a time: a build's fit asks thousands, and pooling's temporaries grow with them
# Questions aligned and searched at a time: a build's fit asks ~4,500-10,000, whose vectors and
# search results held ~17 MB of its peak at once; FAISS searches blocks of 512 as fast as one batch
SEARCH_ROWS = 1024


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
class LeaveOut:
    """What a build's confidence fit hides from each of its sample questions, so that a question
    made from the index's own data is asked as a stranger would ask it."""

    rows: list[np.ndarray] | None = None  # per question: phrasing rows to ignore (itself, or its whole entry)
    votes: np.ndarray | None = None  # per question: the entry classifier's vote from a model that never saw it
    background: list[np.ndarray] | None = None  # per question: background rows to ignore (its own translations)

    def part(self, questions: slice) -> LeaveOut:
        """What is hidden from the `questions` among those it was made for."""
        hidden = (self.rows, self.votes, self.background)
        return LeaveOut(*(None if per_question is None else per_question[questions] for per_question in hidden))


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


def hidden_from(rows: np.ndarray, hidden: Sequence[np.ndarray], total: int) -> np.ndarray:
    """Which of each question's found `rows` ((questions, depth); -1 none) its own `hidden` rows
    hold, for the whole batch at once (a loop of np.isin per question took the fit's 2,000
    background questions 0.07 s); none where `hidden` is empty."""
    if not any(len(h) for h in hidden):
        return np.zeros(rows.shape, dtype=bool)
    span = max(total, 1)  # (question, row) -> one number
    owner = np.repeat(np.arange(len(hidden)), [len(h) for h in hidden])
    keys = owner * span + np.concatenate(hidden).astype(np.int64)
    return (rows >= 0) & np.isin(np.arange(len(rows))[:, None] * span + rows, keys)


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
        cosines[(rows < 0) | hidden_from(rows, ignore or [], self.background.ntotal)] = -np.inf
        nearest = -np.sort(-cosines, axis=1)[:, :BACKGROUND_NEAREST]
        found = np.isfinite(nearest)
        with np.errstate(invalid="ignore"):  # a question with none left: nan
            return np.where(found, nearest, 0).sum(1) / found.sum(1)

    def near_backgrounds(
        self, queries: ann.Rows, languages: Sequence[str], ignore: list[np.ndarray] | None = None
    ) -> np.ndarray:
        """What `firsts` measures of each question's background (`near_background`, leaving out
        the rows in `ignore`), SEARCH_ROWS at a time: for a build's fit, which measures it apart
        from, and at once with, its other questions."""
        near = np.empty(queries.shape[0])
        for start in range(0, len(near), SEARCH_ROWS):
            part = slice(start, start + SEARCH_ROWS)
            prepared = self.weigh(self.align(queries[part], languages[part]), languages[part])
            near[part] = self.near_background(prepared, None if ignore is None else ignore[part])
        return near

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
        rankings: list[Ranking] = [None] * len(queries)  # type: ignore[list-item]
        for positions, pooled, near in self._ranked(queries, languages, entries, allowed, leave_out, background):
            for j, i in enumerate(positions.tolist()):
                rankings[i] = pooled.ranking(j, float(near[j]))
        return rankings

    def firsts(
        self,
        queries: ann.Rows,
        languages: Sequence[str],
        leave_out: LeaveOut | None = None,
        background: np.ndarray | None = None,
    ) -> Firsts:
        """What `rank` would give each question first, as a build's confidence fit reads it
        (`queries` read SEARCH_ROWS at a time: background sentences are made vectors only then)."""
        count = queries.shape[0]
        entries, scores, others, near = np.full(count, -1), np.full(count, np.nan), np.zeros(count), np.zeros(count)
        for positions, pooled, measured in self._ranked(queries, languages, 1, None, leave_out, background):
            entries[positions], scores[positions], others[positions] = pooled.firsts()
            near[positions] = measured
        return Firsts(entries, scores, others, near)

    def _ranked(
        self,
        queries: ann.Rows,
        languages: Sequence[str],
        entries: int,
        allowed: np.ndarray | None,
        leave_out: LeaveOut | None,
        background: np.ndarray | None,
    ) -> Iterator[tuple[np.ndarray, Pooled, np.ndarray]]:
        """The questions' pooled entries in blocks of (positions, Pooled, their background
        similarity), SEARCH_ROWS questions aligned and searched at a time; a question searched
        again deeper for want of `entries` entries comes again later, which replaces it."""
        leave_out = leave_out or LeaveOut()
        depth = RETRIEVE + max((len(h) for h in leave_out.rows or ()), default=0)  # the whole batch's, as one search
        for start in range(0, queries.shape[0], SEARCH_ROWS):
            part = slice(start, start + SEARCH_ROWS)
            hidden = leave_out.part(part)
            aligned = self.align(queries[part], languages[part])
            prepared = self.weigh(aligned, languages[part])
            near = self.near_background(prepared, hidden.background) if background is None else background[part]
            probabilities = self.votes(aligned) if hidden.votes is None else hidden.votes
            for positions, pooled in self._blocks(prepared, depth, entries, allowed, hidden.rows, probabilities):
                yield start + positions, pooled, near[positions]

    def _blocks(
        self,
        prepared: np.ndarray,
        depth: int,
        entries: int,
        allowed: np.ndarray | None,
        hidden: list[np.ndarray] | None,
        probabilities: np.ndarray | None,
    ) -> Iterator[tuple[np.ndarray, Pooled]]:
        candidates = self.vectors.ntotal if allowed is None else int(allowed.sum())
        parameters = (
            self._parameters
            if allowed is None
            else ann.search_parameters(self.index_type, np.packbits(allowed, bitorder="little"))
        )
        hidden = hidden or [np.zeros(0, np.int64)] * len(prepared)
        depth = min(depth, candidates)
        todo = np.arange(len(prepared))
        while len(todo):
            cosines, rows = self.search(prepared[todo], depth, parameters)
            complete = depth >= candidates
            again = []
            for start in range(0, len(todo), RANK_ROWS):  # pooling's temporaries grow with the questions
                block = slice(start, start + RANK_ROWS)
                pooled = self._pooled(todo[block], cosines[block], rows[block], hidden, probabilities, complete)
                yield todo[block], pooled
                if not complete:
                    again.append(todo[block][pooled.counts() < entries])
            todo, depth = np.concatenate(again or [np.zeros(0, int)]), min(depth * 4, candidates)

    def _pooled(
        self,
        questions: np.ndarray,
        cosines: np.ndarray,
        rows: np.ndarray,
        hidden: list[np.ndarray],
        probabilities: np.ndarray | None,
        complete: bool,
    ) -> Pooled:
        """`pool` for the retrieved `rows` of `questions` (positions among the ranked ones), not
        counting the rows each one's `hidden` holds."""
        mine = [hidden[i] for i in questions]
        counts = None
        if any(len(h) for h in mine):
            rows = np.where(hidden_from(rows, mine, self.vectors.ntotal), -1, rows)
            owner = np.repeat(np.arange(len(questions)), [len(h) for h in mine])
            flat = np.concatenate(mine).astype(np.int64)
            keys, per_entry = np.unique(owner * len(self.sizes) + self.row_entry[flat], return_counts=True)
            counts = (keys, per_entry)
        votes = None if probabilities is None else probabilities[questions]
        return pool(cosines, rows, self.row_entry, self.sizes, complete, counts, votes)
