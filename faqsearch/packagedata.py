"""The format of the arrays faqsearch ships (language offsets, e5-aligned's patch): one .npz
holding the arrays and a JSON `meta` member, readable without pickle."""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path

import numpy as np


def write(out: Path, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)


def read(path: Path, arrays: bool | Collection[str] = True) -> tuple[dict, dict[str, np.ndarray]]:
    """(metadata, name -> array); the arrays (decompressed one by one) only when asked for: all
    of them, none, or those named."""
    with np.load(path, allow_pickle=False) as data:
        names = [name for name in data.files if name != "meta"]
        wanted = names if arrays is True else [] if arrays is False else [name for name in names if name in arrays]
        return json.loads(data["meta"].tobytes()), {name: data[name] for name in wanted}
