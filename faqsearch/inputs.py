"""Reading a user's input file (FAQ, labelled questions, labelled examples) as UTF-8 text, with
the one-line errors every such file gets."""

from __future__ import annotations

from pathlib import Path

from .errors import InputFileError


def read_text(path: Path, what: str) -> tuple[bytes, str]:
    """The file's bytes and its text (a UTF-8 byte-order mark is dropped); `what` the file
    should be, for the messages."""
    where = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(where, f"file not found; pass the path of {what}") from None
    except IsADirectoryError:
        raise InputFileError(where, f"is a directory; pass the path of {what}") from None
    try:
        return raw, raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputFileError(where, "not valid UTF-8; save the file as UTF-8", line=line) from None
