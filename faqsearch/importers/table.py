"""A spreadsheet of FAQs (CSV, TSV or XLSX with a header row), columns found by name or mapped
with `--column ROLE=NAME`:

- question: one or more columns (`question`, `question 2`, `alternative...`, `variant...`);
- answer: `answer`; an answer in another language: `answer_es`, `answer (de)`;
- id (optional): rows with the same id are one entry, each row adding its questions;
- tags (optional): `tags`, `category` or `topic`, several split on `,`, `;` or `|`.
"""

from __future__ import annotations

import re

from ..errors import FAQSearchError
from .base import Draft, Report
from .sheets import Table

NAME = "table"
ROLES = ("question", "answer", "id", "tags")  # and answer_xx
OTHER_ANSWER = re.compile(r"answer\s*[_ (-]\s*([a-z]{2,3})\)?", re.IGNORECASE)
MORE_QUESTIONS = re.compile(r"(question|alternative|alternate|variant|paraphrase)s?\s*[_ -]?\s*\d*", re.IGNORECASE)
TAG_SPLIT = re.compile(r"[,;|]")  # each part stripped: `\s*[,;|]\s*` backtracks over long runs of spaces


def read(table: Table, report: Report, columns: dict[str, list[str]]) -> list[Draft]:
    roles = _roles(table, columns)
    other_answers = _other_answers(roles)
    drafts: dict[str, Draft] = {}
    for number, row in table.rows:
        where = f"{table.where}:row {number}"
        questions = [row.get(c, "") for c in roles["question"]]
        answer = row.get(roles["answer"][0], "")
        key = row.get(roles["id"][0], "") if roles["id"] else ""
        tags = [t.strip() for c in roles["tags"] for t in TAG_SPLIT.split(row.get(c, "")) if t.strip()]
        answers = {lang: row.get(c, "") for lang, c in other_answers.items()}
        if key and key in drafts:  # another row of the same entry
            draft = drafts[key]
            draft.questions += questions
            draft.tags += tags
            if answer and draft.answer and answer != draft.answer:
                report.warn(where, f"another answer for id {key!r} than its first row's; the first is kept")
            draft.answer = draft.answer or answer
            continue
        drafts[key or f"row {number}"] = Draft(where, questions, answer, key or None, answers, tags)
    mapped = {column for cols in roles.values() for column in cols}  # a set: 100,000 columns cost 100,000 steps
    for column in table.header:
        if column not in mapped:
            report.warn(table.where, f"column {column!r} is not imported (map it with --column ROLE={column})")
    return list(drafts.values())


def _roles(table: Table, given: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each role's columns: as given, else found by name; one-line errors for what is missing."""
    for role, names in given.items():
        for name in names:
            if name not in table.header:
                raise FAQSearchError(
                    f"{table.where}: --column {role}={name}: no such column; the columns: {table.columns()}"
                )
    roles = {
        "question": given.get("question") or [c for c in table.header if MORE_QUESTIONS.fullmatch(c)],
        "answer": given.get("answer") or [c for c in [table.column("answer")] if c],
        "id": given.get("id") or [c for c in [table.column("id")] if c],
        "tags": given.get("tags") or [c for c in [table.column("tags", "tag", "category", "topic")] if c],
    }
    roles |= {r: cols for r, cols in given.items() if r.startswith("answer_")}
    roles |= {f"answer_{m.group(1).lower()}": [c] for c in table.header if (m := OTHER_ANSWER.fullmatch(c))}
    for role in ("question", "answer"):
        if not roles[role]:
            raise FAQSearchError(
                f"{table.where}: no {role} column (the columns: {table.columns()}); name it with --column {role}=NAME"
            )
    return roles


def _other_answers(roles: dict[str, list[str]]) -> dict[str, str]:
    return {role.removeprefix("answer_"): cols[0] for role, cols in roles.items() if role.startswith("answer_")}
