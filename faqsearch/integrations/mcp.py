"""`faqsearch mcp --index NAME`: the FAQ as a Model Context Protocol server over stdio, for LLM
agents (`pip install "faqsearch[mcp]"`, the official `mcp` SDK).

One tool, `answer_from_faq`: a customer's question in any language → the FAQ's answer in their
language with its entry and confidence, or `"status": "no_answer"` whose instruction tells the
agent to hand over to a human rather than answer from its own knowledge.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from ..errors import FAQSearchError
from ..search import clean_question
from . import HANDOVER, opened, reply

INSTRUCTIONS = (
    "Answers customers' questions from the support team's FAQ, in any language. Call answer_from_faq with the "
    "customer's question as they wrote it. If it returns status 'answered', reply with its `answer` (you may "
    "shorten it, never add to it), and offer each of its `related` entries by its `text`; when the customer "
    "picks one, call answer_from_faq with that entry's `question`. If it returns status 'no_answer', do not "
    "answer from your own knowledge: tell the customer a person will help and hand the conversation over; "
    "you may offer `did_you_mean`."
)


def create_server(index: str | Path | None, min_confidence: float | None = None) -> MCPServer:
    """The MCP server answering from `index` (a name under indexes/ or a folder)."""
    server = MCPServer(name="faqsearch", instructions=INSTRUCTIONS)

    @server.tool(
        name="answer_from_faq",
        description=(
            "Answer a customer's question from the FAQ (any language). Returns status 'answered' with the "
            f"answer to give, or status 'no_answer' meaning: {HANDOVER}"
        ),
        annotations=ToolAnnotations(readOnlyHint=True, idempotentHint=True, openWorldHint=False),
        structured_output=True,
    )
    def answer_from_faq(question: str, tags: list[str] | None = None) -> dict[str, Any]:
        try:
            question = clean_question(question)
        except ValueError as exc:
            raise ToolError(f"question: {exc}") from None
        try:
            faq = opened(index)
            return reply(faq.ask(question, k=3, min_confidence=min_confidence, tags=tags or ()))
        except FAQSearchError as exc:  # an unknown tag, an index removed since: the agent reads why
            raise ToolError(str(exc)) from None

    return server
