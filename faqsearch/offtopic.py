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

    def translation_differences(self, faq_language: str) -> Differences:
        """What translating a message from the FAQ's language into another does to its vector:
        v(message in X) - v(message in the FAQ's language), one row per message and language X
        (empty if the FAQ's language is not in the sample). Calibration adds these to phrasings
        to simulate questions asked in other languages where the encoder ships no differences
        of real translations (offsets.translation_differences)."""
        codes = np.array(self.languages)
        if faq_language not in self.languages:
            return np.zeros((0, self.vectors.shape[1]), dtype=np.float32), []
        own = self.vectors[codes == faq_language]
        others = [lang for lang in dict.fromkeys(self.languages) if lang != faq_language]
        differences = [self.vectors[codes == lang] - own for lang in others]
        return np.concatenate(differences), [lang for lang in others for _ in range(len(own))]


@cache
def messages() -> dict[str, tuple[str, ...]]:
    """Language code -> the messages in that language (same order in every language)."""
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    return {language: tuple(texts) for language, texts in data.items()}


def encode_sample(encoder: Encoder) -> OfftopicSample:
    """The sample's vectors (about 2,000 sentences: e5 takes ~15 s, so they are cached)."""
    texts = [text for ts in messages().values() for text in ts]
    languages = [lang for lang, ts in messages().items() for _ in ts]
    return OfftopicSample(languages, encode_cached(encoder, texts, languages, "offtopic"))
