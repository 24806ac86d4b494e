"""QnA Maker and Azure AI Language question answering exports (TSV or XLSX).

Format (Microsoft Learn, "Import and export a knowledge base" / "Export a question answering
project"): one row per question, columns `Question, Answer, Source, Metadata,
SuggestedQuestions, IsContextOnly, Prompts, QnaId`; the alternate questions of a pair are rows
with the same QnaId. Metadata `key:value|key:value` becomes the tags `key:value`. Follow-up
prompts (multi-turn) have no faqsearch equivalent: each is reported, not silently dropped.
"""

from __future__ import annotations

from ..errors import FAQSearchError
from .base import Draft, NotThisFormat, Report, fields, items, parse_json, text
from .sheets import Table

NAME = "qnamaker"
COLUMNS = ("Question", "Answer", "Source", "Metadata", "SuggestedQuestions", "IsContextOnly", "Prompts", "QnaId")
MARKERS = ("QnaId", "Metadata", "IsContextOnly", "Prompts", "SuggestedQuestions")


def fits(table: Table) -> None:
    """NotThisFormat unless the header has QnA Maker's own columns (and then Question and Answer)."""
    found = [c for c in MARKERS if table.column(c)]
    if not found:
        raise NotThisFormat(f"no QnA Maker columns ({', '.join(MARKERS)}) in the header")
    missing = [c for c in ("Question", "Answer") if not table.column(c)]
    if missing:
        raise FAQSearchError(
            f"{table.where}: a QnA Maker export (it has {', '.join(found)}) without the column "
            f"{' and '.join(missing)}; the columns: {table.columns()}. Export the project again, "
            "or rename the column back"
        )


def read(table: Table, report: Report) -> list[Draft]:
    fits(table)
    column = {name: table.column(name) for name in COLUMNS}
    drafts: dict[str, Draft] = {}
    for number, row in table.rows:
        where = f"{table.where}:row {number}"
        cell = {name: row.get(column[name] or "", "") for name in COLUMNS}
        key = cell["QnaId"] or f"row {number}"
        if key in drafts:
            drafts[key].questions.append(cell["Question"])
            continue
        tags = [p.strip() for p in cell["Metadata"].split("|") if p.strip()]
        source_id = f"qna-{key}" if cell["QnaId"] else None
        drafts[key] = Draft(where, [cell["Question"]], cell["Answer"], source_id, tags=tags)
        _note_unsupported(where, cell["Prompts"], cell["IsContextOnly"], report)
    return list(drafts.values())


def _note_unsupported(where: str, prompts: str, context_only: str, report: Report) -> None:
    if prompts and prompts not in ("[]", "null"):
        try:
            listed = items(parse_json(where, prompts), where, "Prompts", report)
            shown = ", ".join(
                repr(text(fields(p, where, "Prompts[]", report).get("displayText"), where, "displayText", report))
                for p in listed
            )
        except ValueError:
            shown = prompts[:80]
        report.warn(where, f"follow-up prompts ({shown}) are not supported: imported as a plain answer")
    if context_only.casefold() == "true":
        report.warn(where, "context-only (answered only after a prompt): imported as a plain entry")
