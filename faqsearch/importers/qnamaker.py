"""QnA Maker and Azure AI Language question answering exports (TSV or XLSX): their QnAs table.

Format (Microsoft Learn, "Import and export a knowledge base" / "Export a question answering
project"; the exports in Azure-Samples/cognitive-services-sample-data-files): one row per
question, columns `Question, Answer, Source, Metadata, SuggestedQuestions, IsContextOnly,
Prompts, QnaId`; the rows of a pair share its QnaId (ids `qna-<QnaId>`). Older files, such as
Microsoft's chit-chat sets, have only `Question, Answer, Source, Metadata` and no QnaId, and
repeat a pair's answer on each of its rows: the rows with the same answer, source and metadata
are one entry (a QnA Maker pair has one of each, so rows that differ in one are not one pair).

- Answers: QnA Maker keeps a line break as the two characters `\\n` (its portal, TSV and XLSX
  exports all show them so; no other escape was found in real exports): each becomes a line
  break, so Markdown paragraphs and lists survive. `\\\\` (Markdown's escaped backslash) is kept.
- Metadata `key:value|key:value` becomes the tags `key:value`.
- Prompts (multi-turn follow-ups, JSON `[{"DisplayOrder": 0, "QnaId": 12, "DisplayText": ...}]`,
  either capitalisation) become `related` entries in DisplayOrder; base.finish resolves each
  `qna-<QnaId>` and reports the ones whose pair is missing.
- IsContextOnly pairs (answered only after a prompt) are entries like any other, as faqsearch
  answers every question from the whole FAQ: said once per file, with their count.
- SuggestedQuestions (active learning clusters, `AlternateQuestionList` or `suggestedQuestions`
  of `{Question, UserSuggestedCount, AutoSuggestedCount}`): QnA Maker matches none of them until
  the owner accepts it. One a customer chose (UserSuggestedCount > 0: explicit feedback, a person
  picking this answer for that question) becomes an alternative; one only QnA Maker's ranker
  proposed (scores close to another answer's) is left out, as it was unreviewed. Both counted
  once per file.
"""

from __future__ import annotations

import re

from ..errors import FAQSearchError
from .base import Draft, NotThisFormat, Report, fields, items, parse_json, text
from .sheets import Table

NAME = "qnamaker"
COLUMNS = ("Question", "Answer", "Source", "Metadata", "SuggestedQuestions", "IsContextOnly", "Prompts", "QnaId")
MARKERS = ("QnaId", "Metadata", "IsContextOnly", "Prompts", "SuggestedQuestions")
EMPTY_JSON = ("", "[]", "null")
LINE_BREAK = re.compile(r"\\(\\|n)")  # `\\` matched as a unit, so `\\n` stays an escaped backslash and an n


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


def unescape(value: str) -> str:
    """An answer as QnA Maker shows it: each `\\n` a line break."""
    return LINE_BREAK.sub(lambda m: "\n" if m.group(1) == "n" else m.group(), value)


def read(table: Table, report: Report) -> list[Draft]:
    """One draft per pair: the rows sharing a QnaId, or (without one) an answer, source and metadata."""
    fits(table)
    column = {name: table.column(name) for name in COLUMNS}
    drafts: dict[object, Draft] = {}
    chosen: dict[object, list[str]] = {}  # added after the pair's own questions, which come first
    counts = {"context-only": 0, "chosen": 0, "proposed": 0}
    for number, row in table.rows:
        where = f"{table.where}:row {number}"
        cell = {name: row.get(column[name] or "", "") for name in COLUMNS}
        key = cell["QnaId"] or (cell["Answer"], cell["Source"], cell["Metadata"])
        if key in drafts:
            drafts[key].questions.append(cell["Question"])
            continue
        tags = [p.strip() for p in cell["Metadata"].split("|") if p.strip()]
        source_id = f"qna-{key}" if cell["QnaId"] else None
        related = _prompts(where, cell["Prompts"], report)
        drafts[key] = Draft(where, [cell["Question"]], unescape(cell["Answer"]), source_id, tags=tags, related=related)
        chosen[key] = _suggestions(where, cell["SuggestedQuestions"], counts, report)
        counts["context-only"] += cell["IsContextOnly"].casefold() == "true"
    for key, questions in chosen.items():
        drafts[key].questions += questions
    _summary(table.where, counts, report)
    return list(drafts.values())


def _json_list(where: str, value: str, name: str, report: Report) -> list:
    """The JSON list in a cell ([] when empty), or [] with a warning when it is not JSON."""
    if value in EMPTY_JSON:
        return []
    try:
        return items(parse_json(where, value), where, name, report)
    except ValueError:
        report.warn(where, f"`{name}` is not valid JSON ({value[:60]!r}); left out")
        return []


def _field(value: dict, name: str) -> object:
    """`name` of a JSON object as QnA Maker writes it (`DisplayText`) or as its API does (`displayText`)."""
    return value[name] if name in value else value.get(name[0].lower() + name[1:])


def _prompts(where: str, value: str, report: Report) -> list[tuple[str, str]]:
    """The follow-up prompts as (`qna-<QnaId>`, display text), in DisplayOrder (then as written);
    without a display text, base.finish shows the target's question."""
    found = []
    for i, prompt in enumerate(_json_list(where, value, "Prompts", report)):
        name = f"Prompts[{i}]"
        prompt = fields(prompt, where, name, report)
        target = text(_field(prompt, "QnaId"), where, f"{name}.QnaId", report)
        shown = text(_field(prompt, "DisplayText"), where, f"{name}.DisplayText", report).strip()
        order = _field(prompt, "DisplayOrder")
        if not target:  # a prompt that made a new pair when imported into QnA Maker
            report.warn(where, f"follow-up prompt {shown!r} has no QnaId naming its pair; left out")
            continue
        rank = order if isinstance(order, int | float) and not isinstance(order, bool) else float("inf")
        found.append((rank, i, (f"qna-{target}", shown)))
    return [prompt for *_, prompt in sorted(found)]


def _suggestions(where: str, value: str, counts: dict[str, int], report: Report) -> list[str]:
    """The active learning suggestions customers chose (the others counted)."""
    chosen = []
    for i, cluster in enumerate(_json_list(where, value, "SuggestedQuestions", report)):
        cluster = fields(cluster, where, f"SuggestedQuestions[{i}]", report)
        listed = _field(cluster, "AlternateQuestionList") or _field(cluster, "SuggestedQuestions")
        for j, item in enumerate(items(listed, where, f"SuggestedQuestions[{i}] questions", report)):
            item = fields(item, where, f"SuggestedQuestions[{i}][{j}]", report)
            question = text(_field(item, "Question"), where, f"SuggestedQuestions[{i}][{j}].Question", report)
            by_customers = _field(item, "UserSuggestedCount")
            if isinstance(by_customers, int) and not isinstance(by_customers, bool) and by_customers > 0:
                chosen.append(question)
                counts["chosen"] += 1
            elif question:
                counts["proposed"] += 1
    return chosen


def _summary(where: str, counts: dict[str, int], report: Report) -> None:
    """What is said once per file, with counts: context-only pairs and suggestions."""
    if counts["context-only"]:
        report.warn(
            where,
            f"{counts['context-only']} context-only pair(s) (QnA Maker answers them only after a follow-up "
            "prompt): imported as entries that answer any question",
        )
    if counts["chosen"] or counts["proposed"]:
        report.warn(
            where,
            f"active learning suggestions: {counts['chosen']} that customers chose imported as alternatives; "
            f"{counts['proposed']} that only QnA Maker's ranker proposed left out (unreviewed: accept them in "
            "QnA Maker before exporting to keep them)",
        )
