"""Text from outside, in and out: every input file (FAQ, labelled questions or examples, a file of
questions) and stdin read as UTF-8 text with one bound and the one-line errors every input gets;
and what came from outside (a customer's question, a FAQ answer, a log line) made inert before a
command prints it, on a terminal or as JSON."""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any, BinaryIO

from .errors import InputFileError
from .memory import size_text

# The most bytes one input file or stdin may hold. A FAQ of a million phrasings with answers is
# ~100 MiB of YAML (and its parse ~20 bytes of memory per byte); past this bound an input is a
# mistake (a log, a dump, /dev/zero behind a pipe), refused before it fills the memory.
MAX_INPUT_BYTES = 256 * 2**20
CHUNK = 2**20

# C0 controls but tab and line breaks, DEL, C1 controls: no text file needs them, YAML refuses
# them, and printed on a terminal they are commands (ESC ] 0 ; ... BEL sets its window title).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

# What acts on a terminal when printed: every C0 control (a printed field is one line: a line
# break would fake another line of output, a carriage return overwrite this one), DEL, every C1
# control, the line and paragraph separators, and the bidi embeddings, overrides and isolates,
# which reorder everything after them on the line (Trojan Source, CVE-2021-42574).
_BEYOND_C0 = "\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
ACTIVE = re.compile(f"[\x00-\x1f{_BEYOND_C0}]")
ACTIVE_IN_JSON = re.compile(f"[{_BEYOND_C0}]")  # json.dumps escapes C0 controls itself


def read_text(path: Path, what: str) -> tuple[bytes, str]:
    """The file's bytes and its text (a UTF-8 byte-order mark is dropped); `what` the file
    should be, for the messages. Only a regular file is read (a device never ends, a FIFO may
    never answer), at most MAX_INPUT_BYTES of it, and text with a control character is refused
    at its line."""
    raw = read_bytes(path, what)
    return raw, decoded(raw, str(path))


def read_bytes(path: Path, what: str) -> bytes:
    """The bytes of a regular file of at most MAX_INPUT_BYTES, with read_text's errors."""
    require_file(path, what)
    try:
        with path.open("rb") as stream:
            return _bounded(stream, str(path))
    except PermissionError:
        raise InputFileError(str(path), "cannot be read (permission denied); check the file's permissions") from None
    except OSError as exc:
        raise InputFileError(str(path), f"cannot be read ({exc.strerror or exc})") from None


def read_stdin(what: str) -> str:
    """Stdin's text, read as a file is: to its end, at most MAX_INPUT_BYTES, UTF-8 without
    control characters. A pipe or FIFO is read until its writer closes it, as `cat` does (a slow
    writer looks like an absent one); stdin that could never end is refused before reading: a
    terminal (the command would wait, silently, for someone to type), a device (/dev/zero), and a
    FIFO this process holds open for writing too (`<> FIFO`: its end would never come)."""
    if sys.stdin is None:  # started with stdin closed (`<&-`): nothing to read
        return ""
    stream: BinaryIO = sys.stdin.buffer
    try:
        fd = stream.fileno()
    except (OSError, ValueError):  # not a file descriptor (a test's in-memory stdin): it ends
        fd = None
    if fd is not None:
        mode = os.fstat(fd).st_mode
        if os.isatty(fd):
            raise InputFileError(
                "stdin", f"is a terminal, where this would wait for typing; give {what} with `< FILE` or a pipe"
            )
        if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
            raise InputFileError("stdin", f"is a device, which may never end; give {what} with `< FILE` or a pipe")
        if stat.S_ISFIFO(mode) and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDWR:
            raise InputFileError(
                "stdin", f"is a FIFO opened for writing too (`<>`): it never ends; give {what} with `<`"
            )
    return decoded(_bounded(stream, "stdin"), "stdin")


def require_file(path: Path, what: str) -> None:
    """A one-line error unless `path` is a regular file within MAX_INPUT_BYTES, found without
    opening it."""
    try:
        status = path.stat()
    except FileNotFoundError:
        raise InputFileError(str(path), f"file not found; pass the path of {what}") from None
    except OSError as exc:  # a path through a file, a name too long, a loop of links
        raise InputFileError(str(path), f"cannot be read ({exc.strerror or exc}); pass the path of {what}") from None
    if stat.S_ISDIR(status.st_mode):
        raise InputFileError(str(path), f"is a directory; pass the path of {what}")
    if not stat.S_ISREG(status.st_mode):
        raise InputFileError(str(path), f"is not a regular file (a device, FIFO or socket); pass the path of {what}")
    if status.st_size > MAX_INPUT_BYTES:
        raise _too_large(str(path))


def _bounded(stream: BinaryIO, where: str) -> bytes:
    """All of `stream`, or a one-line error as soon as it passes MAX_INPUT_BYTES (a file can
    grow after its size was checked; /proc files and pipes have none)."""
    data = io.BytesIO()
    while chunk := stream.read(CHUNK):
        data.write(chunk)
        if data.tell() > MAX_INPUT_BYTES:
            raise _too_large(where)
    return data.getvalue()


def _too_large(where: str) -> InputFileError:
    return InputFileError(where, f"holds more than {size_text(MAX_INPUT_BYTES)}, the limit for an input; split it")


def decoded(raw: bytes, where: str) -> str:
    """`raw` as UTF-8 text (a byte-order mark dropped); not UTF-8, or a control character, is
    refused at its line."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputFileError(where, "not valid UTF-8; save the file as UTF-8", line=line) from None
    control = CONTROL.search(text)
    if control:
        line = text.count("\n", 0, control.start()) + 1
        raise InputFileError(where, f"holds the control character U+{ord(control.group()):04X}; remove it", line=line)
    return text


def inert(text: str) -> str:
    """Text from outside made safe to print on a terminal: each character that would act (ACTIVE)
    shown as its escape (`\\x1b`, `\\u202e`) instead."""
    return ACTIVE.sub(_escaped, text)


def inert_lines(text: str, indent: str) -> str:
    """Text of several lines (an answer) made inert line by line, each line after the first
    indented by `indent` (a blank one left blank): its line breaks show as breaks, and none can
    pass for another line of the command's own output."""
    return "\n".join((indent if i and line else "") + inert(line) for i, line in enumerate(text.split("\n")))


def inert_json(data: Any, indent: int | None = None) -> str:
    """`data` as JSON that is inert on a terminal: every ACTIVE character as a \\uXXXX escape (json
    escapes C0 controls itself; the others only occur inside strings), so the JSON stays valid
    and reads back to the same text. Every `--json` output goes through here."""
    return ACTIVE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(data, ensure_ascii=False, indent=indent))


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
