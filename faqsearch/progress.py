"""Progress on long runs: rich bars on stderr, only when stderr is a terminal (never in logs,
pipes or tests)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

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
    """encoder.encode in batches, with a bar when one is shown."""
    if not shown():
        return encoder.encode(texts, languages)
    parts = [encoder.encode([], [])]
    with stage(label, len(texts)) as advance:
        for start in range(0, len(texts), BATCH):
            parts.append(encoder.encode(texts[start : start + BATCH], languages[start : start + BATCH]))
            advance(len(parts[-1]))
    return np.concatenate(parts)
