"""What the FAQ's owner wrote reaches the customer as written: an answer's lines and paragraphs,
the entries it offers next (`related:`), and the FAQ's `default_answer` when nothing matches, on
the command line (text and --json) and over HTTP. The MCP tool, LangChain and Rasa carry the same
(test_integrations.py)."""

from __future__ import annotations

import json

import pytest
from conftest import BILLING, OPTIONS, SMALL_FAQ
from fastapi.testclient import TestClient

from faqsearch.serving.app import create_app
from faqsearch.serving.tenants import Tenants

ASKED = "I have a question about my bill"
OFF_TOPIC = "what is the capital of Australia?"


@pytest.fixture
def billing(cli, workdir):
    faq = workdir / "faqs" / "shop.yaml"
    faq.parent.mkdir(exist_ok=True)
    faq.write_text(SMALL_FAQ + BILLING, encoding="utf-8")
    assert cli("build", str(faq)).exit_code == 0
    return workdir / "indexes" / "shop"


def test_ask_prints_an_answer_line_by_line_and_the_entries_it_offers(cli, billing):
    lines = cli("ask", ASKED).stdout.splitlines()
    assert lines[0].startswith("billing-help  confidence ")
    assert lines[2:6] == [
        "  answer (en): Choose one of the options below.",
        "",
        "    - Cancelling",
        "    - Passwords",
    ]
    assert lines[6:] == [
        "  related: cancel-subscription (Cancel my plan)",
        "  related: reset-password (How do I reset my password?)",
    ]
    refused = cli("ask", OFF_TOPIC).stdout.splitlines()
    assert refused[0].startswith("no match [en]: off_topic")
    assert refused[-1] == "  default answer: Sorry, I cannot help with that yet."


def test_ask_json_and_http_carry_the_lines_and_the_related_entries(cli, billing):
    answered = json.loads(cli("ask", "--json", ASKED).stdout)
    assert answered["match"]["answer"] == "Choose one of the options below.\n\n- Cancelling\n- Passwords"
    related = [{"id": o["entry_id"], "text": o["text"], "question": o["question"]} for o in OPTIONS]
    assert answered["match"]["related"] == related
    assert json.loads(cli("ask", "--json", OFF_TOPIC).stdout)["default_answer"] == "Sorry, I cannot help with that yet."
    with TestClient(create_app(Tenants({"shop": billing}))) as client:
        over_http = client.post("/ask", json={"question": ASKED}).json()
        refused = client.post("/ask", json={"question": OFF_TOPIC}).json()
    assert over_http["match"]["answer"] == answered["match"]["answer"] and over_http["match"]["related"] == related
    assert refused["default_answer"] == "Sorry, I cannot help with that yet."
