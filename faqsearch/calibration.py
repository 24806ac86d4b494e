"""Fitting an index's confidence model (confidence.py) when it is built.

The sample is asked through the same retrieval that answers questions (Retriever.rank), hiding
from each question what would give it away (retrieval.LeaveOut), in bounded time (a build's time
grows linearly with the FAQ):
- up to SAMPLE phrasings, each asked with itself left out (right when its own entry comes first),
  and again with its whole entry left out (an on-domain question the FAQ does not answer; the
  classifier's vote for it as from a model that never knew its entry: `without_own_entry`);
- the same phrasings "asked in another language": each plus the difference translation made to
  a sentence of public parallel data (offsets.py), asked in that language; a real translation
  also lies nearer to the background than its original (by 0.03-0.08, measured per language on
  the parallel off-topic sample: `background_shifts`), which such a sum does not reproduce, so
  its background similarity is raised by its language's shift;
- the off-topic sample, 48 chat messages in 40 languages (offtopic.py);
- phrasings the owner labelled in another language (`faqsearch review --apply`) are asked in
  theirs, with the other-language model's real questions; questions the owner labelled as not
  for this FAQ (the FAQ file's `no_match`) are asked as they are, unanswerable;
- BACKGROUND_SAMPLE sentences of the index's background corpus in the FAQ's language and as many in
  others (HARD_SHARE of them the nearest to the FAQ), each with its own translations left out of
  the background (general questions the FAQ does not answer).
Answerable questions weigh ANSWERABLE_SHARE of the sample (a prior measured on public sets:
BENCHMARKS.md), and the kinds of unanswerable ones (entries left out, off-topic messages,
background sentences) share the rest equally, however many of each were asked. The fit is a
logistic regression, ridge-regularized on standardized features, whose per-candidate weights
are kept non-negative (confidence.PER_CANDIDATE), shrunk toward the public default
(confidence.DEFAULT) placed at this FAQ's reference, the more the fewer answerable questions it
has. A FAQ whose entries have one phrasing each has none (a lone phrasing left out leaves nothing
to find it by) and gets the public default alone, placed at its reference: how far its own
unanswered in-domain questions already reach.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from . import logistic
from .background import Vectors
from .confidence import (
    DEFAULT,
    PER_CANDIDATE,
    REFERENCE,
    REFERENCE_PRIOR,
    THRESHOLD,
    Calibration,
    Model,
    first_features,
    language_shift,
)
from .offsets import Differences
from .offtopic import OfftopicSample
from .pooling import Firsts
from .retrieval import LeaveOut, Retriever

SAMPLE = 2000
ASK_ROWS = 512  # sampled phrasings asked (and checked for near-duplicates) at a time: all 2,000 held 11-18 MB
BACKGROUND_SAMPLE = 1000  # background sentences asked in the FAQ's language, and as many in the others
HARD_SHARE = 0.5  # of them, the ones nearest to the FAQ (the rest at random): where the decision is made
# How strongly a FAQ's own fit is shrunk toward the public default: (this / its number of
# answerable sample questions) squared, against the sample's weight of 1: at 40 they weigh the
# same; a FAQ of 3 entries with 3 phrasings each (9) gets the default all but alone; the example
# FAQ's 280 take 98%. Chosen on public and own sets (BENCHMARKS.md): 1/n shrinkage cost
# clinc150-N20 1.8 points of rejection already at a strength that left small FAQs' fits erratic,
# and 80 cost the own long set 2 points of answered-right.
PRIOR_EXAMPLES = 40.0
ANSWERABLE_SHARE = 0.85
# Centered cosine between a phrasing and the nearest phrasing of another entry that the build
# notes: 99.1% of the 5,872 real question pairs this near share their intent, answer or FAQ entry
# (banking77, clinc150, QnA Maker chit-chat, StackFAQ, Québec's and deepset's COVID FAQs), and most
# of the rest are one question written twice (benchmarks/near_duplicates.py, BENCHMARKS.md)
NEAR_DUPLICATE = 0.95
# Raised whenever the fit itself changes, so that a rebuild fits again an index that an earlier
# fit calibrated instead of keeping it (rebuild.fit_inputs). 2: Newton steps halved until they
# decrease the objective (plain ones ran away on nearly separable samples); 3: the background
# index codes with one int8 range (ann.BACKGROUND_CODE), which moves the background feature.
FIT_VERSION = 3


KINDS = ("answerable", "entry_left_out", "off_topic", "background", "labelled_no_match")  # of sample questions


@dataclass
class Sample:
    """What one model is fitted on: the first candidates' features of the sample questions,
    whether each was right, and what kind of question it was (KINDS)."""

    x: list[np.ndarray] = field(default_factory=list)
    right: list[bool] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)

    def add(self, firsts: Firsts, right: np.ndarray, kind: str) -> None:
        """The questions of `firsts` that found an entry, each `right` or not, as of `kind`."""
        found = firsts.entries >= 0
        self.x.extend(first_features(firsts)[found])
        self.right.extend(right[found].tolist())
        self.kind.extend([kind] * int(found.sum()))


@dataclass(frozen=True)
class Background:
    """The background sentences a fit may ask: their vectors, languages, groups (translations of
    one sentence share a group) and nearness to the FAQ."""

    vectors: Vectors  # vectors[rows]: float32 rows (as stored until asked)
    languages: list[str]
    groups: np.ndarray
    nearness: np.ndarray  # each one's cosine to its nearest phrasing of the FAQ

    def translations(self, rows: np.ndarray) -> list[np.ndarray]:
        """For each of `rows`, the rows that translate the same sentence (itself included): hidden
        when it is asked."""
        order = np.argsort(self.groups, kind="stable")
        ordered = self.groups[order]
        starts = np.searchsorted(ordered, self.groups[rows])
        ends = np.searchsorted(ordered, self.groups[rows], side="right")
        return [order[a:b] for a, b in zip(starts, ends, strict=True)]


@dataclass(frozen=True)
class Refused:
    """Questions the owner labelled as not for this FAQ: their vectors and languages."""

    vectors: np.ndarray
    languages: list[str]


def _votes(retriever: Retriever, queries: np.ndarray, languages: list[str], rows: np.ndarray, folds):
    """The entry classifier's vote for each sampled phrasing from the fold model that never saw it."""
    if folds is None:
        return None
    models, fold = folds
    aligned = retriever.align(queries, languages)
    votes = np.empty((len(rows), len(retriever.sizes)), dtype=np.float32)
    for k, model in enumerate(models):
        mine = fold[rows] == k
        votes[mine] = retriever.votes(aligned[mine], model)
    return votes


def without_own_entry(votes: np.ndarray | None, entries: np.ndarray) -> np.ndarray | None:
    """Each question's vote with its own entry's share taken out and the rest renormalized: what
    a classifier that never knew the entry would give (a model that knew it puts its vote there,
    which makes a left-out entry's question look easier to reject than a real one)."""
    if votes is None:
        return None
    votes = votes.copy()
    votes[np.arange(len(entries)), entries] = 0
    return votes / np.maximum(votes.sum(1, keepdims=True), 1e-12)


def background_shifts(offtopic: OfftopicSample, near: np.ndarray, faq_language: str) -> dict[str, float]:
    """Language -> how much nearer to the background the off-topic sample's messages (`near`: their
    background similarities, in the sample's order) are in that language than the same messages in
    the FAQ's (0 for the FAQ's own); empty when the FAQ's language is not in the sample."""
    return {lang: round(float(np.nanmean(d)), 4) for lang, d in offtopic.paired(near, faq_language).items()}


def _ask_phrasings(
    retriever: Retriever,
    phrasings: np.ndarray,
    rows: np.ndarray,
    languages: list[str],
    folds,
    into: Sample,
    translated: tuple[np.ndarray, np.ndarray] | None = None,
    shift: np.ndarray | None = None,
) -> None:
    """Ask sampled phrasings (`rows` of `phrasings`, in `languages`) with themselves left out and
    with their entry left out, ASK_ROWS at a time; `translated` (translation differences, and the
    one added to each) makes them simulated translations, their background similarity raised by
    `shift`."""
    shift = np.zeros(len(rows)) if shift is None else shift
    asked = []
    for start in range(0, len(rows), ASK_ROWS):
        part = slice(start, start + ASK_ROWS)
        queries = phrasings[rows[part]]
        if translated is not None:
            queries += translated[0][translated[1][part]]
        asked.append(_ask_block(retriever, queries, languages[part], rows[part], folds, shift[part]))
    for one_out, right, _ in asked:
        into.add(one_out, right, "answerable")
    for _, _, entry_out in asked:
        into.add(entry_out, np.zeros(len(entry_out.entries), dtype=bool), "entry_left_out")


def _ask_block(
    retriever: Retriever, queries: np.ndarray, languages: list[str], rows: np.ndarray, folds, shift: np.ndarray
) -> tuple[Firsts, np.ndarray, Firsts]:
    """One block of `_ask_phrasings`: the phrasings asked with themselves left out (those of
    entries with another phrasing) and whether each was right, then all asked with their entry
    left out."""
    votes = _votes(retriever, queries, languages, rows, folds)
    entries = retriever.row_entry[rows]
    starts = np.r_[0, np.cumsum(retriever.sizes)]
    entry_out = retriever.firsts(
        queries,
        languages,
        leave_out=LeaveOut(
            rows=[np.arange(starts[e], starts[e + 1]) for e in entries], votes=without_own_entry(votes, entries)
        ),
    )
    several = retriever.sizes[entries] > 1  # a lone phrasing has no other to find it by
    one_out = retriever.firsts(
        queries[several],
        [lang for lang, s in zip(languages, several, strict=True) if s],
        leave_out=LeaveOut(
            rows=[np.array([r]) for r in rows[several]], votes=None if votes is None else votes[several]
        ),
        background=entry_out.background[several],  # the same questions: measured once
    )
    one_out = replace(one_out, background=one_out.background + shift[several])
    entry_out = replace(entry_out, background=entry_out.background + shift)
    return one_out, one_out.entries == entries[several], entry_out


def near_duplicates(
    retriever: Retriever, phrasings: np.ndarray, rows: np.ndarray, row_languages: list[str]
) -> list[tuple[int, int, int]]:
    """(row, other row, other entry) for each of `rows` (of `phrasings`, in row order, each in its
    language of `row_languages`) whose nearest phrasing of another entry is at centered cosine >=
    NEAR_DUPLICATE. Two phrasings compared alone: an entry's pooled score plus the classifier's
    vote, which the build compared before, passed 0.98 for chit-chat questions at 0.74 that mean
    different things. Each is searched deeper (x4) only while its own entry fills what was found
    above the bar; ASK_ROWS at a time (all 2,000 at once held 11 MB of a build's peak)."""
    entries, total = retriever.row_entry[rows], retriever.vectors.ntotal
    found, todo, depth = [], np.arange(len(rows)), 8
    while len(todo):
        again = []
        for start in range(0, len(todo), ASK_ROWS):
            block = todo[start : start + ASK_ROWS]
            languages = [row_languages[r] for r in rows[block]]
            prepared = retriever.weigh(retriever.align(phrasings[rows[block]], languages), languages)
            cosines, near = retriever.search(prepared, min(depth, total))
            for i, c, r in zip(block.tolist(), cosines, near, strict=True):
                other = np.flatnonzero((r >= 0) & (retriever.row_entry[r] != entries[i]))
                if len(other) and c[other[0]] >= NEAR_DUPLICATE:
                    found.append((int(rows[i]), int(r[other[0]]), int(retriever.row_entry[r[other[0]]])))
                elif not len(other) and depth < total and c[-1] >= NEAR_DUPLICATE:
                    again.append(i)
        todo, depth = np.array(again, dtype=int), depth * 4
    return found


def calibrate(
    retriever: Retriever,
    phrasings: np.ndarray,
    row_languages: list[str],
    language: str,
    translations: Differences,
    offtopic: OfftopicSample,
    background: Background | None,
    folds=None,
    refused: Refused | None = None,
    seed: int = 0,
) -> tuple[Calibration, list[tuple[int, int, int]]]:
    """Fit an index's confidence from its phrasing vectors (row order, each in its language of
    `row_languages`; `language` is the FAQ's), the questions the owner `refused`, what
    translation does to a vector (`translations`: differences and the language of each), the
    off-topic sample and the index's `background` sentences (`folds`: the entry classifier's
    out-of-fold models and each row's fold, when the index has a classifier); also returns
    near-duplicate phrasings of different entries."""
    rows, rng = sample(len(phrasings), seed)
    same, other = Sample(), Sample()
    own = np.array([row_languages[r] == language for r in rows], dtype=bool)
    differences, translated_into = translations
    pick = rng.integers(len(differences), size=int(own.sum())) if len(differences) else None
    chosen = _background_questions(rng, background, language)
    # FAISS searches the background for the off-topic messages and the background sentences in a
    # thread of their own while this one asks the phrasings (it releases the GIL): ~0.1 s of the
    # example build's fit (BENCHMARKS.md)
    with ThreadPoolExecutor(1) as apart:
        messages_near = apart.submit(retriever.near_backgrounds, offtopic.vectors, offtopic.languages)
        if chosen is not None:
            asked_background = background.vectors.take(chosen), [background.languages[i] for i in chosen]
            each_own = background.translations(chosen)  # hidden from each: its own translations
            background_near = apart.submit(retriever.near_backgrounds, *asked_background, each_own)
        _ask_phrasings(retriever, phrasings, rows[own], [language] * int(own.sum()), folds, same)
        _ask_phrasings(retriever, phrasings, rows[~own], [row_languages[r] for r in rows[~own]], folds, other)
        duplicates = near_duplicates(retriever, phrasings, rows, row_languages)
        messages = retriever.firsts(offtopic.vectors, offtopic.languages, background=messages_near.result())
        shifts = background_shifts(offtopic, messages.background, language)
        if pick is not None:
            asked = [translated_into[i] for i in pick]
            up = np.array([language_shift(shifts, lang) for lang in asked])
            _ask_phrasings(retriever, phrasings, rows[own], asked, folds, other, (differences, pick), up)
        _add_unanswerable(same, other, messages, np.array(offtopic.languages) == language, "off_topic")
        if refused is not None and len(refused.languages):
            asked = retriever.firsts(refused.vectors, refused.languages)
            _add_unanswerable(same, other, asked, np.array(refused.languages) == language, "labelled_no_match")
        if chosen is not None:
            vectors, languages = asked_background
            asked = retriever.firsts(vectors, languages, background=background_near.result())
            _add_unanswerable(same, other, asked, np.array(languages) == language, "background")
    fits = {name: fit(examples, name) for name, examples in (("same_language", same), ("other_languages", other))}
    counts = {
        "sampled_phrasings": len(rows),
        "answerable": same.kind.count("answerable"),  # phrasings asked with themselves left out
        "entry_left_out": same.kind.count("entry_left_out"),  # what its reference was measured on
        "own_weight_percent": round(100 * own_weight(same.kind.count("answerable"))),
        "labelled_no_match": same.kind.count("labelled_no_match") + other.kind.count("labelled_no_match"),
        "right": int(sum(same.right) + sum(other.right)),
        "asked": len(same.right) + len(other.right),
    }
    return Calibration(
        threshold=THRESHOLD,
        examples=counts,
        background_shifts=shifts,
        reference={name: list(at) for name, (_, at) in fits.items()},
        **{name: model for name, (model, _) in fits.items()},
    ), duplicates


def _add_unanswerable(same: Sample, other: Sample, asked: Firsts, in_faq_language: np.ndarray, kind: str) -> None:
    """Questions none of which the FAQ answers, each to the model of its language."""
    for into, mine in ((same, in_faq_language), (other, ~in_faq_language)):
        into.add(asked.take(mine), np.zeros(int(mine.sum()), dtype=bool), kind)


def sample(phrasings: int, seed: int = 0) -> tuple[np.ndarray, np.random.Generator]:
    """The rows a fit asks (up to SAMPLE, at random, in row order), and the generator that drew
    them for the fit's other draws; the build fits the classifier's fold models without them."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.permutation(phrasings)[:SAMPLE]), rng


def _background_questions(rng: np.random.Generator, background: Background | None, language: str) -> np.ndarray | None:
    """The background sentences a fit asks (BACKGROUND_SAMPLE in the FAQ's `language` and as many
    in others), in corpus order; None without any."""
    if background is None or not len(background.languages):
        return None
    mine, near = np.array([lang == language for lang in background.languages]), background.nearness
    return np.sort(np.r_[_pick(rng, mine, near, BACKGROUND_SAMPLE), _pick(rng, ~mine, near, BACKGROUND_SAMPLE)])


def _pick(rng: np.random.Generator, mask: np.ndarray, nearness: np.ndarray, n: int) -> np.ndarray:
    """Up to `n` of the positions where `mask` holds: the HARD_SHARE nearest to the FAQ, the rest at random."""
    candidates = np.flatnonzero(mask)
    hard = candidates[np.argsort(-nearness[candidates], kind="stable")[: int(HARD_SHARE * n)]]
    rest = rng.permutation(np.setdiff1d(candidates, hard))[: n - len(hard)]
    return np.r_[hard, rest]


def reference(examples: Sample, name: str) -> tuple[float, float]:
    """Where this FAQ's in-domain questions that it does not answer sit: the mean score and
    background of its entry-left-out questions, shrunk toward the public REFERENCE as if that
    were REFERENCE_PRIOR more of them (3 entries of unrelated topics cannot say where a FAQ's
    in-domain questions sit, and placed there alone the default answered general questions)."""
    left_out = np.array([x for x, kind in zip(examples.x, examples.kind, strict=True) if kind == "entry_left_out"])
    public = np.array(REFERENCE[name])
    own = left_out[:, [0, 2]].sum(0) if len(left_out) else np.zeros(2)
    at = (own + REFERENCE_PRIOR * public) / (len(left_out) + REFERENCE_PRIOR)
    return round(float(at[0]), 4), round(float(at[1]), 4)


def public_default(name: str, at: tuple[float, float]) -> Model:
    """The public default (confidence.DEFAULT) for a FAQ whose reference is `at`: its weights
    apply to the features less the reference, which moves only the bias."""
    *weights, bias = DEFAULT[name]
    return Model(list(weights), round(bias - weights[0] * at[0] - weights[2] * at[1], 6), False)


def prior_strength(answerable: int) -> float:
    """How strongly a fit of `answerable` sample questions is shrunk toward the public default."""
    return (PRIOR_EXAMPLES / answerable) ** 2 if answerable else float("inf")


def own_weight(answerable: int) -> float:
    """The share of a fit that is the FAQ's own sample rather than the public default."""
    return 1 / (1 + prior_strength(answerable))


def fit(examples: Sample, name: str) -> tuple[Model, tuple[float, float]]:
    """Model `name` (same_language, other_languages) from its sample, and this FAQ's reference:
    the public default placed at the reference, moved toward the FAQ's own answerable questions
    as far as their number supports (PRIOR_EXAMPLES)."""
    at = reference(examples, name)
    prior = public_default(name, at)
    answerable = examples.kind.count("answerable")
    if not answerable:
        return prior, at
    weights = logistic.fit(
        np.array(examples.x),
        np.array(examples.right, dtype=bool),
        example_weights(examples.kind),
        np.r_[prior.weights, prior.bias],
        prior_strength(answerable),
        PER_CANDIDATE,
    )
    return Model([round(float(w), 6) for w in weights[:-1]], round(float(weights[-1]), 6), True), at


def example_weights(kinds: list[str]) -> np.ndarray:
    """Answerable questions weigh ANSWERABLE_SHARE in all, and each kind of unanswerable ones an
    equal part of the rest (all kinds present share everything when one side is missing)."""
    kinds_array = np.array(kinds)
    present = [k for k in KINDS if (kinds_array == k).any()]
    unanswerable = [k for k in present if k != "answerable"]
    share = {k: 1 / len(present) for k in present}
    if "answerable" in present and unanswerable:
        share = {"answerable": ANSWERABLE_SHARE} | {k: (1 - ANSWERABLE_SHARE) / len(unanswerable) for k in unanswerable}
    weights = np.zeros(len(kinds))
    for kind in present:
        mine = kinds_array == kind
        weights[mine] = share[kind] / mine.sum()
    return weights
