"""Progress on long runs: rich bars on stderr, only when stderr is a terminal (never in logs,
pipes or tests)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

import numpy as np

from .inputs import inert

BATCH = 256  # sentences per encoder call while a bar is shown


def shown() -> bool:
    return sys.stderr.isatty()


@contextmanager
def stage(label: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """A bar (with `total`) or a spinner for one step; yields `advance(n)`. The label is shown
    as plain text: it may name a user's file, whose name is neither markup nor terminal commands."""
    if not shown():
        yield lambda n: None
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    if total is None:  # a step of unknown length: what it is and how long it has taken
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    else:
        columns = (SpinnerColumn(), *Progress.get_default_columns()[:-1], MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(file=sys.stderr), transient=True) as bar:
        task = bar.add_task(escape(inert(label)), total=total)
        yield lambda n: bar.advance(task, n)


def encode(encoder, texts: Sequence[str], languages: Sequence[str], label: str) -> np.ndarray:
    """encoder.encode in batches, with a bar when one is shown; the encoder is told the whole
    count first (a batch of the bar says nothing of the job's size), and when it is done."""
    encoder.expect(len(texts))
    try:
        if not shown():
            return encoder.encode(texts, languages)
        parts = [encoder.encode([], [])]
        with stage(label, len(texts)) as advance:
            for start in range(0, len(texts), BATCH):
                parts.append(encoder.encode(texts[start : start + BATCH], languages[start : start + BATCH]))
                advance(len(parts[-1]))
        return np.concatenate(parts)
    finally:
        encoder.done()


@dataclass
class Timings:
    """Seconds per named step of a run, in the order first entered: where a build's time goes
    (`faqsearch build --profile`), in the process that ran it, whatever stderr is."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str, label: str | None = None) -> Iterator[None]:
        """Count the block's seconds to `name` (added to what it had); with `label`, also show it
        as a step (`stage`)."""
        started = time.perf_counter()
        try:
            with stage(label) if label else nullcontext():
                yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def lines(self) -> list[str]:
        """One line per step, `name  seconds  share`, then the total."""
        total = sum(self.seconds.values())
        width = max((len(name) for name in self.seconds), default=0)
        rows = [
            f"{name:<{width}}  {seconds:7.2f} s  {100 * seconds / total if total else 0:3.0f}%"
            for name, seconds in self.seconds.items()
        ]
        return [*rows, f"{'total':<{width}}  {total:7.2f} s"]
