"""A source file's text, with Windows-1252 punctuation that was read as control characters put back.

Text pasted from Word or Outlook into a tool that decoded it as Latin-1 holds C1 controls where
punctuation was meant: U+0093 for “, U+0092 for ’, U+0096 for –. Each C1 control that cp1252
defines (27 of the 32) is repaired to its character, with a warning naming where; the 5 that
cp1252 leaves undefined, and every other control character, are refused at their line as
inputs.read_text refuses them, within its bounds (a regular file, at most MAX_INPUT_BYTES).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TypeVar

from ..inputs import decoded, read_bytes
from .base import Report

# C1 control -> the character Windows-1252 has at that byte (0x81, 0x8D, 0x8F, 0x90, 0x9D: none).
CP1252 = {chr(b): char for b in range(0x80, 0xA0) if (char := bytes([b]).decode("cp1252", "ignore"))}
MISREAD = re.compile(f"[{''.join(CP1252)}]")
# The same characters as UTF-8 bytes: 0xC2 is only ever a lead byte, so this finds exactly them.
MISREAD_BYTES = re.compile(b"\xc2[" + bytes(ord(c) for c in CP1252) + b"]")
Value = TypeVar("Value")


def read_source(path: Path, what: str, report: Report | None = None) -> str:
    """The text of `path` (`what` it should be, for the messages), repaired as the module says
    with a warning per line; without a report, the repairable characters are left in the text
    for an importer that names entries instead of lines to repair with `repair`."""
    raw = read_bytes(path, what)
    # Checked with the repairable characters masked by two spaces (same bytes, same lines): what
    # is not UTF-8, or any other control character, gets read_text's error at its line.
    decoded(MISREAD_BYTES.sub(b"  ", raw), str(path))
    text = raw.decode("utf-8-sig")
    if report is None:
        return text
    found: dict[int, set[str]] = {}
    line, at = 1, 0
    for match in MISREAD.finditer(text):
        line, at = line + text.count("\n", at, match.start()), match.start()
        found.setdefault(line, set()).add(match.group())
    for number, chars in found.items():
        report.warn(f"{path}:line {number}", repaired_message(chars))
    return MISREAD.sub(lambda m: CP1252[m.group()], text)


def repair(value: Value) -> tuple[Value, set[str]]:
    """`value` (text, or a list or object parsed from JSON or YAML, repaired in every string in
    it) with each repairable C1 control as its cp1252 character, and the controls found. The
    walk recurses once per level, which base.MAX_DEPTH bounds before parsing."""
    found: set[str] = set()

    def fixed(item: object) -> object:
        if isinstance(item, str):
            found.update(MISREAD.findall(item))
            return MISREAD.sub(lambda m: CP1252[m.group()], item)
        if isinstance(item, list):
            return [fixed(v) for v in item]
        if isinstance(item, dict):
            return {k: fixed(v) for k, v in item.items()}
        return item

    return fixed(value), found


def repaired_message(chars: set[str]) -> str:
    """The warning for the controls `chars` repaired: `U+0093 → “, U+0094 → ”`."""
    pairs = ", ".join(f"U+{ord(c):04X} → {CP1252[c]}" for c in sorted(chars))
    return f"Windows-1252 punctuation read as control characters, repaired ({pairs})"
