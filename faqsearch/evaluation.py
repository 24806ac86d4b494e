"""Labelled question files and the figures computed from them (accuracy@1, no-match rates).

A query file is YAML: `queries:` a list of `{question, expected, language}`, where `expected`
is an entry id or "none" (the FAQ does not answer it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from .search import FAQSearch

NONE = "none"


@dataclass(frozen=True)
class LabelledQuery:
    question: str
    expected: str
    language: str


@dataclass(frozen=True)
class LanguageFigures:
    """Figures for one language: answerable questions and unanswerable ("none") ones apart."""

    answerable: int
    correct_at_1: int  # the best candidate is the expected entry, whatever the threshold
    answered_correctly: int  # ... and it also passed the no-match threshold
    unanswerable: int
    rejected: int  # unanswerable questions that correctly got no match

    @property
    def accuracy_at_1(self) -> float:
        return self.correct_at_1 / self.answerable if self.answerable else float("nan")


def load_queries(path: str | Path) -> list[LabelledQuery]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return [LabelledQuery(str(q["question"]), str(q["expected"]), str(q["language"])) for q in data["queries"]]


def evaluate(faq: FAQSearch, queries: list[LabelledQuery]) -> dict[str, LanguageFigures]:
    """Per-language figures for `queries` asked in one batch."""
    answers = faq.ask_many([q.question for q in queries])
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for query, answer in zip(queries, answers, strict=True):
        c = counts[query.language]
        if query.expected == NONE:
            c[3] += 1
            c[4] += answer.match is None
        else:
            right = answer.candidates[0].id == query.expected
            c[0] += 1
            c[1] += right
            c[2] += right and answer.match is not None
    return {language: LanguageFigures(*c) for language, c in sorted(counts.items())}


def overall(figures: dict[str, LanguageFigures]) -> LanguageFigures:
    return LanguageFigures(
        *(sum(getattr(f, name) for f in figures.values()) for name in LanguageFigures.__dataclass_fields__)
    )
