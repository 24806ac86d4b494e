"""The log of questions that got no match (JSON Lines), and its summary for FAQ authors.

`faqsearch serve` appends one line per unanswered question; `faqsearch unanswered` groups them
by the nearest entry and counts repeats, so authors see which phrasings or entries to add.
Customers' questions are personal data: each is redacted before it is written (redact.py), the
file is rotated at MAX_BYTES (one previous file kept, `.1`), and lines older than the retention
period are deleted (checked at start and hourly). Only the server's user may read it (mode
0600, whatever the umask; a log from before is made so on its next append).
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .errors import InputFileError
from .index import DEFAULT_ROOT
from .inputs import require_file
from .redact import redact
from .search import Answer

DEFAULT_LOG = DEFAULT_ROOT / "unanswered.jsonl"
DEFAULT_DAYS = 30
MAX_BYTES = 10 * 2**20
PRIVATE = 0o600
PRUNE_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class Group:
    nearest: str  # the entry closest to these questions (or "-" when the index was empty)
    count: int
    questions: list[tuple[str, int]]  # most frequent first
    reasons: dict[str, int]  # why they got no match (search.Answer.no_match) -> how many, most frequent first


def record(index: str, answer: Answer) -> str:
    """One JSON line for an unanswered question, its personal data redacted."""
    best = answer.candidates[0] if answer.candidates else None
    return json.dumps(
        {
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "index": index,
            "question": redact(answer.query),
            "language": answer.language,
            "nearest": best.id if best else None,
            "best_score": best.score if best else None,
            "best_confidence": best.confidence if best else None,
            "no_match": answer.no_match,
            "did_you_mean": [hit.id for hit in answer.did_you_mean],
        },
        ensure_ascii=False,
    )


@dataclass
class Log:
    """The unanswered log of a server: appends, rotation and retention."""

    path: Path
    days: int = DEFAULT_DAYS
    max_bytes: int = MAX_BYTES
    pruned: datetime | None = None

    def append(self, index: str, answers: list[Answer]) -> None:
        now = datetime.now(timezone.utc)
        if self.pruned is None or now - self.pruned >= PRUNE_EVERY:
            self.prune(now)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8", opener=_owner_only) as log:
            log.write("".join(record(index, a) + "\n" for a in answers))
        if self.path.stat().st_size >= self.max_bytes:
            self.path.replace(self.path.with_name(self.path.name + ".1"))

    def prune(self, now: datetime) -> None:
        """Delete lines older than `days` from the log and its rotated file."""
        self.pruned = now
        oldest = (now - timedelta(days=self.days)).isoformat(timespec="seconds")
        for path in (self.path, self.path.with_name(self.path.name + ".1")):
            if not path.is_file():
                continue
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
            kept = [line for line in lines if _time(line) >= oldest]
            if len(kept) < len(lines):
                partial = path.with_name(path.name + ".pruning")
                with open(partial, "w", encoding="utf-8", opener=_owner_only) as rewritten:
                    rewritten.write("".join(kept))
                partial.replace(path)


def _owner_only(path: str, flags: int) -> int:
    """An opener for `open`: the file created readable by its owner only, or made so. Non-blocking,
    so that a FIFO put where the log was fails the write instead of stopping the server's worker."""
    descriptor = os.open(path, flags | os.O_NONBLOCK, PRIVATE)
    os.fchmod(descriptor, PRIVATE)
    return descriptor


def _time(line: str) -> str:
    """A log line's ISO time (UTC, so they sort as text); an unreadable line counts as old."""
    try:
        return str(json.loads(line)["time"])
    except (ValueError, KeyError, TypeError):
        return ""


def summarise(path: Path, index: str | None = None) -> list[Group]:
    """Unanswered questions grouped by nearest entry, largest group first; within a group,
    repeats (case and spacing ignored) are counted, most frequent first."""
    if not path.exists():
        raise InputFileError(str(path), "no log here yet; `faqsearch serve` writes it when a question gets no match")
    require_file(path, "the log `faqsearch serve --unanswered-log` writes")  # not a device or FIFO, bounded
    groups: dict[str, Counter] = defaultdict(Counter)
    reasons: dict[str, Counter] = defaultdict(Counter)
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
            nearest = item.get("nearest") or "-"
            groups[nearest][question.lower()] += 1
            reasons[nearest][item.get("no_match") or "unrecorded"] += 1  # logs from before reasons existed
    ordered = sorted(groups.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    return [
        Group(nearest, sum(c.values()), c.most_common(), dict(reasons[nearest].most_common())) for nearest, c in ordered
    ]
