"""The log of questions that got no match (JSON Lines), and its summary for FAQ authors.

`faqsearch serve` appends one line per unanswered question; `faqsearch unanswered` groups them
by the nearest entry and counts repeats, so authors see which phrasings or entries to add.
Customers' questions are personal data: each is redacted before it is written (redact.py), and
the file is rotated, pruned and kept private as every log of questions is (jsonlog.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from . import jsonlog
from .errors import InputFileError
from .index import DEFAULT_ROOT
from .jsonlog import JSONLog
from .redact import redact
from .search import Answer

DEFAULT_LOG = DEFAULT_ROOT / "unanswered.jsonl"


@dataclass(frozen=True)
class Group:
    nearest: str  # the entry closest to these questions (or "-" when the index was empty)
    count: int
    questions: list[tuple[str, int]]  # most frequent first
    reasons: dict[str, int]  # why they got no match (search.Answer.no_match) -> how many, most frequent first


def record(index: str, answer: Answer) -> dict:
    """The line of an unanswered question, its personal data redacted."""
    best = answer.candidates[0] if answer.candidates else None
    return {
        "time": jsonlog.timestamp(),
        "index": index,
        "question": redact(answer.query),
        "language": answer.language,
        "nearest": best.id if best else None,
        "best_score": best.score if best else None,
        "best_confidence": best.confidence if best else None,
        "no_match": answer.no_match,
        "did_you_mean": [hit.id for hit in answer.did_you_mean],
    }


class Log(JSONLog):
    """The unanswered log of a server (jsonlog.JSONLog: appends, rotation and retention)."""

    def append(self, index: str, answers: list[Answer]) -> None:
        self.write(record(index, a) for a in answers)


def summarise(path: Path, index: str | None = None) -> list[Group]:
    """Unanswered questions grouped by nearest entry, largest group first; within a group,
    repeats (case and spacing ignored) are counted, most frequent first."""
    missing = "no log here yet; `faqsearch serve` writes it when a question gets no match"
    fix = "not a log line written by faqsearch serve; remove the line or pass the serve log"
    groups: dict[str, Counter] = defaultdict(Counter)
    reasons: dict[str, Counter] = defaultdict(Counter)
    for number, item in jsonlog.read(path, missing, "the log `faqsearch serve --unanswered-log` writes", fix):
        if "question" not in item:
            raise InputFileError(str(path), fix, line=number)
        question = " ".join(str(item["question"]).split())
        if index is None or item.get("index") == index:
            nearest = item.get("nearest") or "-"
            groups[nearest][question.lower()] += 1
            reasons[nearest][item.get("no_match") or "unrecorded"] += 1  # logs from before reasons existed
    ordered = sorted(groups.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    return [
        Group(nearest, sum(c.values()), c.most_common(), dict(reasons[nearest].most_common())) for nearest, c in ordered
    ]
