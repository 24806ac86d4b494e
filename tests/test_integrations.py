"""faqsearch where bots are built: the MCP server through the official SDK's own client over
stdio, the LangChain retriever through langchain-core, and the Rasa custom action run by
rasa-sdk's ActionExecutor, the way the action server's /webhook runs it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BILLING, OPTIONS, SMALL_FAQ

from faqsearch import load_faqs
from faqsearch.build import build_index
from faqsearch.encoders import get_encoder

FAQSEARCH = str(Path(sys.executable).parent / "faqsearch")
OFF_TOPIC = "what is the capital of Australia?"


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("shop")
    faq = root / "shop.yaml"
    faq.write_text(SMALL_FAQ + BILLING, encoding="utf-8")
    return build_index(load_faqs(faq), get_encoder("e5-aligned"), root / "indexes" / "shop").index.path


def test_the_mcp_tool_answers_or_says_unmistakably_to_hand_over(shop):
    mcp = pytest.importorskip("mcp", reason="pip install -e '.[mcp]'")
    from mcp.client.stdio import stdio_client

    async def session() -> tuple:
        server = mcp.StdioServerParameters(command=FAQSEARCH, args=["mcp", "--index", str(shop)], env=dict(os.environ))
        async with stdio_client(server) as (read, write), mcp.ClientSession(read, write) as client:
            await client.initialize()
            tools = await client.list_tools()
            answered = await client.call_tool("answer_from_faq", {"question": "¿cómo cancelo mi suscripción?"})
            refused = await client.call_tool("answer_from_faq", {"question": OFF_TOPIC})
            empty = await client.call_tool("answer_from_faq", {"question": "  "})
            spaced = await client.call_tool("answer_from_faq", {"question": "cancel" + " " * 1100 + "my plan"})
            options = await client.call_tool("answer_from_faq", {"question": "I have a question about my bill"})
            return tools, answered, refused, empty, spaced, options

    tools, answered, refused, empty, spaced, options = asyncio.run(session())
    [tool] = tools.tools
    assert tool.name == "answer_from_faq" and "NO ANSWER" in tool.description
    assert answered.structured_content["status"] == "answered"
    assert answered.structured_content["entry_id"] == "cancel-subscription"
    assert (
        answered.structured_content["answer"] == "Ve a Ajustes > Facturación > Cancelar plan."
    )  # the customer's language
    assert refused.structured_content["status"] == "no_answer"
    read_by_the_llm = refused.content[0].text
    assert read_by_the_llm.startswith('{\n  "status": "no_answer",\n  "instruction": "NO ANSWER: ')
    assert "answer" not in refused.structured_content
    assert empty.is_error and "question: is empty; ask something" in empty.content[0].text
    # The 1,000-character limit applies after whitespace is collapsed, as over HTTP and on the command line.
    assert spaced.structured_content["entry_id"] == "cancel-subscription"
    # "Choose one of the options below" comes with its options, and its lines as written.
    assert options.structured_content["answer"] == "Choose one of the options below.\n\n- Cancelling\n- Passwords"
    assert options.structured_content["related"] == OPTIONS
    assert refused.structured_content["default_answer"] == "Sorry, I cannot help with that yet."


def test_mcp_with_a_missing_index_is_a_one_line_error(tmp_path):
    pytest.importorskip("mcp", reason="pip install -e '.[mcp]'")
    result = subprocess.run([FAQSEARCH, "mcp", "--index", str(tmp_path / "nope")], capture_output=True, text=True)
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_the_langchain_retriever_returns_the_entry_or_nothing(shop):
    pytest.importorskip("langchain_core", reason="pip install -e '.[langchain]'")
    from faqsearch.integrations.langchain import FAQRetriever

    retriever = FAQRetriever(index=shop)
    [document] = retriever.invoke("wo ist mein Paket?")
    assert document.id == "track-order" and document.page_content == "Open Orders and click Track."
    assert document.metadata["entry_id"] == "track-order" and document.metadata["question_language"] == "de"
    assert document.metadata["answer_language"] == "en" and 0.5 <= document.metadata["confidence"] <= 1
    assert retriever.invoke(OFF_TOPIC) == []
    [options] = retriever.invoke("I have a question about my bill")
    assert options.page_content.endswith("below.\n\n- Cancelling\n- Passwords")
    assert options.metadata["related"] == OPTIONS
    assert FAQRetriever(index=shop, tags=["billing"]).invoke("where is my order") == []  # not a billing entry


def action_call(text: str) -> dict:
    """What Rasa's server posts to the action server's /webhook (rasa_sdk.types.ActionCall)."""
    return {
        "next_action": "action_faqsearch",
        "sender_id": "customer-1",
        "tracker": {
            "sender_id": "customer-1",
            "slots": {},
            "latest_message": {"text": text, "intent": {"name": "faq"}},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
        "domain": {},
        "version": "3.10.0",
    }


def test_the_rasa_action_answers_or_triggers_the_fallback_with_did_you_mean(shop, monkeypatch):
    pytest.importorskip("rasa_sdk", reason="pip install -e '.[rasa]'")
    from rasa_sdk.executor import ActionExecutor

    monkeypatch.setenv("FAQSEARCH_INDEX", str(shop))
    executor = ActionExecutor()
    executor.register_package("faqsearch.integrations.rasa")
    answered = asyncio.run(executor.run(action_call("¿cómo cancelo mi suscripción?")))
    assert [r["text"] for r in answered.responses] == ["Ve a Ajustes > Facturación > Cancelar plan."]
    slots = {e["name"]: e["value"] for e in answered.events if e["event"] == "slot"}
    assert slots["faqsearch_entry"] == "cancel-subscription" and slots["faqsearch_confidence"] >= 0.5
    assert not [e for e in answered.events if e["event"] == "followup"]
    refused = asyncio.run(executor.run(action_call(OFF_TOPIC)))
    assert refused.responses == []
    assert refused.events[-1] == {"event": "followup", "timestamp": None, "name": "action_default_fallback"}
    slots = {e["name"]: e["value"] for e in refused.events if e["event"] == "slot"}
    assert slots["faqsearch_entry"] is None and isinstance(slots["faqsearch_did_you_mean"], list)
    [options] = asyncio.run(executor.run(action_call("I have a question about my bill"))).responses
    assert options["buttons"] == [{"title": o["text"], "payload": o["question"]} for o in OPTIONS]
    monkeypatch.setenv("FAQSEARCH_MIN_CONFIDENCE", "1.0")  # the bot owner's threshold is passed on
    monkeypatch.setenv("FAQSEARCH_FALLBACK", "utter_ask_rephrase")
    strict = asyncio.run(executor.run(action_call("how do I cancel my subscription?")))
    slots = {e["name"]: e["value"] for e in strict.events if e["event"] == "slot"}
    assert slots["faqsearch_threshold"] == 1.0 and strict.events[-1]["name"] == "utter_ask_rephrase"


def test_importing_faqsearch_loads_no_optional_integration():
    code = (
        "import sys, faqsearch.cli, faqsearch.search\n"
        "loaded = [m for m in ('mcp', 'langchain_core', 'rasa_sdk', 'ray') if m in sys.modules]\n"
        "assert not loaded, loaded"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
