"""Write a folder of files so that readers see the old folder or the new one, never a mix.

The files are written and fsynced in a hidden sibling folder, which is then renamed into
place; the previous folder is kept aside until the rename succeeded, so a failed or
interrupted write leaves it as it was. Used for sentiment heads; index versions (versions.py)
are written the same way with `staged` and `sync`, then published behind a link.
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
def staged(parent: Path, prefix: str) -> Iterator[Path]:
    """A fresh hidden folder in `parent` to write files into, for the block to move into place
    once written (after `sync`); if the block fails, the folder is removed."""
    parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    folder.chmod(0o755)  # mkdtemp makes it private; it is meant to be read by a server user too
    try:
        yield folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def sync(folder: Path) -> None:
    """Put every file of `folder` on disk before the folder is renamed into place."""
    for path in folder.iterdir():
        with open(path, "rb") as written:
            os.fsync(written.fileno())


def write_folder(directory: Path, files: dict[str, bytes]) -> None:
    """Make `directory` hold exactly `files` (name -> bytes), all at once."""
    previous = None
    with staged(directory.parent, f".{directory.name}.building-") as folder:
        for name, data in files.items():
            (folder / name).write_bytes(data)
        sync(folder)
        if directory.exists():
            previous = directory.with_name(f".{directory.name}.previous-{uuid.uuid4().hex[:8]}")
            directory.rename(previous)
        try:
            folder.rename(directory)
        except BaseException:
            if previous is not None:
                previous.rename(directory)
            raise
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)
