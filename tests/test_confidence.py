"""The confidence model (confidence.py), its fit (calibration.py) and why a question got no match:
unit tests on made-up rankings and samples, then the example FAQ end to end."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import EXAMPLE_FAQ

from faqsearch import FAQSearch, calibration, load_faqs, logistic
from faqsearch.build import build_index
from faqsearch.confidence import DEFAULT, FEATURES, REFERENCE, REFERENCE_PRIOR, Calibration, Model, features
from faqsearch.encoders import get_encoder
from faqsearch.offtopic import OfftopicSample
from faqsearch.pooling import Ranking
from faqsearch.retrieval import Retriever

FAQ_WITH_TWINS = """\
language: en
faqs:
  - id: reset-password
    question: How do I reset my password?
    alternatives: [I forgot my password, change my password]
    answer: Click "Forgot password".
  - id: password-reset-link
    question: How do I reset my password with the link?
    alternatives: [I forgot my password and need the reset link, the password reset link]
    answer: The link in the e-mail is valid for an hour.
  - id: track-order
    question: Where is my order?
    alternatives: [How can I track my package?, my parcel has not arrived]
    answer: Open Orders and click Track.
"""


def ranking(scores, nearest=None, background=0.3, rest=0.0) -> Ranking:
    scores = np.array(scores, dtype=np.float32)
    retrieved = np.array([nearest if nearest is not None else scores[0]], dtype=np.float32)
    n = len(scores)
    return Ranking(np.arange(n), scores, np.arange(n), rest, retrieved, background)


def calibration_of(weights, bias=0.0) -> Calibration:
    model = Model(list(weights), bias, True)
    return Calibration(model, model, 0.5, {}, {"en": 0.0, "de": 0.05})


def test_features_are_score_margin_and_background():
    x = features(ranking([0.8, 0.5, 0.4], background=0.1))
    assert x.shape == (3, len(FEATURES))
    np.testing.assert_allclose(x[:, 0], [0.8, 0.5, 0.4], atol=1e-6)
    np.testing.assert_allclose(x[:, 1], [0.3, -0.3, -0.4], atol=1e-6)  # over the best other candidate
    np.testing.assert_allclose(x[:, 2], 0.1, atol=1e-6)  # the same for every candidate of a question
    assert features(ranking([0.8], background=float("nan")))[0, 2] == 0  # an index without background


def test_confidence_never_rises_down_the_ranking():
    confidences = calibration_of([5.0, 8.0, -6.0]).confidence(ranking([0.7, 0.69, 0.2]), True)
    assert list(confidences) == sorted(confidences, reverse=True)
    assert confidences.min() > 0 and confidences.max() < 1


@pytest.mark.parametrize(
    ("case", "reason", "offered"),
    [
        (ranking([0.3, 0.2], nearest=0.35, background=0.5), "off_topic", 0),  # nearer ordinary sentences
        (ranking([0.72, 0.71, 0.2], background=0.3), "ambiguous", 2),  # two entries close together
        (ranking([0.72, 0.71, 0.70, 0.2], background=0.3), "ambiguous", 3),
        (ranking([0.45, 0.40], background=0.3, rest=0.35), "low_confidence", 0),
        (Ranking(np.zeros(0, int), np.zeros(0), np.zeros(0, int), 0.0, np.zeros(0)), "off_topic", 0),
    ],
)
def test_why_no_match(case, reason, offered):
    model = calibration_of([10.0, 20.0, -5.0], -8.0)
    assert (model.confidence(case, True) < 0.5).all()
    assert model.no_match(case, "en", True, 0.5) == (reason, offered)


def test_off_topic_allows_for_what_translation_does_to_background_similarity():
    """A German question sits 0.05 nearer the background than its English original would."""
    model = calibration_of([10.0, 20.0, -5.0], -8.0)
    near = ranking([0.3, 0.2], nearest=0.33, background=0.36)
    assert model.no_match(near, "en", True, 0.5)[0] == "off_topic"
    assert model.no_match(near, "de", False, 0.5)[0] == "low_confidence"
    assert model.no_match(near, "ja", False, 0.5)[0] == "off_topic"  # unmeasured: the mean shift, 0.025


def sample(rng, n=400) -> calibration.Sample:
    """Right answers score higher than wrong ones; general sentences sit nearer the background."""
    out = calibration.Sample()
    for i in range(n):
        kind = calibration.KINDS[i % 4]
        right = kind == "answerable" and i % 8 == 0
        score = rng.normal(0.7 if right else 0.45, 0.08)
        background = rng.normal(0.1 if kind == "background" else -0.2, 0.05)
        out.x.append(np.array([score, rng.normal(0.2 if right else 0.05, 0.05), background]))
        out.right.append(right)
        out.kind.append(kind)
    return out


def test_the_fit_learns_score_up_and_background_down(monkeypatch):
    monkeypatch.setattr(calibration, "PRIOR_EXAMPLES", 0.0)  # what the sample alone says
    model, _ = calibration.fit(sample(np.random.default_rng(0)), "same_language")
    assert model.fitted
    assert model.weights[0] > 0 and model.weights[1] >= 0
    assert model.weights[2] < 0  # nearer the background: less likely the right answer


def test_per_candidate_weights_are_never_negative(monkeypatch):
    """A margin that runs against being right would let a lower candidate outrank a higher one:
    its weight is dropped to zero, while the question's background may take any sign."""
    monkeypatch.setattr(calibration, "PRIOR_EXAMPLES", 0.0)  # what the sample alone says
    data = sample(np.random.default_rng(1))
    for x, right in zip(data.x, data.right, strict=True):
        x[1] = -0.3 if right else 0.3
    model, _ = calibration.fit(data, "same_language")
    assert model.weights[1] == 0 and model.weights[0] > 0


def unanswerable_only(left_out: int) -> calibration.Sample:
    """A single-phrasing FAQ's sample: no answerable question, `left_out` entry-left-out ones."""
    out = calibration.Sample()
    for i in range(left_out):
        out.x.append(np.array([0.40 + 0.01 * (i % 3), 0.05, 0.30]))
        out.right.append(False)
        out.kind.append("entry_left_out")
    out.x.append(np.array([0.2, 0.02, 0.6]))
    out.right.append(False)
    out.kind.append("background")
    return out


def test_a_faq_without_answerable_questions_gets_the_public_default_placed_at_its_reference():
    """One phrasing per entry: nothing answerable to fit on, so the public default applies to the
    features less where this FAQ's own left-out entries sit (only the bias moves), that place
    shrunk toward the public one as if it were REFERENCE_PRIOR more questions."""
    model, at = calibration.fit(unanswerable_only(60), "other_languages")
    public = np.array(REFERENCE["other_languages"])
    expected = (60 * np.array([0.41, 0.30]) + REFERENCE_PRIOR * public) / (60 + REFERENCE_PRIOR)
    assert at == pytest.approx(tuple(expected), abs=1e-4)
    *weights, bias = DEFAULT["other_languages"]
    assert not model.fitted and model.weights == weights
    assert model.bias == pytest.approx(bias - weights[0] * at[0] - weights[2] * at[1], abs=1e-5)
    # a question scoring exactly the reference gets the default's confidence at zero
    assert model.confidence(np.array([at[0], 0.0, at[1]])) == pytest.approx(1 / (1 + np.exp(-bias)), abs=1e-4)


def test_a_faq_without_entries_to_leave_out_sits_at_the_public_reference():
    model, at = calibration.fit(unanswerable_only(0), "same_language")
    assert at == pytest.approx(REFERENCE["same_language"])
    assert model == calibration.public_default("same_language", at)
    assert calibration.fit(calibration.Sample(), "same_language")[0].fitted is False


def test_a_small_sample_stays_near_the_public_default_and_a_large_one_moves_away():
    """Shrinkage instead of a switch: the fewer answerable questions, the nearer the default."""

    def distance(n: int) -> float:
        data = sample(np.random.default_rng(3), n)
        prior = calibration.public_default("same_language", calibration.reference(data, "same_language"))
        model, _ = calibration.fit(data, "same_language")
        return float(np.abs(np.r_[model.weights, model.bias] - np.r_[prior.weights, prior.bias]).sum())

    assert distance(40) < distance(400) < distance(4000)


def test_a_constant_feature_gets_no_weight_and_separable_data_stays_finite():
    data = sample(np.random.default_rng(2))
    for x, right in zip(data.x, data.right, strict=True):
        x[0] = 0.9 if right else 0.1  # perfectly separable
        x[2] = 0.0  # no background
    model, _ = calibration.fit(data, "same_language")
    assert np.isfinite([*model.weights, model.bias]).all()


def test_each_kind_of_unanswerable_question_weighs_the_same_in_all():
    kinds = ["answerable"] * 50 + ["entry_left_out"] * 30 + ["off_topic"] * 5 + ["background"] * 200
    kinds += ["labelled_no_match"] * 2  # the owner's `none` labels count as much as any kind
    weights = calibration.example_weights(kinds)
    by_kind = {k: weights[np.array(kinds) == k].sum() for k in calibration.KINDS}
    assert by_kind["answerable"] == pytest.approx(calibration.ANSWERABLE_SHARE)
    rest = (1 - calibration.ANSWERABLE_SHARE) / 4
    assert [by_kind[k] for k in calibration.KINDS[1:]] == pytest.approx([rest] * 4)
    assert calibration.example_weights(["background"] * 4) == pytest.approx([0.25] * 4)


def test_a_left_out_entrys_question_gets_the_vote_of_a_classifier_that_never_knew_the_entry():
    votes = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
    without = calibration.without_own_entry(votes, np.array([0, 2]))
    assert without == pytest.approx(np.array([[0.0, 0.75, 0.25], [0.5, 0.5, 0.0]]))
    assert calibration.without_own_entry(None, np.array([0])) is None


def test_the_fit_asks_entry_left_out_questions_without_their_entrys_vote(example, monkeypatch):
    """Otherwise the fold model's vote for the hidden entry makes every other entry look unlikely,
    and real questions of entries the FAQ lacks look easier to reject than they are."""
    asked, firsts = [], Retriever.firsts

    def spy(self, queries, languages, leave_out=None, background=None):
        asked.append(leave_out)
        return firsts(self, queries, languages, leave_out, background)

    monkeypatch.setattr(Retriever, "firsts", spy)
    build_index(load_faqs(EXAMPLE_FAQ), get_encoder("e5-aligned"), example.index.path.parent / "again")
    retriever = example.index.retriever
    starts = np.r_[0, np.cumsum(retriever.sizes)]
    entry_out = [o for o in asked if o and o.rows and o.votes is not None and any(len(r) > 1 for r in o.rows)]
    assert entry_out, "no entry-left-out asks seen"
    for leave_out in entry_out:
        for hidden, vote in zip(leave_out.rows, leave_out.votes, strict=True):
            entry = int(np.searchsorted(starts, hidden[0], side="right") - 1)
            assert vote[entry] == 0 and vote.sum() == pytest.approx(1, abs=1e-5)


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    built = build_index(load_faqs(EXAMPLE_FAQ), get_encoder("e5-aligned"), tmp_path_factory.mktemp("idx") / "en")
    return FAQSearch(built.index, get_encoder("e5-aligned"))


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of Australia?",
        "¿Cuál es la capital de Australia?",
        "Was ist die Hauptstadt von Australien?",
        "明日の東京の天気は？",
        "Kedi maması ne kadar sıklıkla verilmeli?",
    ],
)
def test_general_questions_get_no_match_in_any_language(example, question):
    """The issue's examples: before the background corpus, each got a confident answer."""
    answer = example.ask(question)
    assert answer.match is None and answer.no_match == "off_topic"


def test_twin_entries_make_a_question_ambiguous_with_both_offered(tmp_path):
    faq = tmp_path / "twins.yaml"
    faq.write_text(FAQ_WITH_TWINS, encoding="utf-8")
    encoder = get_encoder("e5-aligned")
    search = FAQSearch(build_index(load_faqs(faq), encoder, tmp_path / "idx").index, encoder)
    # a 3-entry FAQ rests on the public default: "reset password" gets reset-password (0.80), and a
    # question that leans on neither twin gets both offered
    assert search.ask("reset password").match.id == "reset-password"
    answer = search.ask("password reset please")
    assert answer.match is None and answer.no_match == "ambiguous"
    assert {hit.id for hit in answer.did_you_mean} == {"reset-password", "password-reset-link"}
    assert search.ask("where is my parcel").no_match is None


def test_a_languages_background_shift_is_measured_on_the_parallel_off_topic_messages():
    """Real translations lie nearer to the background than their originals; simulated ones get
    that shift per language (calibration.background_shifts)."""
    near = [0.5, 0.6, 0.55, 0.7, 0.4, 0.5]
    sample = OfftopicSample(["en", "en", "de", "de", "ta", "ta"], np.zeros((6, 4), dtype=np.float32))
    shifts = calibration.background_shifts(sample, np.array(near), "en")
    assert shifts == pytest.approx({"en": 0.0, "de": 0.075, "ta": -0.1})
    assert calibration.background_shifts(sample, np.array(near), "fr") == {}


def test_a_nearly_separable_sample_fits_where_its_optimum_is_not_where_newton_overshoots():
    """Plain Newton steps from a prior far from the fit ran away on such samples (weights in the
    thousands on clinc150 with all its phrasings, and every question answered): where the fit
    starts must not decide where it ends."""
    x = np.linspace(-1, 1, 200)[:, None]
    right = x[:, 0] > 0.3
    weight = np.full(200, 1 / 200)
    from_zero = logistic.fit(x, right, weight, np.array([0.0, 0.0]))
    from_far = logistic.fit(x, right, weight, np.array([0.0, 5.0]))
    np.testing.assert_allclose(from_far, from_zero, atol=1e-6)
    assert 10 < from_zero[0] < 30 and abs(from_zero[1]) < 30  # steep, not unbounded
