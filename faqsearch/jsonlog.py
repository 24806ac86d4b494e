"""The logs that hold customers' questions (JSON Lines): the unanswered log (unanswered.py) and the
question log (questionlog.py) are appended, rotated, pruned, kept private and read back here, once.

Customers' questions are personal data: each log is rotated at MAX_BYTES (one previous file kept,
`.1`), and its lines older than the retention period are deleted (checked at the first append and
hourly). Only the writer's user may read it (mode 0600, whatever the umask; a log from before is
made so on its next append). A FIFO put where a log was fails the append instead of blocking the
writer (a server's worker thread) forever.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .errors import InputFileError
from .inputs import require_file

DEFAULT_DAYS = 30
MAX_BYTES = 10 * 2**20
PRIVATE = 0o600
PRUNE_EVERY = timedelta(hours=1)


def timestamp() -> str:
    """A line's `time`: ISO 8601 in UTC to the second, so that times sort as text."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def rotated(path: Path) -> Path:
    """The previous file of the log at `path`, kept when it was rotated."""
    return path.with_name(path.name + ".1")


@dataclass
class JSONLog:
    """A log file of JSON lines: appends, rotation and retention."""

    path: Path
    days: int = DEFAULT_DAYS
    max_bytes: int = MAX_BYTES
    pruned: datetime | None = None

    def write(self, records: Iterable[dict]) -> None:
        """Append one line per record (one write for all), pruning first when an hour has passed."""
        text = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
        if not text:
            return
        now = datetime.now(timezone.utc)
        if self.pruned is None or now - self.pruned >= PRUNE_EVERY:
            self.prune(now)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8", opener=_owner_only) as log:
            log.write(text)
        if self.path.stat().st_size >= self.max_bytes:
            self.path.replace(rotated(self.path))

    def prune(self, now: datetime) -> None:
        """Delete lines older than `days` from the log and its rotated file."""
        self.pruned = now
        oldest = (now - timedelta(days=self.days)).isoformat(timespec="seconds")
        for path in (self.path, rotated(self.path)):
            if not path.is_file():
                continue
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
            kept = [line for line in lines if _time(line) >= oldest]
            if len(kept) < len(lines):
                partial = path.with_name(path.name + ".pruning")
                with open(partial, "w", encoding="utf-8", opener=_owner_only) as rewritten:
                    rewritten.write("".join(kept))
                partial.replace(path)


def read(path: Path, missing: str, what: str, fix: str) -> Iterator[tuple[int, dict]]:
    """(line number, object) of each line of a log, blank lines skipped. One-line errors: no file
    (`missing` says what writes it), not a regular file (`what` it should be), and a line that is
    not a JSON object (`fix` says what to do)."""
    if not path.exists():
        raise InputFileError(str(path), missing)
    require_file(path, what)  # not a device or FIFO, bounded
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            item = None
        if not isinstance(item, dict):
            raise InputFileError(str(path), fix, line=number)
        yield number, item


def _owner_only(path: str, flags: int) -> int:
    """An opener for `open`: the file created readable by its owner only, or made so. Non-blocking,
    so that a FIFO put where the log was fails the write instead of stopping the writer."""
    descriptor = os.open(path, flags | os.O_NONBLOCK, PRIVATE)
    os.fchmod(descriptor, PRIVATE)
    return descriptor


def _time(line: str) -> str:
    """A log line's ISO time (UTC, so they sort as text); an unreadable line counts as old."""
    try:
        return str(json.loads(line)["time"])
    except (ValueError, KeyError, TypeError):
        return ""
