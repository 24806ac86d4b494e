"""faqsearch inside the frameworks bots are built with: an MCP server for LLM agents (`mcp.py`),
a LangChain retriever (`langchain.py`) and a Rasa custom action (`rasa.py`), each an optional
extra. What they share: the index opened by name or folder and kept current (`opened`), and
one reply a bot can act on (`reply`): an answer, or an explicit hand-over to a human.
"""

from __future__ import annotations

from pathlib import Path

from ..index import locate_index, manifest_stamp
from ..search import Answer, FAQSearch

HANDOVER = (
    "NO ANSWER: the FAQ does not answer this. Hand the conversation over to a human agent; do not answer it yourself."
)
_open: dict[Path, tuple[tuple, FAQSearch]] = {}


def opened(index: str | Path | None) -> FAQSearch:
    """The index `index` (a name under indexes/, a folder, or None for the only one), opened once
    per process and opened again when it was rebuilt or rolled back (its manifest changed)."""
    path = locate_index(None if index is None else str(index))
    stamp = manifest_stamp(path)
    cached = _open.get(path)
    if cached is None or cached[0] != stamp or not stamp:
        _open[path] = (stamp, FAQSearch.open(path))
    return _open[path][1]


def reply(answer: Answer) -> dict:
    """What a bot acts on: `status` "answered" with the entry, its answer in the customer's
    language (where the FAQ has it), the confidence and the entries to offer next (`related`:
    an answer such as "choose one of the options below" needs them); or "no_answer" with
    HANDOVER, the reason, the entries a bot may offer as "did you mean" and the FAQ's
    `default_answer` (None without one)."""
    if answer.match is not None:
        hit = answer.match
        return {
            "status": "answered",
            "answer": hit.answer,
            "answer_language": hit.answer_language,
            "entry_id": hit.id,
            "matched_question": hit.matched_question,
            "confidence": round(hit.confidence, 4),
            "question_language": answer.language,
            "related": [{"entry_id": r.id, "text": r.text, "question": r.question} for r in hit.related],
        }
    return {
        "status": "no_answer",
        "instruction": HANDOVER,
        "reason": answer.no_match,
        "did_you_mean": [{"entry_id": h.id, "question": h.matched_question} for h in answer.did_you_mean],
        "question_language": answer.language,
        "default_answer": answer.default_answer,
    }
