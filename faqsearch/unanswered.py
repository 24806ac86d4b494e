"""The log of questions that got no match (JSON Lines), and its summary for FAQ authors.

`faqsearch serve` appends one line per unanswered question; `faqsearch unanswered` groups them
by the nearest entry and counts repeats, so authors see which phrasings or entries to add.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .errors import InputFileError
from .index import DEFAULT_ROOT
from .search import Answer

DEFAULT_LOG = DEFAULT_ROOT / "unanswered.jsonl"


@dataclass(frozen=True)
class Group:
    nearest: str  # the entry closest to these questions (or "-" when the index was empty)
    count: int
    questions: list[tuple[str, int]]  # most frequent first


def record(index: str, answer: Answer) -> str:
    """One JSON line for an unanswered question."""
    best = answer.candidates[0] if answer.candidates else None
    return json.dumps(
        {
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "index": index,
            "question": answer.query,
            "language": answer.language,
            "nearest": best.id if best else None,
            "best_score": best.score if best else None,
            "best_confidence": best.confidence if best else None,
        },
        ensure_ascii=False,
    )


def summarise(path: Path, index: str | None = None) -> list[Group]:
    """Unanswered questions grouped by nearest entry, largest group first; within a group,
    repeats (case and spacing ignored) are counted, most frequent first."""
    if not path.is_file():
        raise InputFileError(str(path), "no log here yet; `faqsearch serve` writes it when a question gets no match")
    groups: dict[str, Counter] = defaultdict(Counter)
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            question = " ".join(str(item["question"]).split())
        except (ValueError, KeyError, TypeError):
            message = "not a log line written by faqsearch serve; remove the line or pass the serve log"
            raise InputFileError(str(path), message, line=number) from None
        if index is None or item.get("index") == index:
            groups[item.get("nearest") or "-"][question.lower()] += 1
    ordered = sorted(groups.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    return [Group(nearest, sum(c.values()), c.most_common()) for nearest, c in ordered]
