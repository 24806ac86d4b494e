"""Labelled question files and the answer-quality figures computed from them (`faqsearch eval`).

A question file is YAML: `queries:` a list of `{question, expected, language}`, where
`expected` is an entry id or "none" (the FAQ does not answer it) and `language` (ISO 639-1)
is optional: questions without one are grouped under the language detected for them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputFileError
from .faqs import LANGUAGE_PATTERN
from .search import FAQSearch
from .yamlfile import Checker, compose

NONE = "none"
RANKS = 5  # MRR@5
CALIBRATION_BINS = 10
CURVE_STEP = 0.05  # thresholds of the printed trade-off curve
QUERY_FIELDS = {"question": True, "expected": True, "language": False}


@dataclass(frozen=True)
class LabelledQuery:
    question: str
    expected: str
    language: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Outcome:
    """What happened to one labelled question."""

    query: LabelledQuery
    language: str  # as labelled, else as detected
    returned: str  # the best candidate's id
    confidence: float  # of the best candidate
    matched: bool  # the best candidate passed the no-match threshold
    rank: int | None  # 1-based rank of the expected entry among the first RANKS, if there
    no_match: str | None  # why not matched (search.Answer.no_match)

    @property
    def answerable(self) -> bool:
        return self.query.expected != NONE

    @property
    def correct(self) -> bool:
        """The best candidate is the right answer (never, for an unanswerable question)."""
        return self.rank == 1


@dataclass(frozen=True)
class Figures:
    """Figures for a group of questions, answerable and unanswerable ("none") ones apart."""

    questions: int
    answerable: int
    accuracy_at_1: float  # the best candidate is the expected entry, whatever the threshold
    mrr_at_5: float
    answered: float  # share of answerable questions that passed the no-match threshold
    answered_correctly: float  # ... and got the expected entry
    unanswerable: int
    rejected: float  # share of unanswerable questions that correctly got no match

    @classmethod
    def of(cls, outcomes: list[Outcome]) -> Figures:
        answerable = [o for o in outcomes if o.answerable]
        unanswerable = [o for o in outcomes if not o.answerable]
        return cls(
            questions=len(outcomes),
            answerable=len(answerable),
            accuracy_at_1=_share(answerable, lambda o: o.correct),
            mrr_at_5=_mean([1 / o.rank if o.rank else 0.0 for o in answerable]),
            answered=_share(answerable, lambda o: o.matched),
            answered_correctly=_share(answerable, lambda o: o.matched and o.correct),
            unanswerable=len(unanswerable),
            rejected=_share(unanswerable, lambda o: not o.matched),
        )


@dataclass(frozen=True)
class Confusion:
    expected: str
    returned: str
    count: int
    example: str


@dataclass(frozen=True)
class CalibrationBin:
    """Questions whose best candidate had a confidence in [low, high): how often it was right."""

    low: float
    high: float
    questions: int
    mean_confidence: float
    accuracy: float


@dataclass(frozen=True)
class Operating:
    """What one no-match threshold does to the labelled questions."""

    threshold: float
    rejected: float  # share of unanswerable questions given no match (nan: none in the file)
    answered: float  # share of answerable questions given a match
    answered_right: float  # ... and the expected entry


@dataclass(frozen=True)
class Report:
    per_language: dict[str, Figures]
    overall: Figures
    confusions: list[Confusion]
    calibration: list[CalibrationBin]
    expected_calibration_error: float
    no_match_precision: float  # of the questions given no match, the share that were unanswerable
    no_match_recall: float  # of the unanswerable questions, the share given no match
    curve: list[Operating]  # the trade-off over thresholds 0, CURVE_STEP, ..., 1
    outcomes: list[Outcome] = field(repr=False, default_factory=list)

    def to_dict(self) -> dict:
        """Plain data for JSON; a figure with no questions behind it (NaN) becomes None."""
        data = asdict(self)
        del data["outcomes"]
        return _nan_to_none(data)


@dataclass(frozen=True)
class Gain:
    """One language's figures before and after a change (another index, or the previous version)."""

    language: str
    answerable: int
    accuracy_before: float
    accuracy_after: float
    answered_right_before: float
    answered_right_after: float


def gains(before: Report, after: Report) -> list[Gain]:
    """Per language (and overall, last), accuracy@1 and answered-right before and after: what
    labels written into the FAQ (`faqsearch review --apply`) changed, language by language."""
    rows = [(lang, f, before.per_language.get(lang)) for lang, f in after.per_language.items()]
    rows.append(("overall", after.overall, before.overall))
    return [
        Gain(lang, f.answerable, b.accuracy_at_1, f.accuracy_at_1, b.answered_correctly, f.answered_correctly)
        for lang, f, b in rows
        if b is not None
    ]


def load_queries(path: str | Path, entry_ids: set[str] | None = None) -> list[LabelledQuery]:
    """Read and validate a question file; with `entry_ids`, every `expected` must be one of them."""
    path = Path(path)
    root = compose(path, "a question file with a `queries:` list")
    checker = Checker(str(path))
    nodes = checker.sequence(checker.mapping(root, "(top level)", {"queries": True})["queries"], "queries")
    if not nodes:
        raise InputFileError(str(path), "`queries` is empty; add labelled questions")
    queries = []
    for i, node in enumerate(nodes):
        name = f"queries[{i}]"
        fields = checker.mapping(node, name, QUERY_FIELDS)
        expected = checker.string(fields["expected"], f"{name}.expected")
        if entry_ids is not None and expected != NONE and expected not in entry_ids:
            checker.fail(
                fields["expected"], f"{name}.expected", f"no entry `{expected}` in the index; use an id or `none`"
            )
        language = checker.string(fields["language"], f"{name}.language") if "language" in fields else None
        if language is not None and not LANGUAGE_PATTERN.match(language):
            checker.fail(fields["language"], f"{name}.language", "must be an ISO 639-1 code such as `de`")
        question = checker.string(fields["question"], f"{name}.question")
        queries.append(LabelledQuery(question, expected, language, node.start_mark.line + 1))
    return queries


def evaluate(faq: FAQSearch, queries: list[LabelledQuery], confusions: int = 10) -> Report:
    """Ask every question in one batch and compute the figures per language and overall."""
    answers = faq.ask_many([q.question for q in queries], k=min(RANKS, len(faq.index.entries)))
    outcomes = []
    for query, answer in zip(queries, answers, strict=True):
        ranked = [hit.id for hit in answer.candidates]
        best = answer.candidates[0]
        rank = ranked.index(query.expected) + 1 if query.expected in ranked else None
        language = query.language or answer.language
        outcomes.append(
            Outcome(query, language, best.id, best.confidence, answer.match is not None, rank, answer.no_match)
        )
    by_language: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_language.setdefault(outcome.language, []).append(outcome)
    no_match = [o for o in outcomes if not o.matched]
    bins, ece = reliability(outcomes)
    return Report(
        per_language={language: Figures.of(group) for language, group in sorted(by_language.items())},
        overall=Figures.of(outcomes),
        confusions=_confusions(outcomes, confusions),
        calibration=bins,
        expected_calibration_error=ece,
        no_match_precision=_share(no_match, lambda o: not o.answerable),
        no_match_recall=_share([o for o in outcomes if not o.answerable], lambda o: not o.matched),
        curve=[operating(outcomes, t) for t in np.round(np.arange(0, 1 + CURVE_STEP / 2, CURVE_STEP), 2)],
        outcomes=outcomes,
    )


def operating(outcomes: list[Outcome], threshold: float) -> Operating:
    """The shares rejected, answered and answered right if no match were given below `threshold`."""
    none = np.array([o.confidence for o in outcomes if not o.answerable])
    answerable = [o for o in outcomes if o.answerable]
    confidence = np.array([o.confidence for o in answerable])
    right = np.array([o.correct for o in answerable], dtype=bool)
    return Operating(
        float(threshold),
        round(float((none < threshold).mean()), 4) if len(none) else float("nan"),
        round(float((confidence >= threshold).mean()), 4) if len(confidence) else float("nan"),
        round(float(((confidence >= threshold) & right).mean()), 4) if len(confidence) else float("nan"),
    )


def threshold_for(outcomes: list[Outcome], rejected: float) -> Operating | None:
    """The lowest threshold (the most answers) at which at least `rejected` of the unanswerable
    questions get no match; None without unanswerable questions."""
    none = np.sort([o.confidence for o in outcomes if not o.answerable])
    if not len(none):
        return None
    needed = int(np.ceil(rejected * len(none) - 1e-9))
    if needed == 0:
        return operating(outcomes, 0.0)
    # the needed-th lowest confidence (confidences have 4 decimals) must fall below the threshold
    return operating(outcomes, min(1.0, round(float(none[needed - 1]) + 1e-4, 4)))


def _confusions(outcomes: list[Outcome], top: int) -> list[Confusion]:
    """The most frequent (expected, returned instead) pairs among wrong best candidates."""
    wrong = [o for o in outcomes if not o.correct and (o.answerable or o.matched)]
    counts = Counter((o.query.expected, o.returned) for o in wrong)
    examples = {}
    for o in wrong:
        examples.setdefault((o.query.expected, o.returned), o.query.question)
    return [Confusion(e, r, n, examples[(e, r)]) for (e, r), n in counts.most_common(top)]


def reliability(outcomes: list[Outcome]) -> tuple[list[CalibrationBin], float]:
    """Reliability table of the best candidate's confidence against its being right, and the
    expected calibration error (bin-size-weighted mean |accuracy - confidence|)."""
    return calibration_bins(np.array([o.confidence for o in outcomes]), np.array([o.correct for o in outcomes]))


def calibration_bins(confidence: np.ndarray, correct: np.ndarray) -> tuple[list[CalibrationBin], float]:
    """`reliability` of confidences and whether each was right, as arrays."""
    bins, ece = [], 0.0
    for b in range(CALIBRATION_BINS):
        low, high = b / CALIBRATION_BINS, (b + 1) / CALIBRATION_BINS
        members = ((low <= confidence) & (confidence < high)) | ((b == CALIBRATION_BINS - 1) & (confidence == 1))
        if not members.any():
            continue
        mean = _mean(confidence[members].tolist())
        accuracy = round(float(correct[members].sum()) / int(members.sum()), 4)
        bins.append(CalibrationBin(low, high, int(members.sum()), mean, accuracy))
        ece += members.sum() / len(confidence) * abs(accuracy - mean)
    return bins, round(float(ece), 4)


def _nan_to_none(value):
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return None if isinstance(value, float) and value != value else value


def _share(items: list, predicate) -> float:
    return round(sum(map(predicate, items)) / len(items), 4) if items else float("nan")


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else float("nan")
