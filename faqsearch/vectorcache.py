"""Sentence vectors computed once and kept on disk, keyed by encoder version and the exact texts.

Encoding thousands of sentences takes e5 tens of seconds; the off-topic sample (every build)
and sentiment training data (every retraining with other settings) are encoded once per
encoder version and read back afterwards. Files live in vectors_cache_dir() as plain .npy.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Sequence

import numpy as np

from .encoders import Encoder
from .models import vectors_cache_dir
from .progress import encode


def encode_cached(
    encoder: Encoder, texts: Sequence[str], languages: Sequence[str], name: str, progress: bool = False
) -> np.ndarray:
    """`encoder.encode(texts, languages)`, from the cache when these exact texts were encoded by
    this encoder version before. `name` prefixes the cache file; `progress` shows a bar on stderr."""
    digest = hashlib.sha256(f"{encoder.name}\n{encoder.version}\n".encode())
    for text, language in zip(texts, languages, strict=True):
        digest.update(f"{language}\t{text}\n".encode())
    path = vectors_cache_dir() / f"{name}-{encoder.name}-{digest.hexdigest()[:16]}.npy"
    try:
        vectors = np.load(path, allow_pickle=False)
        if vectors.shape == (len(texts), encoder.dim):
            return vectors
    except (OSError, ValueError):
        pass  # not cached yet, or unreadable: encode again
    vectors = (
        encode(encoder, texts, languages, f"encoding with {encoder.name}")
        if progress
        else encoder.encode(texts, languages)
    )
    partial = path.with_name(f"{path.name}.{os.getpid()}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as out:
            np.save(out, vectors, allow_pickle=False)
        partial.replace(path)
    except OSError:  # a cache folder that cannot be written (full, read-only, under a file) only costs speed
        with contextlib.suppress(OSError):
            partial.unlink()
    return vectors
