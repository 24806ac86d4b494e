"""Labelled text files: one example per line, `text<TAB>label`, optionally `<TAB>language`.

The format of sentiment training and test data. Any label set is allowed; every problem is
reported with its file and line, so a user can fix a file of thousands of lines.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .errors import InputFileError
from .faqs import LANGUAGE_PATTERN
from .inputs import read_text

FORMAT = "text<TAB>label, or text<TAB>label<TAB>language"
HEADERS = ({"text", "label"}, {"text", "label", "language"})


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    language: str | None  # ISO 639-1 when the file says; None means detect it
    line: int


@dataclass(frozen=True)
class LabelledFile:
    path: Path
    sha256: str
    examples: tuple[Example, ...]

    @property
    def label_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(e.label for e in self.examples).items()))


def load_labelled(path: Path) -> LabelledFile:
    """Read and validate a labelled file; the first error found raises InputFileError."""
    where = str(path)
    raw, text = read_text(path, f"a file of {FORMAT} lines")
    examples = []
    for number, line in enumerate(text.splitlines(), 1):
        columns = line.rstrip("\r").split("\t")
        if number == 1 and {c.strip().lower() for c in columns} in HEADERS:
            continue  # a header row
        examples.append(_example(where, number, columns))
    if not examples:
        raise InputFileError(where, f"has no examples; write one {FORMAT} per line")
    return LabelledFile(path, hashlib.sha256(raw).hexdigest(), tuple(examples))


def _example(where: str, number: int, columns: list[str]) -> Example:
    def fail(message: str, field: str | None = None):
        raise InputFileError(where, message, line=number, field=field)

    if not "".join(columns).strip():
        fail(f"empty line; remove it (every line is {FORMAT})")
    if len(columns) == 1:
        fail(f"no tab found; every line is {FORMAT} (tab-separated, not commas or spaces)")
    if len(columns) > 3:
        fail(f"{len(columns)} tab-separated columns; expected {FORMAT} (remove tabs inside the text)")
    text, label = " ".join(columns[0].split()), columns[1].strip()
    language = columns[2].strip() if len(columns) == 3 else None
    if not text:
        fail("is empty; every example needs a text before the tab", "text")
    if not label:
        fail("missing; write the example's label after the tab", "label")
    if language is not None and not LANGUAGE_PATTERN.fullmatch(language):
        fail(f"`{language}` is not a language code like en, es or zh", "language")
    return Example(text, label, language, number)
