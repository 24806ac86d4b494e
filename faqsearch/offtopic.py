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

from .encoders import Encoder
from .offsets import Differences
from .vectorcache import encode_cached
from .yamlfile import loader

SAMPLE = Path(__file__).parent / "data" / "offtopic.yaml"


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


def encode_sample(encoder: Encoder) -> OfftopicSample:
    """The sample's vectors (about 2,000 sentences: e5 takes ~15 s, so they are cached)."""
    texts = [text for ts in messages().values() for text in ts]
    languages = [lang for lang, ts in messages().items() for _ in ts]
    return OfftopicSample(languages, encode_cached(encoder, texts, languages, "offtopic"))
