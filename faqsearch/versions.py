"""Index versions: `indexes/en` is a symbolic link to one complete version folder in
`indexes/.en.versions/`, switched in one atomic step (`os.replace` of a new link over the old).

A reader, or a kill at any instant, finds the old version or the new one whole: a version is
written and fsynced under a temporary name, renamed to its final name, and only then published.
The previous version is kept for `faqsearch rollback`; older ones, and what killed builds left
behind, are removed by the next build (which holds the index's build lock, see build.py).
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .atomic import staged, sync
from .errors import FAQSearchError


def versions_of(directory: Path) -> Path:
    return directory.parent / f".{directory.name}.versions"


@contextmanager
def new_version(directory: Path) -> Iterator[Path]:
    """A fresh folder to write the next version of `directory` into; when the block ends without
    an error, its files are fsynced and it is published (else it is removed)."""
    root = versions_of(directory)
    with staged(root, ".building-") as folder:
        yield folder
        sync(folder)
        final = root / f"v{time.time_ns():020d}"
        folder.rename(final)
    publish(directory, final)


def publish(directory: Path, version: Path) -> None:
    """Point `directory` at `version` in one atomic step, then prune."""
    if directory.is_dir() and not directory.is_symlink():  # an index from before versions: keep it as one
        directory.rename(versions_of(directory) / f"v{0:020d}-unversioned")
    link = directory.parent / f".{directory.name}.link-{uuid.uuid4().hex[:8]}"
    link.symlink_to(os.path.relpath(version, directory.parent))
    os.replace(link, directory)
    prune(directory)


def current(directory: Path) -> Path | None:
    return directory.resolve() if directory.is_symlink() else None


def prune(directory: Path) -> None:
    """Keep the current version and the one before it; remove the rest and temporary leftovers."""
    root = versions_of(directory)
    live = current(directory)
    kept = {live, previous(directory)}
    for path in root.iterdir() if root.is_dir() else ():
        if path.resolve() not in kept:
            shutil.rmtree(path, ignore_errors=True)
    for link in directory.parent.glob(f".{directory.name}.link-*"):
        link.unlink(missing_ok=True)


def previous(directory: Path) -> Path | None:
    """The newest complete version older than the current one."""
    live = current(directory)
    root = versions_of(directory)
    if live is None or not root.is_dir():
        return None
    older = sorted(p for p in root.iterdir() if p.name.startswith("v") and p.name < live.name)
    return older[-1].resolve() if older else None


def rollback(directory: Path) -> Path:
    """Switch `directory` back to its previous version (the caller holds the build lock)."""
    earlier = previous(directory)
    if earlier is None:
        raise FAQSearchError(f"no earlier version of {directory} to roll back to; rebuild it instead")
    link = directory.parent / f".{directory.name}.link-{uuid.uuid4().hex[:8]}"
    link.symlink_to(os.path.relpath(earlier, directory.parent))
    os.replace(link, directory)
    return earlier
