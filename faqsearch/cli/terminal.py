"""`faqsearch review --interactive`: labelling the review's questions in the terminal, one at a
time and a key per choice, so the owner checks each suggestion instead of editing JSON by hand.
Apart from review.py so that tests can drive it with scripted keys and capture what it prints."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable

import click
import typer

from ..errors import FAQSearchError
from ..inputs import inert
from ..labels import line
from ..review import NONE, Item

# Arrows arrive as escape sequences: ANSI (ESC [ A, or ESC O A in a terminal's application mode)
# and Windows (a 0xE0 or NUL prefix); click.getchar returns each sequence whole.
KEYS = {"\r": "enter", "\n": "enter"}
KEYS |= dict.fromkeys(("\x1b[A", "\x1bOA", "\xe0H", "\x00H"), "up")
KEYS |= dict.fromkeys(("\x1b[B", "\x1bOB", "\xe0P", "\x00P"), "down")
HELP = "up/down or k/j move, Enter takes it, 1-9 pick, n none, s skip, b back, q quit"
SKIP = None  # a skipped question's pick: it gets no label


def read_key(getchar: Callable[[], str] = click.getchar) -> str:
    """One key press as a name: "up", "down", "enter", else the character typed (lower case, so
    Caps Lock does not turn `q` into nothing). Ctrl-C raises KeyboardInterrupt (click does)."""
    key = getchar()
    return KEYS.get(key, key.lower() if len(key) == 1 else key)


def label_interactively(
    items: list[Item], keys: Iterable[str] | None = None, out: Callable[[str], object] | None = None
) -> list[dict]:
    """The label file lines the owner picks for `items`, in their order; a skipped question has
    none. `keys` (names as read_key gives them) stands in for the keyboard and `out` for the
    terminal, for tests; running out of `keys` quits like `q`. Quitting, also with Ctrl-C, keeps
    the labels made so far: an owner interrupted after 20 questions should not lose them."""
    if keys is None and not sys.stdin.isatty():
        raise FAQSearchError(
            "--interactive needs a terminal; use --out FILE to write the suggested labels and edit them instead"
        )
    styled = out is None and sys.stdout.isatty()
    write = out or typer.echo
    next_key = iter(keys).__next__ if keys is not None else read_key
    picked: list[str | None] = []  # each question's pick so far: an entry id, NONE or SKIP
    remembered: dict[int, str | None] = {}  # the last pick of each question, selected again after `b`
    try:
        while len(picked) < len(items):
            number, item = len(picked), items[len(picked)]
            choices = _choices(item)
            values = [value for value, _ in choices]
            at = values.index(remembered.get(number, item.suggested))
            while True:
                _show(item, number + 1, len(items), choices, at, styled, write)
                try:
                    key = next_key()
                except (EOFError, StopIteration):
                    key = "q"
                if key in ("up", "k", "down", "j"):
                    at = (at + (-1 if key in ("up", "k") else 1)) % len(choices)
                elif len(key) == 1 and key in "123456789" and int(key) <= len(choices):
                    at, key = int(key) - 1, "enter"
                    break
                elif key in ("enter", "n", "s", "b", "q"):
                    break
            if key == "q":
                break
            if key == "b":
                picked = picked[:-1]
                continue
            remembered[number] = {"n": NONE, "s": SKIP}.get(key, values[at])
            picked.append(remembered[number])
    except KeyboardInterrupt:
        write("")
    labels = [
        line(i.question, i.language, p, i.covers)
        for i, p in zip(items[: len(picked)], picked, strict=True)
        if p is not SKIP
    ]
    nones, skipped = picked.count(NONE), picked.count(SKIP)
    left = f", {len(items) - len(picked)} not reached" if len(picked) < len(items) else ""
    write(f"{len(labels) - nones} labelled, {nones} none, {skipped} skipped{left}")
    return labels


def _choices(item: Item) -> list[tuple[str | None, str]]:
    """(pick, text) for each choice: the candidates, the feedback's entry when it is not one of
    them (so the suggestion can always be pre-selected), none, skip."""
    choices: list[tuple[str | None, str]] = [(entry, f"{entry}  {c:.2f}") for entry, c in item.candidates]
    if item.suggested != NONE and item.suggested not in {entry for entry, _ in item.candidates}:
        choices.insert(0, (item.suggested, f"{item.suggested}  (the bot's feedback)"))
    return [*choices, (NONE, "none (not for this FAQ)"), (SKIP, "skip")]


def _show(item: Item, number: int, total: int, choices: list, at: int, styled: bool, write: Callable) -> None:
    """The question, what its label covers and the menu, the selection marked by `>` (and
    highlighted on a terminal). Customer text goes through inert: it may hold escape codes."""
    if styled:
        click.clear()
    write(
        f"[{number}/{total}] [{inert(item.language)}] {inert(item.question)} "
        f"(stands for {item.represents}; {inert(item.reason)})"
    )
    if item.covers:
        more = f" and {len(item.covers) - 3} more" if len(item.covers) > 3 else ""
        write("  also covers: " + "; ".join(f"{inert(t)} ({inert(lang)})" for t, lang in item.covers[:3]) + more)
    for n, (_, text) in enumerate(choices, 1):
        line = f"{'>' if n - 1 == at else ' '} {n if n <= 9 else ' '}  {inert(text)}"
        write(typer.style(line, reverse=True, bold=True) if styled and n - 1 == at else line)
    write(HELP)
