"""Reading a user's input file (FAQ, labelled questions, labelled examples) as UTF-8 text, with
the one-line errors every such file gets."""

from __future__ import annotations

import re
import stat
from pathlib import Path

from .errors import InputFileError

# C0 controls but tab and line breaks, DEL, C1 controls: no text file needs them, YAML refuses
# them, and printed on a terminal they are commands (ESC ] 0 ; ... BEL sets its window title).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def read_text(path: Path, what: str) -> tuple[bytes, str]:
    """The file's bytes and its text (a UTF-8 byte-order mark is dropped); `what` the file
    should be, for the messages. Only a regular file is read (a device never ends, a FIFO may
    never answer), and text with a control character is refused at its line."""
    where = str(path)
    require_file(path, what)
    try:
        raw = path.read_bytes()
    except PermissionError:
        raise InputFileError(where, "cannot be read (permission denied); check the file's permissions") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputFileError(where, "not valid UTF-8; save the file as UTF-8", line=line) from None
    control = CONTROL.search(text)
    if control:
        line = text.count("\n", 0, control.start()) + 1
        raise InputFileError(where, f"holds the control character U+{ord(control.group()):04X}; remove it", line=line)
    return raw, text


def require_file(path: Path, what: str) -> None:
    """A one-line error unless `path` is a regular file, found without opening it."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputFileError(str(path), f"file not found; pass the path of {what}") from None
    if stat.S_ISDIR(mode):
        raise InputFileError(str(path), f"is a directory; pass the path of {what}")
    if not stat.S_ISREG(mode):
        raise InputFileError(str(path), f"is not a regular file (a device, FIFO or socket); pass the path of {what}")


def inert(text: str) -> str:
    """Text from outside (a customer's question) made safe to print on a terminal: each control
    character shown as its escape (`\\x1b`) instead of acting."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
