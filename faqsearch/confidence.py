"""The confidence model a query applies (fitted when the index is built: calibration.py), and
why a question got no match.

A candidate's confidence is a logistic model of features of the candidate and its question:
- `score`: its pooled score (retrieval.py);
- `margin`: its score minus the best other candidate's;
- `background`: the question's mean cosine to its nearest background sentences (background.py):
  a question as close to ordinary sentences as to the FAQ is probably not about the FAQ.
One model for questions in the FAQ's language and one for the others (the same score means more
in Tamil than in English). The weights of the candidate's own features are never negative and the
background is the same for every candidate of a question, so confidences can only fall down the
ranking; they are capped there anyway, and never exactly 0 or 1.

No match comes with a reason (NO_MATCH): `off_topic` when the question is at least as near to the
background as to any phrasing of the FAQ (less what translation into its language adds to that:
`background_shifts`, measured when the index was built); `ambiguous` when the best two or three
entries together would pass the threshold (the bot can ask "did you mean A or B?"); else
`low_confidence`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .pooling import Firsts, Ranking

THRESHOLD = 0.5
FEATURES = ("score", "margin", "background")
PER_CANDIDATE = np.array([True, True, False])  # which features vary down the ranking (kept >= 0)
LOGIT_LIMIT = 9.2  # confidences stay within [0.0001, 0.9999]: never certain, so --min-confidence 1 rejects all
NO_MATCH = ("off_topic", "ambiguous", "low_confidence")
AMBIGUOUS_UP_TO = 3  # the most entries a "did you mean" offers
# The public default (weights of FEATURES, bias), for features less the FAQ's reference (the mean
# score and background of its entry-left-out questions: calibration.reference): fitted on the
# first two candidates of real questions asked to 14 public and own FAQs of one, three and twenty
# phrasings per entry, in 38 languages (benchmarks/confidence_default.py, BENCHMARKS.md). Placed
# at the FAQ's own reference, it does not penalize a FAQ of everyday questions for sitting near
# the background. A FAQ with no entry of two phrasings has no answerable question to fit on and
# gets it alone; the others are fitted on their own sample, shrunk toward it (calibration.fit).
DEFAULT = {"same_language": (3.59, 8.38, -3.03, -0.82), "other_languages": (11.46, 8.19, -10.86, -1.45)}
# The public reference: the mean over the FAQs the default was fitted on, toward which a FAQ's own
# is shrunk as if it were REFERENCE_PRIOR more entry-left-out questions (calibration.reference).
REFERENCE = {"same_language": (0.492, 0.415), "other_languages": (0.369, 0.453)}
REFERENCE_PRIOR = 20


@dataclass(frozen=True)
class Model:
    weights: list[float]  # of FEATURES
    bias: float
    fitted: bool  # False: the public default alone (no entry had a second phrasing to test the FAQ on)

    def confidence(self, x: np.ndarray) -> np.ndarray:
        logits = x @ np.asarray(self.weights) + self.bias
        return 1 / (1 + np.exp(-np.clip(logits, -LOGIT_LIMIT, LOGIT_LIMIT)))


@dataclass(frozen=True)
class Calibration:
    same_language: Model  # for questions in the FAQ's language
    other_languages: Model
    threshold: float
    examples: dict[str, int]  # what it was fitted on
    background_shifts: dict[str, float]  # language -> how much nearer the background translation into it moves
    # model -> (score, background) of the FAQ's entry-left-out questions (shrunk toward REFERENCE),
    # where the public default was placed
    reference: dict[str, list[float]] = field(default_factory=dict)
    # What the fit rests on besides the phrasings (build.fit_inputs), and how many phrasings were
    # added, removed, reworded or moved since it was fitted: a rebuild keeps it while few were
    fitted_for: str = ""
    changed: int = 0

    @classmethod
    def from_json(cls, data: dict) -> Calibration:
        models = {key: Model(**data[key]) for key in ("same_language", "other_languages")}
        return cls(**{**data, **models})

    def basis(self) -> str:
        """What this confidence rests on, in a line for the build's output."""
        refused = self.examples.get("labelled_no_match", 0)
        return self._basis() + (f"; {refused:,} questions labelled not for this FAQ" if refused else "")

    def _basis(self) -> str:
        if self.same_language.fitted:
            own = self.examples.get("own_weight_percent", 100)
            asked = self.examples.get("answerable", 0)
            return f"its own {asked:,} phrasings asked as questions ({own}%) and the public default ({100 - own}%)"
        if not self.measured():
            return "the public default, placed where public FAQs' in-domain questions sit (this FAQ is too small)"
        return "the public default, placed at this FAQ's own in-domain questions (no entry has a second phrasing)"

    def measured(self) -> bool:
        """Whether the reference is mostly this FAQ's own (else mostly the public one)."""
        return self.examples.get("entry_left_out", 0) >= REFERENCE_PRIOR

    def model(self, same_language: bool) -> Model:
        return self.same_language if same_language else self.other_languages

    def confidence(self, ranking: Ranking, same_language: bool) -> np.ndarray:
        """One question's candidates -> their confidences, never increasing down the ranking."""
        return np.minimum.accumulate(self.model(same_language).confidence(features(ranking)))

    def no_match(self, ranking: Ranking, language: str, same_language: bool, threshold: float) -> tuple[str, int]:
        """Why a question (in `language`) whose best candidate is under `threshold` got no match,
        and how many of the first candidates a "did you mean" offers (0 unless ambiguous)."""
        background = ranking.background - language_shift(self.background_shifts, language)
        if not len(ranking.entries) or background >= ranking.retrieved[0]:  # (False when nan)
            return "off_topic", 0
        model = self.model(same_language)
        for n in range(2, min(AMBIGUOUS_UP_TO, len(ranking.entries)) + 1):
            if model.confidence(group_features(ranking, n)) >= threshold:
                return "ambiguous", n
        return "low_confidence", 0


def language_shift(shifts: dict[str, float], language: str) -> float:
    """A language's background shift; one without a measured shift gets the mean of the others."""
    found = shifts.get(language)
    return found if found is not None else float(np.mean(list(shifts.values()))) if shifts else 0.0


def _features(scores: np.ndarray, others: np.ndarray, background: np.ndarray | float) -> np.ndarray:
    """(rows, FEATURES): a score, its margin over the best other candidate's, and the question's
    background similarity (0 where the index has no background)."""
    return np.stack([scores, scores - others, np.broadcast_to(np.nan_to_num(background), scores.shape)], axis=1)


def features(ranking: Ranking) -> np.ndarray:
    """(candidates, FEATURES) of each candidate of a ranking."""
    scores = ranking.scores.astype(np.float64)
    if not len(scores):
        return np.zeros((0, len(FEATURES)))
    others = np.full(len(scores), scores[0])
    others[0] = scores[1] if len(scores) > 1 else ranking.rest
    return _features(scores, others, ranking.background)


def first_features(firsts: Firsts) -> np.ndarray:
    """(questions, FEATURES) of each question's first candidate, as `features` gives its first row."""
    return _features(firsts.scores, firsts.others, firsts.background)


def group_features(ranking: Ranking, n: int) -> np.ndarray:
    """The features the first `n` candidates would have as one entry: the weakest one's score, and
    its margin over the first candidate outside them."""
    scores = ranking.scores.astype(np.float64)
    outside = scores[n] if len(scores) > n else ranking.rest
    return _features(scores[n - 1 : n], np.array([outside]), ranking.background)[0]
