"""`faqsearch import` of a Rasa project as teams keep one. tests/data/imports/rasa-shop is written
by hand in the layout of Rasa's docs ("Training Data Format", "Responses", "Fallback and Human
Handoff"): retrieval intents over data/nlu/*.yml, responses in domain.yml and data/responses.yml,
an `out_of_scope/other` group, rich responses (a multi-line Markdown text, an image, buttons, a
Slack-only variation, custom payloads), and beside them a docker-compose.yml, which Rasa does not
read (its alias is defined in another file, so it is not valid YAML on its own)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from faqsearch import load_faqs
from faqsearch.faqs import Related
from faqsearch.importers import import_faq
from faqsearch.importers.rasa import files, out_of_scope

SHOP = Path(__file__).parent / "data" / "imports" / "rasa-shop"


@pytest.fixture(scope="module")
def shop():
    return import_faq(SHOP)


def entry(imported, entry_id: str):
    return next(e for e in imported.entries if e.id == entry_id)


def test_only_what_rasa_trains_on_is_read(shop):
    assert {path.relative_to(SHOP).as_posix() for path in files(SHOP)} == {
        "config.yml", "domain.yml", "data/responses.yml", "data/rules.yml",
        "data/nlu/chitchat.yml", "data/nlu/faq.yml", "data/nlu/out_of_scope.yml",
    }  # fmt: skip
    assert {e.id for e in shop.entries} == {"pay", "track_order", "refund", "reset_password", "ask_name"}


def test_out_of_scope_examples_are_no_match_questions_not_an_entry(shop):
    assert [question for question, _ in shop.no_match] == [
        "What's the weather tomorrow?",
        "Order me a pizza",
        "Who won the football match?",
    ]
    assert "out_of_scope" not in shop.report.tags and entry(shop, "ask_name").tags == ("chitchat",)  # answered
    assert (
        f"{SHOP / 'data/nlu/out_of_scope.yml'}:line 3: 3 example(s) of out-of-scope intent(s) out_of_scope/other"
        " imported as no-match questions (the FAQ's `no_match:`), not entries"
    ) in shop.report.warnings


@pytest.mark.parametrize(
    ("intent", "unanswered"),
    [
        ("out_of_scope/other", True),  # rasa-demo
        ("out_of_scope", True),  # Rasa docs, "Fallback and Human Handoff"
        ("out-of-scope", True),
        ("nlu_fallback", True),  # the FallbackClassifier's intent
        ("faq/oos_inquire", True),  # RasaHQ/carbon-bot
        ("faq/oos-future_inquire-ask", True),
        ("chitchat/ask_weather", False),
        ("faq/oostende_ferry", False),
    ],
)
def test_which_intents_are_out_of_scope(intent, unanswered):
    assert out_of_scope(intent) is unanswered


def test_a_variations_warning_points_at_the_response_in_the_domain(shop):
    line = (SHOP / "domain.yml").read_text(encoding="utf-8").splitlines().index("  utter_faq/track_order:") + 1
    # the Slack-only variation is not counted: the answer is a variation for every channel
    assert f"{SHOP / 'domain.yml'}:line {line}: utter_faq/track_order has 2 variations; the first is the answer" in (
        shop.report.warnings
    )


def test_an_image_is_a_markdown_line_buttons_are_related_entries_other_fields_are_reported_once(shop):
    track = entry(shop, "track_order")
    assert track.answer == "Open Orders and click Track.\n\n![](https://shop.example/help/track.png)"
    assert track.related == (  # a `/faq/refund` payload: that intent's entry; a text payload: the entry asking it
        Related("refund", "Where is my refund?"),
        Related("reset_password", "Reset my password"),
    )
    domain = SHOP / "domain.yml"
    dropped = [w for w in shop.report.warnings if "response variation(s) not imported" in w]
    assert [w.removeprefix(f"{domain}:line ").split(": ", 1)[1] for w in dropped] == [
        "`channel` of 1 response variation(s) not imported (an answer carries text, image, buttons)",
        "`custom` of 2 response variation(s) not imported (an answer carries text, image, buttons)",
    ]


def test_a_file_inside_a_project_finds_its_domain_a_lone_one_says_where_its_answers_belong(cli, workdir):
    assert entry(import_faq(SHOP / "data" / "nlu" / "faq.yml"), "pay").question == "How can I pay?"
    shutil.copy(SHOP / "data" / "nlu" / "faq.yml", workdir / "faq.yml")
    result = cli("import", "faq.yml", "--out", "faqs/out.yaml")
    assert result.exit_code == 2 and result.stderr == (
        "error: faq.yml: no domain or responses file holds the answers (utter_faq/pay...); import the Rasa project"
        " folder holding domain.yml, or put the responses file beside faq.yml\n"
    )
    shutil.copy(SHOP / "domain.yml", workdir / "responses.yml")  # the fix it names
    assert cli("import", "faq.yml", "--out", "faqs/out.yaml").exit_code == 0


def test_a_response_keeps_its_line_breaks_and_markdown(cli, workdir):
    assert cli("import", str(SHOP), "--out", "faqs/shop.yaml").exit_code == 0
    assert entry(load_faqs(workdir / "faqs" / "shop.yaml"), "pay").answer == (
        "You can pay:\n\n"
        "- by card\n"
        "- by bank [transfer](https://shop.example/help/transfer)\n\n"
        "Invoices are in **Account > Billing**."
    )
