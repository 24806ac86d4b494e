"""The format of the arrays faqsearch ships (language offsets, e5-aligned's patch, encoders'
vectors of the background corpus and the off-topic sample): one .npz holding the arrays and a
JSON `meta` member, readable without pickle."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

from .errors import ShippedDataBroken

# What reading a damaged or truncated shipped file raises (or a file whose arrays do not fit)
DAMAGED = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


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


def texts_sha256(texts: Sequence[str], languages: Sequence[str]) -> str:
    """Which texts (each in its language) shipped vectors were made from."""
    digest = hashlib.sha256()
    for text, language in zip(texts, languages, strict=True):
        digest.update(f"{language}\t{text}\n".encode())
    return digest.hexdigest()


def write_vectors(out: Path, version: str, texts_sha256: str, arrays: dict[str, np.ndarray]) -> None:
    """Ship an encoder's vectors of some texts (`arrays` holds them as `vectors`, and what else
    reading them needs), recording which encoder version and which texts made them."""
    write(out, {"version": version, "corpus": texts_sha256}, arrays)


def shipped_vectors(path: Path, version: str, texts_sha256: str, shape: tuple[int, int]) -> dict | None:
    """The arrays of `path`, an encoder's shipped vectors of some texts, when the encoder's
    `version` made them from the texts whose checksum is `texts_sha256` (as `write_vectors`
    recorded them): None when there is no such file or another version or other texts made it
    (embed them instead). A file that cannot be read, or whose `vectors` are not of `shape`, is a broken
    install (ShippedDataBroken)."""
    if not path.is_file():
        return None
    try:
        meta, arrays = read(path)
        if meta.get("version") != version or meta.get("corpus") != texts_sha256:
            return None
        if arrays["vectors"].shape != shape:
            raise ValueError("its vectors do not match the texts")
    except DAMAGED as exc:
        raise ShippedDataBroken(path, f"damaged ({exc})") from None
    return arrays
