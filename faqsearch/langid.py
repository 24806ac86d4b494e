"""Language identification of queries with py3langid (offline, naive Bayes over byte n-grams).

The detected language picks LASER's tokenizer and the answer translation to return. Two
adjustments make it reliable on short chatbot queries (measured in BENCHMARKS.md):
- candidates are limited to the ~95 languages the multilingual encoders were trained on, so
  "cancel" is not called Galician-or-Venetian;
- the FAQ's own language gets a prior weight, so short ambiguous queries ("how do i cancel")
  fall back to it instead of to whichever language happens to score highest.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import lzma
import os
import shutil
from functools import cache

import numpy as np

from .models import langid_cache_dir

# XLM-R / e5's CC-100 languages (ISO 639-1) that py3langid knows; LASER's 93 are nearly all in it.
_ENCODER_CODES = (
    "af am ar as az be bg bn br bs ca cs cy da de el en eo es et eu fa fi fr fy ga gd gl gu "
    "ha he hi hr hu hy id is it ja jv ka kk km kn ko ku ky la lo lt lv mg mk ml mn mr ms my "
    "ne nl no om or pa pl ps pt ro ru sa si sk sl so sq sr sv sw ta te th tl tr ug uk ur uz "
    "vi xh zh"
)
ENCODER_LANGUAGES = _ENCODER_CODES.split()
PRIOR_WEIGHT = 10.0


MODEL_ARRAYS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")


@cache
def _identifier():
    from py3langid.langid import LanguageIdentifier

    model = _model()
    return LanguageIdentifier(
        model["ptc"],
        model["pc"],
        model["classes"].tolist(),
        memoryview(model["nextmove"]),  # indexed in place: a copy of its 39 MB took 23 ms
        model["out_feat"].tolist(),
        norm_probs=True,
        tk_row=model["nextmove_row"].tolist(),
    )


def _model() -> dict[str, np.ndarray]:
    """py3langid's model arrays, restricted to ENCODER_LANGUAGES (as its set_languages does),
    read in place (memory-mapped) from the copy unpacked once into the cache folder: the package
    ships them LZMA-compressed, and unpacking its 68 MB took 0.5 s of every cold `faqsearch ask`,
    reading even the unpacked copy 0.09 s. A copy that cannot be read (cut short, damaged) is
    unpacked again; one that cannot be written only costs the next process the unpacking."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    packed = MODEL_DIR / MODEL_FILE
    stat = packed.stat()
    languages = hashlib.sha256(" ".join(ENCODER_LANGUAGES).encode()).hexdigest()[:8]
    folder = langid_cache_dir() / f"model-{stat.st_size}-{stat.st_mtime_ns}-{languages}"
    try:
        return {name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in MODEL_ARRAYS}
    except (OSError, ValueError):
        pass
    with lzma.open(packed) as source, np.load(io.BytesIO(source.read()), allow_pickle=False) as data:
        model = {name: data[name] for name in MODEL_ARRAYS}
    wanted = set(ENCODER_LANGUAGES)
    columns = [i for i, code in enumerate(model["classes"].tolist()) if code in wanted]
    model["ptc"], model["pc"] = np.ascontiguousarray(model["ptc"][:, columns]), model["pc"][columns]
    model["classes"] = model["classes"][columns]
    partial = folder.with_name(f".{folder.name}.{os.getpid()}.partial")
    try:
        partial.mkdir(parents=True, exist_ok=True)
        for name, values in model.items():
            np.save(partial / f"{name}.npy", values, allow_pickle=False)
        partial.replace(folder)  # whole or not at all; a folder left by a damaged copy is replaced
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            partial.replace(folder)
        shutil.rmtree(partial, ignore_errors=True)  # a disk that filled: no half copy left behind
    for stale in folder.parent.glob("model-*"):  # copies of another py3langid or faqsearch release
        if stale.is_dir() and stale != folder:
            shutil.rmtree(stale, ignore_errors=True)
        elif stale.is_file():
            with contextlib.suppress(OSError):
                stale.unlink()
    return model


def detect(text: str, prior: str | None = None) -> str:
    """ISO 639-1 code of the most likely language of `text`; `prior` (the FAQ's language) wins
    unless another language is PRIOR_WEIGHT times more likely."""
    identifier = _identifier()
    best, best_p = identifier.classify(text)
    if prior is None or best == prior:
        return best  # the common case, without ranking every language
    prior_p = next((p for lang, p in identifier.rank(text) if lang == prior), 0.0)
    return prior if prior_p * PRIOR_WEIGHT >= best_p else best
