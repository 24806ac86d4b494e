"""Write a folder of files so that readers see the old folder or the new one, never a mix.

The files are written and fsynced in a hidden sibling folder, which is then renamed into
place; the previous folder is kept aside until the rename succeeded, so a failed or
interrupted write leaves it as it was. Used for indexes and sentiment heads.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def building(directory: Path) -> Iterator[Path]:
    """A fresh hidden folder to write `directory`'s files into; when the block ends without an
    error, its files are fsynced and it replaces `directory` (else it is removed)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{directory.name}.building-", dir=directory.parent))
    folder.chmod(0o755)  # mkdtemp makes it private; it is meant to be read by a server user too
    try:
        yield folder
        for path in folder.iterdir():
            with open(path, "rb") as written:
                os.fsync(written.fileno())
        previous = None
        if directory.exists():
            previous = directory.with_name(f".{directory.name}.previous-{uuid.uuid4().hex[:8]}")
            directory.rename(previous)
        try:
            folder.rename(directory)
        except BaseException:
            if previous is not None:
                previous.rename(directory)
            raise
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)


def write_folder(directory: Path, files: dict[str, bytes]) -> None:
    """Make `directory` hold exactly `files` (name -> bytes), all at once."""
    with building(directory) as folder:
        for name, data in files.items():
            (folder / name).write_bytes(data)
