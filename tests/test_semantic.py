"""Meaning, with the default encoder (e5-aligned): the example FAQ against tests/queries.yaml,
700 customer questions in 14 languages that are not phrasings in the YAML (20% of them
unanswerable); e5 and e5+use beside it.

The bounds are the measured figures (BENCHMARKS.md) less a small margin, so a change that makes
answers worse fails here; the issue's targets (0.90 in every language) are not reached yet.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLE_FAQ, one_e5_engine

from faqsearch import FAQSearch, load_faqs
from faqsearch.build import build_index
from faqsearch.encoders import get_encoder
from faqsearch.evaluation import NONE, evaluate, load_queries

QUERIES = Path(__file__).parent / "queries.yaml"


def _built(tmp_path_factory, encoder: str) -> FAQSearch:
    directory = tmp_path_factory.mktemp("indexes") / encoder
    build_index(load_faqs(EXAMPLE_FAQ), get_encoder(encoder), directory)
    return FAQSearch.open(directory)


def _report(search: FAQSearch):
    return evaluate(search, load_queries(QUERIES, {e.id for e in search.index.entries}))


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> FAQSearch:
    return _built(tmp_path_factory, "auto")


@pytest.fixture(scope="module")
def report(example):
    return _report(example)


@pytest.fixture(scope="module")
def e5_and_fused(tmp_path_factory) -> tuple[FAQSearch, FAQSearch]:
    """On one engine (conftest.one_e5_engine): across engines, 2 of 153 near-ties flipped."""
    one_e5_engine()
    return _built(tmp_path_factory, "e5"), _built(tmp_path_factory, "e5+use")


@pytest.fixture(scope="module")
def e5(e5_and_fused) -> FAQSearch:
    return e5_and_fused[0]


@pytest.fixture(scope="module")
def e5_report(e5):
    return _report(e5)


@pytest.fixture(scope="module")
def fused(e5_and_fused) -> FAQSearch:
    return e5_and_fused[1]


def test_the_question_set_is_what_the_issue_asks_for():
    queries = load_queries(QUERIES)
    phrasings = {p.casefold() for e in load_faqs(EXAMPLE_FAQ).entries for p in e.phrasings}
    languages = Counter(q.language for q in queries)
    assert len(queries) >= 300 and len(languages) >= 12
    assert {"hi", "ta", "ar", "id", "de", "fr"} <= set(languages)
    assert sum(q.expected == NONE for q in queries) / len(queries) == pytest.approx(0.2, abs=0.02)
    assert not any(q.question.casefold() in phrasings for q in queries)


def test_accuracy_across_languages(report):
    per_language = {lang: f.accuracy_at_1 for lang, f in report.per_language.items()}
    # 0.870 with the off-topic sample's language offsets, 0.843 with the parallel-data ones, which
    # measure better on public data (BENCHMARKS.md "Cross-lingual alignment")
    assert report.overall.accuracy_at_1 >= 0.83, per_language
    assert report.overall.mrr_at_5 >= 0.86
    assert per_language["en"] >= 0.95
    assert min(per_language.values()) >= 0.6, per_language


def test_adding_use_helps_in_its_languages_and_changes_nothing_elsewhere(e5, e5_report, fused):
    """e5+use ranks by e5 alone for a question detected in a language outside USE's 16 (Hindi,
    Tamil, Indonesian...); inside them USE's vote lifts accuracy (BENCHMARKS.md)."""
    questions = [q.question for q in load_queries(QUERIES)]
    pairs = zip(fused.ask_many(questions), e5.ask_many(questions), strict=True)
    outside = [(ours, e5s) for ours, e5s in pairs if ours.language not in get_encoder("use").languages]
    assert len(outside) >= 150
    assert all(ours.candidates[0].id == e5s.candidates[0].id for ours, e5s in outside)
    with_use = _report(fused)
    assert with_use.overall.accuracy_at_1 >= e5_report.overall.accuracy_at_1 + 0.005
    assert with_use.per_language["tr"].accuracy_at_1 > e5_report.per_language["tr"].accuracy_at_1


def test_a_fused_index_answers_sentiment_with_its_e5_part(e5, fused):
    question = "¡Llevo tres semanas esperando mi reembolso!"
    feeling = fused.ask(question, sentiment=True).sentiment
    assert feeling == e5.ask(question, sentiment=True).sentiment
    assert feeling.label == "negative"


def test_the_default_answers_more_questions_right_than_e5(report, e5_report):
    """Why e5-aligned is the default (BENCHMARKS.md: accuracy@1 0.863 against e5's 0.843; answered right
    0.770 against e5's 0.704; before the background corpus 0.789 against 0.730)."""
    assert report.overall.accuracy_at_1 >= e5_report.overall.accuracy_at_1
    assert report.overall.answered_correctly >= e5_report.overall.answered_correctly + 0.04


def test_no_match_at_the_default_confidence(report):
    # 0.671 with the background corpus (issue #27), 0.521 before it (e5 then: 0.614), for 0.770
    # answered right instead of 0.789; 0.771 / 0.730 before simulated translations got their
    # language's background shift (BENCHMARKS.md).
    assert report.overall.rejected >= 0.64
    assert report.overall.answered_correctly >= 0.75
    assert report.no_match_recall == report.overall.rejected


def test_confidence_is_calibrated(report, example):
    # 0.033 with the background corpus (issue #27); 0.065 before it (e5: 0.036; the 8-layer e5-aligned
    # 0.054); 0.092 with the off-topic sample's translations
    assert report.expected_calibration_error <= 0.05
    confident = [b for b in report.calibration if b.low >= 0.8]
    unsure = [b for b in report.calibration if b.high <= 0.2]
    assert confident and unsure
    assert min(b.accuracy for b in confident) > max(b.accuracy for b in unsure)
    calibration = example.index.manifest.calibration
    assert calibration.same_language.fitted and calibration.other_languages.fitted  # on the FAQ, not the defaults


def test_language_offsets_help_the_hardest_languages(example):
    """Removing the language offset is what lifts Tamil and Arabic questions (BENCHMARKS.md)."""
    queries = [q for q in load_queries(QUERIES) if q.language in ("ta", "ar", "hi") and q.expected != NONE]
    with_offsets = evaluate(example, queries).overall.accuracy_at_1
    alignment = example.index.retriever.alignments[0]
    offsets, alignment.offsets = alignment.offsets, {}
    try:
        without = evaluate(example, queries).overall.accuracy_at_1
    finally:
        alignment.offsets = offsets
    assert with_offsets > without


@pytest.mark.parametrize(
    ("question", "language", "entry"),
    [
        ("मैं अपनी सदस्यता कैसे रद्द करूं?", "hi", "cancel-subscription"),
        ("我的包裹现在到哪里了？", "zh", "track-order"),
        ("¿Cuánto cuesta el envío?", "es", "shipping-cost"),
    ],
)
def test_answer_comes_in_the_query_language_when_the_faq_has_it(example, question, language, entry):
    answer = example.ask(question)
    assert answer.language == language
    assert answer.match is not None and answer.match.id == entry
    expected = next(e for e in example.index.entries if e.id == entry).answers[language]
    assert (answer.match.answer, answer.match.answer_language) == (expected, language)


@pytest.fixture(scope="module")
def one_question_per_answer(tmp_path_factory):
    """The example FAQ with only each entry's first question: the shape of most real FAQs (a
    QnA Maker knowledge base, a FAQ page), which cannot test its confidence on its own phrasings."""
    data = yaml.safe_load(EXAMPLE_FAQ.read_text(encoding="utf-8"))
    for entry in data["faqs"]:
        entry.pop("alternatives", None)
    folder = tmp_path_factory.mktemp("one-question")
    path = folder / "one.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    built = build_index(load_faqs(path), get_encoder("e5-aligned"), folder / "index")
    return built, _report(FAQSearch(built.index, get_encoder("e5-aligned")))


def test_a_faq_of_one_question_per_answer_needs_no_fallback(one_question_per_answer):
    built, _ = one_question_per_answer
    assert not [note for note in built.notes if "confidence" in note]
    calibration = built.index.manifest.calibration
    assert calibration.measured()  # its 40 phrasings asked with their entry left out say where it sits
    assert not calibration.same_language.fitted
    assert calibration.basis() == (
        "the public default, placed at this FAQ's own in-domain questions (no entry has a second phrasing)"
    )


def test_a_faq_of_one_question_per_answer_rejects_what_it_does_not_cover_in_every_language(one_question_per_answer):
    """Measured (BENCHMARKS.md "One question per answer"): 0.900 rejected, 0.289 answered right,
    0.036 wrong, in 14 languages; the default of issue #27 rejected 0.743 (0.338 right, 0.046 wrong)."""
    _, report = one_question_per_answer
    assert report.overall.rejected >= 0.87
    assert report.overall.answered_correctly >= 0.27
    assert report.overall.answered - report.overall.answered_correctly <= 0.05
