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
import io
import lzma
import os
import zipfile
from array import array
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


@cache
def _identifier():
    from py3langid.langid import LanguageIdentifier

    model = _model()
    identifier = LanguageIdentifier(
        model["ptc"],
        model["pc"],
        model["classes"].tolist(),
        _array(model["nextmove"]),
        model["out_feat"].tolist(),
        norm_probs=True,
        tk_row=_array(model["nextmove_row"]),
    )
    identifier.set_languages(ENCODER_LANGUAGES)
    return identifier


def _model() -> dict[str, np.ndarray]:
    """py3langid's model arrays, unpacked once into the cache folder: the package ships them
    LZMA-compressed, and unpacking its 68 MB took 0.5 s of every cold `faqsearch ask`; reading
    the unpacked copy takes 0.08 s. A copy that cannot be read (damaged: the zip's CRCs) is
    unpacked again; one that cannot be written only costs the next process the unpacking."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    packed = MODEL_DIR / MODEL_FILE
    stat = packed.stat()
    unpacked = langid_cache_dir() / f"model-{stat.st_size}-{stat.st_mtime_ns}.npz"
    try:
        with np.load(unpacked, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        pass
    with lzma.open(packed) as source:
        raw = source.read()
    partial = unpacked.with_name(f".{unpacked.name}.{os.getpid()}.partial")
    try:
        unpacked.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(raw)
        partial.replace(unpacked)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)  # a disk that filled: no half copy left behind
    with np.load(io.BytesIO(raw), allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def _array(values: np.ndarray) -> array:
    """An unsigned integer array as the stdlib array py3langid's automaton indexes (as its loader makes it)."""
    found = array({2: "H", 4: "I", 8: "L"}[values.dtype.itemsize])
    found.frombytes(memoryview(np.ascontiguousarray(values)).cast("B"))  # one copy, not two
    return found


def detect(text: str, prior: str | None = None) -> str:
    """ISO 639-1 code of the most likely language of `text`; `prior` (the FAQ's language) wins
    unless another language is PRIOR_WEIGHT times more likely."""
    identifier = _identifier()
    best, best_p = identifier.classify(text)
    if prior is None or best == prior:
        return best  # the common case, without ranking every language
    prior_p = next((p for lang, p in identifier.rank(text) if lang == prior), 0.0)
    return prior if prior_p * PRIOR_WEIGHT >= best_p else best
