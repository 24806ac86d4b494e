"""The shipped multilingual sample of off-topic chat messages (faqsearch/data/offtopic.yaml).

The same 48 messages ("tell me a joke", "what's the weather tomorrow", ...) in 40 languages.
A build uses them as unanswerable questions to calibrate the index's confidence and, because the
sample is parallel, to measure per language what translation does: its offset in the encoder's
space (the mean of its messages in that language minus the mean in the FAQ's language, free of
topic) where none is shipped, and how much nearer to the background it moves a question
(calibration.background_shifts).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import yaml

from . import packagedata
from .encoders import Encoder
from .offsets import Differences
from .vectorcache import encode_cached
from .yamlfile import loader

SAMPLE = Path(__file__).parent / "data" / "offtopic.yaml"
VECTORS = SAMPLE.parent / "offtopic"  # an encoder's vectors of the sample (shipped for the default encoders)


@dataclass(frozen=True)
class OfftopicSample:
    languages: list[str]  # the language of each row
    vectors: np.ndarray  # (messages x languages, dim) unit rows

    def language_offsets(self, faq_language: str) -> dict[str, np.ndarray]:
        """Language -> its mean vector minus the FAQ language's (empty if the FAQ's language is
        not in the sample: there is nothing to measure offsets against)."""
        codes = np.array(self.languages)
        means = {lang: self.vectors[codes == lang].mean(0) for lang in dict.fromkeys(self.languages)}
        if faq_language not in means:
            return {}
        return {lang: mean - means[faq_language] for lang, mean in means.items()}

    def paired(self, values: np.ndarray, faq_language: str) -> dict[str, np.ndarray]:
        """Language -> each message's value (a row of `values`, one per sample row) in that language
        minus the same message's in the FAQ's language (zeros for the FAQ's own): the sample is
        parallel, the same messages in the same order in every language. Empty if the FAQ's
        language is not in the sample."""
        codes = np.array(self.languages)
        if faq_language not in self.languages:
            return {}
        own = values[codes == faq_language]
        return {lang: values[codes == lang] - own for lang in dict.fromkeys(self.languages)}

    def translation_differences(self, faq_language: str) -> Differences:
        """What translating a message from the FAQ's language into another does to its vector:
        v(message in X) - v(message in the FAQ's language), one row per message and language X
        (empty if the FAQ's language is not in the sample). Calibration adds these to phrasings
        to simulate questions asked in other languages where the encoder ships no differences
        of real translations (offsets.translation_differences)."""
        others = {lang: d for lang, d in self.paired(self.vectors, faq_language).items() if lang != faq_language}
        if not others:
            return np.zeros((0, self.vectors.shape[1]), dtype=np.float32), []
        return np.concatenate(list(others.values())), [lang for lang, d in others.items() for _ in range(len(d))]


@cache
def messages() -> dict[str, tuple[str, ...]]:
    """Language code -> the messages in that language (same order in every language)."""
    data = yaml.load(SAMPLE.read_text(encoding="utf-8"), Loader=loader())  # libyaml: 0.01 s, not 0.08, of every build
    return {language: tuple(texts) for language, texts in data.items()}


def _texts() -> tuple[list[str], list[str]]:
    """The sample's messages and the language of each, language by language."""
    return [text for ts in messages().values() for text in ts], [lang for lang, ts in messages().items() for _ in ts]


def vectors_path(encoder_name: str) -> Path:
    return VECTORS / f"{encoder_name}.npz"


def write_vectors(encoder: Encoder) -> None:
    """Ship `encoder`'s vectors of the sample (training/offtopic.py), float32 as it gives them:
    a build calibrates on the same numbers as one that embedded the sample itself."""
    texts, languages = _texts()
    sha256, vectors = packagedata.texts_sha256(texts, languages), encoder.encode(texts, languages)
    packagedata.write_vectors(vectors_path(encoder.name), encoder.version, sha256, {"vectors": vectors})


def _part_vectors(part: Encoder, texts: list[str], languages: list[str], sha256: str) -> np.ndarray:
    """One encoder's vectors of the sample (whose checksum is `sha256`): shipped for its version,
    else embedded once and cached."""
    shipped = packagedata.shipped_vectors(vectors_path(part.name), part.version, sha256, (len(texts), part.dim))
    return encode_cached(part, texts, languages, "offtopic") if shipped is None else shipped["vectors"]


def encode_sample(encoder: Encoder) -> OfftopicSample:
    """The sample's vectors (about 2,000 sentences: e5 takes ~5 s and torch's start, so the
    default encoders' ship, and any other's are cached); a fused encoder's parts side by side."""
    texts, languages = _texts()
    sha256 = packagedata.texts_sha256(texts, languages)
    vectors = [_part_vectors(part, texts, languages, sha256) for part, _ in encoder.parts()]
    return OfftopicSample(languages, vectors[0] if len(vectors) == 1 else np.hstack(vectors))
