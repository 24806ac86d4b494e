"""Learning from customers: `faqsearch review` chooses logged questions worth a label, and
`faqsearch review --apply` writes labels into the FAQ file, keeping the owner's formatting, and
rebuilds the index. The FAQ file is never touched by a label file that is not valid whole."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from faqsearch import review
from faqsearch.errors import InputFileError
from faqsearch.faqs import load_faqs
from faqsearch.labels import apply, load_labels
from faqsearch.retrieval import Alignment, PartInfo, index_vectors
from faqsearch.search import FAQSearch

OWNERS_FAQ = """\
# Our shop's FAQ: keep answers short.
language: en
faqs:
    # billing ------------------------------------------------
    -   id: cancel-subscription
        question: How do I cancel my subscription?
        alternatives: [I want to stop my plan]   # flow style, as the owner wrote it
        answer: "Go to Settings > Billing > Cancel plan."

    -   id: track-order
        question: 'Where is my order?'
        answer: |
            Open Orders and click Track.
            It shows where your parcel is.
"""


def write_labels(path: Path, *labels: dict | str) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in labels), encoding="utf-8")
    return path


def test_labels_are_written_into_the_faq_keeping_its_comments_quotes_and_indentation(tmp_path):
    faq_path = tmp_path / "shop.yaml"
    faq_path.write_text(OWNERS_FAQ, encoding="utf-8")
    faq = load_faqs(faq_path)
    labels = write_labels(
        tmp_path / "labels.jsonl",
        {"question": "how do I end my plan", "entry": "cancel-subscription", "language": "en"},
        {
            "question": "¿Dónde está mi pedido?",
            "entry": "track-order",
            "language": "es",
            "covers": [["¿dónde está mi paquete?", "es"]],
        },
        {"question": "what's the weather tomorrow", "entry": "none", "language": "en"},
        {"question": "do you sell gift cards?", "entry": "new", "answer": "Not yet.", "language": "en"},
    )
    applied = apply(faq, load_labels(labels, faq))
    assert (applied.phrasings, applied.no_match, applied.new_entries) == (3, 1, ["do-you-sell-gift-cards"])
    text = faq_path.read_text(encoding="utf-8")
    grown = "alternatives: [I want to stop my plan, how do I end my plan]   # flow style, as the owner wrote it"
    added = [
        "        alternatives:",
        "          - {text: '¿Dónde está mi pedido?', language: es}",
        "          - {text: '¿dónde está mi paquete?', language: es}",
        "    -   id: do-you-sell-gift-cards",
        "        question: 'do you sell gift cards?'",
        "        answer: Not yet.",
        "no_match:",
        "  - what's the weather tomorrow",
    ]
    lines = text.splitlines()
    assert [line for line in lines if line not in added] == [
        line.replace("alternatives: [I want to stop my plan]", grown.split("   #")[0])
        for line in OWNERS_FAQ.splitlines()
    ]  # every byte the owner wrote is still there, in place; only lines were added and one list grew
    assert [line for line in lines if line in added] == added
    updated = load_faqs(faq_path)
    track = updated.entries[1]
    assert track.alternatives == ("¿Dónde está mi pedido?", "¿dónde está mi paquete?")
    assert track.phrasing_languages("en") == ["en", "es", "es"]
    assert updated.no_match == (("what's the weather tomorrow", "en"),)
    assert updated.entries[2].id == "do-you-sell-gift-cards" and updated.entries[2].answer == "Not yet."


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('{"question": "hi there", "entry": "track-order"', "labels.jsonl:2: not JSON"),
        ('{"question": "where is it", "enrty": "track-order"}', "unknown field `enrty`"),
        ('{"question": "where is it", "entry": "shipping"}', "entry `shipping` is not in the FAQ"),
        ('{"question": "where is my order?", "entry": "track-order"}', "already a phrasing of entry `track-order`"),
        ('{"question": "gift cards?", "entry": "new"}', "field `answer` is missing"),
        ('{"question": "¿tarjetas regalo?", "entry": "new", "answer": "No.", "language": "es"}', "add `new_question`"),
        ('{"question": "where is it", "entry": "none", "language": "Spanish"}', "ISO 639-1"),
        ('{"question": "how do I end my plan", "entry": "track-order"}', "labelled `cancel-subscription` on line 1"),
    ],
)
def test_a_bad_label_file_names_its_line_exits_2_and_leaves_the_faq_untouched(tmp_path, cli, line, says):
    faq_path = tmp_path / "shop.yaml"
    faq_path.write_text(OWNERS_FAQ, encoding="utf-8")
    labels = write_labels(
        tmp_path / "labels.jsonl", '{"question": "how do I end my plan", "entry": "cancel-subscription"}', line
    )
    result = cli("review", "--apply", str(labels), str(faq_path))
    assert result.exit_code == 2
    assert says in result.stderr and "labels.jsonl" in result.stderr and len(result.stderr.splitlines()) == 1
    assert faq_path.read_text(encoding="utf-8") == OWNERS_FAQ
    assert not (tmp_path / "indexes").exists()


def test_the_faq_refuses_a_no_match_question_that_is_also_a_phrasing(tmp_path):
    faq_path = tmp_path / "shop.yaml"
    faq_path.write_text(OWNERS_FAQ + "no_match:\n  - where is my order?\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"no_match\[0\].*also a phrasing of entry `track-order`"):
        load_faqs(faq_path)


def test_a_phrasing_in_another_language_is_stored_where_that_language_is_asked():
    """The stored vector of a Spanish phrasing has Spanish's offset removed, as a Spanish question has."""
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(2, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    offset = rng.normal(size=8).astype(np.float32) * 0.3
    parts, alignments = [PartInfo("e5", 8, 1.0, None)], [Alignment(np.zeros(8, np.float32), {"es": offset})]
    stored = index_vectors(vectors, ["en", "es"], parts, alignments)
    shifted = vectors[1] - offset
    np.testing.assert_allclose(stored[1], shifted / np.linalg.norm(shifted), rtol=1e-5)
    np.testing.assert_allclose(stored[0], vectors[0], rtol=1e-5)


def test_review_lists_uncertain_questions_once_per_group_with_feedback_and_leaves_out_the_known(shop_index, cli):
    log = shop_index.parent.parent / "questions.jsonl"
    asked = [
        "How do I cancel my subscription?",  # in the FAQ
        "where is my order?",  # in the FAQ, as a repeat would be
        "can I pay by bank transfer?",
        "can I pay via bank transfer?",  # near-duplicates: one group (aligned cosine 0.99 and 0.97 on every engine)
        "Can I pay with a bank transfer?",
        "¿cuánto cuesta el envío?",
        "How can I cancel my subscription?",  # answered with confidence: offered to accept at once
    ]
    assert cli("ask", "--question-log", str(log), "--index", "shop", *asked).exit_code == 0
    spanish = json.loads(log.read_text(encoding="utf-8").splitlines()[5])
    feedback = {"kind": "feedback", "request_id": spanish["request_id"], "number": 5, "index": "shop"}
    with open(log, "a", encoding="utf-8") as f:
        f.write(json.dumps(feedback | {"feedback": "chose", "entry": "track-order"}) + "\n")
    result = cli("review", str(log), "--index", "shop", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    items = {item["question"]: item for item in report["items"]}
    assert set(items) == {"can I pay by bank transfer?", "¿cuánto cuesta el envío?"}
    assert items["can I pay by bank transfer?"]["represents"] == 3
    assert [c[0] for c in items["can I pay by bank transfer?"]["covers"]] == [
        "can I pay via bank transfer?",
        "Can I pay with a bank transfer?",
    ]
    assert items["¿cuánto cuesta el envío?"]["suggested"] == "track-order"  # what the bot's feedback said
    assert report["left_out"] == {"already in the FAQ": 2, "answered with confidence >= 0.8": 1}
    assert report["confident"] == [["How can I cancel my subscription?", "en", "cancel-subscription"]]
    [new] = report["new_entries"]
    assert new["count"] == 3 and new["languages"] == {"en": 3}
    labels = shop_index.parent.parent / "labels.jsonl"
    assert cli("review", str(log), "--index", "shop", "--out", str(labels)).exit_code == 0
    written = [json.loads(line) for line in labels.read_text(encoding="utf-8").splitlines()]
    assert {"question": "¿cuánto cuesta el envío?", "language": "es", "entry": "track-order"} in written
    assert written[-1] == {
        "question": "How can I cancel my subscription?",
        "language": "en",
        "entry": "cancel-subscription",
    }


def test_applied_labels_are_answered_after_the_incremental_rebuild(shop_index, small_faq, cli):
    labels = write_labels(
        small_faq.parent / "labels.jsonl",
        {"question": "¿cuánto cuesta el envío?", "entry": "track-order", "language": "es"},
        {"question": "tell me a joke", "entry": "none", "language": "en"},
    )
    result = cli("review", "--apply", str(labels), str(small_faq))
    assert result.exit_code == 0, result.stderr
    assert "wrote 1 phrasings, 1 no-match questions" in result.stdout and "(1 embedded, 5 reused)" in result.stdout
    assert "1 questions labelled not for this FAQ" in result.stdout
    answer = FAQSearch.open(shop_index).ask("¿cuánto cuesta el envío?")
    assert answer.match is not None and answer.match.id == "track-order"
    queries = small_faq.parent / "queries.yaml"
    queries.write_text(
        "queries:\n  - {question: ¿cuánto cuesta el envío?, expected: track-order, language: es}\n"
        "  - {question: Where is my order?, expected: track-order, language: en}\n",
        encoding="utf-8",
    )
    result = cli("eval", str(queries), "--index", "shop", "--compare", "previous", "--json")
    assert result.exit_code == 0, result.stderr
    gains = {g["language"]: g for g in json.loads(result.stdout)["gains"]}
    assert gains["es"]["accuracy_after"] == 1.0 and gains["en"]["accuracy_before"] == gains["en"]["accuracy_after"]


def test_review_says_which_questions_came_from_another_index_or_version(tmp_path):
    line = {"kind": "question", "request_id": "r1", "number": 0, "question": "hello?", "language": "en"}
    records = list(
        enumerate(
            [
                line | {"index": "shop", "version": "v1"},
                line | {"index": "shop", "version": "v0"},
                line | {"index": "blog", "version": "v1"},
            ],
            1,
        )
    )
    logged, notes = review.from_log(records, "shop", "v1")
    assert len(logged) == 2
    assert any("another index (`blog`)" in n for n in notes) and any(
        "1 questions were asked of another version" in n for n in notes
    )


def test_a_log_line_that_is_not_json_is_named_with_its_line(shop_index, cli, tmp_path):
    log = tmp_path / "questions.jsonl"
    log.write_text(
        '{"kind": "question", "request_id": "r", "question": "hi", "index": "shop"}\nnot json\n', encoding="utf-8"
    )
    result = cli("review", str(log), "--index", "shop")
    assert result.exit_code == 2 and "questions.jsonl:2:" in result.stderr and len(result.stderr.splitlines()) == 1


EDGES = (
    "language: en\r\n"
    "faqs:\r\n"
    "- id: a\r\n"
    "  question: How do I pay?\r\n"
    "  alternatives: []\r\n"
    "  answer: >\r\n"
    "    By card.\r\n"
    "\r\n"
    "  # the owner's note on b\r\n"
    "- id: b\r\n"
    "  question: Where is it?\r\n"
    "  answer: |\r\n"
    "    Track it.\r\n"
    "\r\n"
    "# end of the FAQ"
)


def test_edits_keep_crlf_empty_flow_lists_block_answers_and_a_last_line_without_newline(tmp_path):
    faq_path = tmp_path / "edges.yaml"
    faq_path.write_bytes(EDGES.encode())
    faq = load_faqs(faq_path)
    labels = write_labels(
        tmp_path / "labels.jsonl",
        {"question": "can I pay by card", "entry": "a", "language": "en"},
        {"question": "wo ist mein Paket", "entry": "b", "language": "de"},
        {"question": "tell me a joke", "entry": "none", "language": "en"},
        {
            "question": "do you ship abroad?",
            "entry": "new",
            "answer": "Yes:\r\n\n- by air  \n- by sea",
            "language": "en",
        },
    )
    apply(faq, load_labels(labels, faq))
    text = faq_path.read_bytes().decode()
    assert "\n" not in text.replace("\r\n", "")  # every line ends as the owner's do
    assert "  alternatives: [can I pay by card]\r\n" in text
    assert "  question: Where is it?\r\n  alternatives:\r\n    - {text: wo ist mein Paket, language: de}\r\n" in text
    assert "    Track it.\r\n- id: do-you-ship-abroad\r\n" in text  # after the last entry, before the closing comment
    assert text.endswith("# end of the FAQ\r\nno_match:\r\n  - tell me a joke\r\n")
    assert "  answer: >\r\n    By card.\r\n\r\n  # the owner's note on b\r\n" in text  # the folded answer as it was
    updated = load_faqs(faq_path)
    assert updated.entries[0].alternatives == ("can I pay by card",)
    assert updated.entries[0].answer == "By card."
    assert updated.entries[1].languages == {"wo ist mein Paket": "de"}
    assert "  answer: |-\r\n    Yes:\r\n\r\n    - by air\r\n    - by sea\r\n" in text  # its lines, as a block
    assert updated.entries[2].id == "do-you-ship-abroad" and updated.entries[2].answer == "Yes:\n\n- by air\n- by sea"
    assert updated.no_match == (("tell me a joke", "en"),)
