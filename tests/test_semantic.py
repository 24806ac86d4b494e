"""Meaning, with the bundled encoder: the example FAQ answers hand-written customer questions in
13 languages that are not phrasings in the YAML, and says "no match" to unrelated ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import EXAMPLE_FAQ

from faqsearch import FAQSearch, load_faqs
from faqsearch.encoders import get_encoder
from faqsearch.evaluation import NONE, evaluate, load_queries, overall
from faqsearch.index import build_index

QUERIES = Path(__file__).parent / "data" / "chat_queries.yaml"


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> FAQSearch:
    directory = tmp_path_factory.mktemp("indexes") / "en"
    build_index(load_faqs(EXAMPLE_FAQ), get_encoder("e5"), directory)
    return FAQSearch.open(directory)


@pytest.fixture(scope="module")
def figures(example):
    return evaluate(example, load_queries(QUERIES))


def test_the_question_set_is_what_the_issue_asks_for():
    queries = load_queries(QUERIES)
    phrasings = {p.casefold() for e in load_faqs(EXAMPLE_FAQ).entries for p in e.phrasings}
    answerable = [q for q in queries if q.expected != NONE]
    assert len(answerable) >= 40
    assert {"es", "de", "fr", "hi", "ar", "zh", "sw"} <= {q.language for q in answerable}
    assert not any(q.question.casefold() in phrasings for q in queries)


def test_accuracy_at_1_across_languages(figures):
    total = overall(figures)
    per_language = {lang: round(f.accuracy_at_1, 2) for lang, f in figures.items() if f.answerable}
    assert total.accuracy_at_1 >= 0.9, per_language


def test_unrelated_questions_get_no_match(figures):
    total = overall(figures)
    assert total.unanswerable >= 20
    assert total.rejected / total.unanswerable >= 0.9


@pytest.mark.parametrize(
    ("question", "language", "entry"),
    [
        ("मैं अपनी सदस्यता कैसे रद्द करूं?", "hi", "cancel-subscription"),
        ("我怎么取消订阅？", "zh", "cancel-subscription"),
        ("¿Cuánto cuesta el envío?", "es", "shipping-cost"),
    ],
)
def test_answer_comes_in_the_query_language_when_the_faq_has_it(example, question, language, entry):
    answer = example.ask(question)
    assert answer.language == language
    best = answer.candidates[0]
    assert best.id == entry
    expected = next(e for e in example.index.entries if e.id == entry).answers[language]
    assert (best.answer, best.answer_language) == (expected, language)
