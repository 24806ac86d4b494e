"""Language identification of queries with py3langid (offline, naive Bayes over byte n-grams).

The detected language picks LASER's tokenizer and the answer translation to return. Two
adjustments make it reliable on short chatbot queries (measured in BENCHMARKS.md):
- candidates are limited to the ~95 languages the multilingual encoders were trained on, so
  "cancel" is not called Galician-or-Venetian;
- the FAQ's own language gets a prior weight, so short ambiguous queries ("how do i cancel")
  fall back to it instead of to whichever language happens to score highest.
"""

from __future__ import annotations

from functools import cache

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
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(ENCODER_LANGUAGES)
    return identifier


def detect(text: str, prior: str | None = None) -> str:
    """ISO 639-1 code of the most likely language of `text`; `prior` (the FAQ's language) wins
    unless another language is PRIOR_WEIGHT times more likely."""
    identifier = _identifier()
    best, best_p = identifier.classify(text)
    if prior is None or best == prior:
        return best  # the common case, without ranking every language
    prior_p = next((p for lang, p in identifier.rank(text) if lang == prior), 0.0)
    return prior if prior_p * PRIOR_WEIGHT >= best_p else best
