"""A spreadsheet of FAQs (CSV, TSV or XLSX with a header row), columns found by name or mapped
with `--column ROLE=NAME`:

- question: one or more columns (`question`, `q`, `question 2`, `alternative...`, `variant...`,
  `paraphrase...`); answer: `answer` or `a`;
- either in a language, by its code after or before the name (`q_en`, `question_de`,
  `answer (fr)`, `FR answer`, `question_pt-BR 2`): the FAQ's language's questions and answer are
  the entry's, another language's answer the entry's answer in it, and its questions alternatives
  in that language. The FAQ's language is `--language`, else the language of every question
  column, else (several) the one whose columns are the most filled, said in a warning. `_id` and
  `_no` are not read as Indonesian and Norwegian: `question_id` is an id column's name;
- id (optional): rows with the same id are one entry, each row adding its questions;
- tags (optional): `tags`, a list split on `,`, `;` or `|`; `category` or `topic`: one tag each,
  kept whole ("Shipping, returns" is one category).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from ..errors import FAQSearchError
from .base import LANGUAGES, Draft, NotThisFormat, Report, clean
from .sheets import Table

NAME = "table"
ROLES = ("question", "answer", "id", "tags", "category")  # and answer_xx
CODE = r"[a-z]{2}(?:_[a-z]{2,4})?"  # es, pt_br, zh_hans (after separators became `_`)
# A header name with its separators (spaces, `_`, `-`, brackets) made one `_`: its role word, its
# language code before or after it, and a number (`question_de_2`). No two quantifiers can share a
# character, so a long name costs one pass.
NAMED = re.compile(
    rf"(?:(?P<before>{CODE})_)?(?P<word>question|q|alternative|alternate|variant|paraphrase|answer|a)s?"
    rf"(?:_(?P<after>{CODE}))?(?:_?\d+)?"
)
ANSWER_WORDS = ("answer", "a")
NOT_LANGUAGES = ("id", "no")  # in a column's name, an id and a number far more often than Indonesian, Norwegian
TAG_SPLIT = re.compile(r"[,;|]")  # each part stripped: `\s*[,;|]\s*` backtracks over long runs of spaces


@dataclass
class Columns:
    """Which column plays which role."""

    questions: list[tuple[str, str | None]]  # (column, its language; None: the FAQ's), the FAQ's first
    answer: str
    answers: dict[str, str]  # another language -> its answer's column
    id: str | None
    tags: list[str]  # each cell a list of tags
    categories: list[str]  # each cell one tag
    language: str | None  # the FAQ's, where the columns say it


def fits(table: Table) -> None:
    """NotThisFormat unless the header names a question column and an answer column."""
    named = [_named(c) for c in table.header]
    if not any(n and n[0] == "question" for n in named) or not any(n and n[0] == "answer" for n in named):
        raise NotThisFormat("no `question` and `answer` columns in the first row (map them with --column)")


def read(table: Table, report: Report, columns: dict[str, list[str]], language: str | None = None) -> list[Draft]:
    """One draft per row (per id); `report.language` is set to the FAQ's language where the
    columns say it, for import_faq to pass on as the one the source declares."""
    found = _columns(table, columns, language, report)
    report.language = found.language or ""
    drafts: dict[str, Draft] = {}
    for number, row in table.rows:
        where = f"{table.where}:row {number}"
        questions, languages = [], {}
        for column, lang in found.questions:
            question = clean(row.get(column, ""))
            questions.append(question)
            if lang and question:
                languages[question] = lang
        answer = row.get(found.answer, "")
        key = row.get(found.id, "") if found.id else ""
        tags = [row.get(c, "").strip() for c in found.categories if row.get(c, "").strip()]
        tags += [t.strip() for c in found.tags for t in TAG_SPLIT.split(row.get(c, "")) if t.strip()]
        answers = {lang: row.get(c, "") for lang, c in found.answers.items()}
        if key and key in drafts:  # another row of the same entry
            draft = drafts[key]
            draft.questions += questions
            draft.languages |= languages
            draft.tags += tags
            if answer and draft.answer and answer != draft.answer:
                report.warn(where, f"another answer for id {key!r} than its first row's; the first is kept")
            draft.answer = draft.answer or answer
            continue
        drafts[key or f"row {number}"] = Draft(
            where, questions, answer, key or None, answers, tags, languages=languages
        )
    mapped = {c for c, _ in found.questions} | {found.answer, found.id, *found.answers.values()}
    mapped |= {*found.tags, *found.categories}  # a set: 100,000 columns cost 100,000 steps
    for column in table.header:
        if column not in mapped:
            report.warn(table.where, f"column {column!r} is not imported (map it with --column ROLE={column})")
    return list(drafts.values())


def _named(column: str) -> tuple[str, str | None] | None:
    """`q_en` -> ("question", "en"), `answer` -> ("answer", None); None for another name, or a
    code that is no language faqsearch knows (`answer_xx`, `question_id`)."""
    match = NAMED.fullmatch(re.sub(r"[\W_]+", "_", column.casefold()).strip("_"))
    if not match:
        return None
    code = match["before"] or match["after"]
    language = code[:2] if code else None
    if language and (language not in LANGUAGES or language in NOT_LANGUAGES):
        return None
    return ("answer" if match["word"] in ANSWER_WORDS else "question"), language


def _columns(table: Table, given: dict[str, list[str]], language: str | None, report: Report) -> Columns:
    """Each role's columns: as given, else found by name; one-line errors for what is missing."""
    for role, names in given.items():
        for name in names:
            if name not in table.header:
                raise FAQSearchError(
                    f"{table.where}: --column {role}={name}: no such column; the columns: {table.columns()}"
                )
    named = {c: n for c in table.header if (n := _named(c))}
    questions = [(c, None) for c in given.get("question", [])] or [
        (c, lang) for c, (role, lang) in named.items() if role == "question"
    ]
    answers: dict[str | None, str] = {}  # language (None: the FAQ's) -> the first answer column in it
    for column, (role, lang) in named.items():
        if role == "answer":
            answers.setdefault(lang, column)
    if "answer" in given:
        answers[None] = given["answer"][0]
    answers |= {r.removeprefix("answer_"): cols[0] for r, cols in given.items() if r.startswith("answer_")}
    for role, found in (("question", questions), ("answer", answers)):
        if not found:
            raise FAQSearchError(
                f"{table.where}: no {role} column (the columns: {table.columns()}); name it with --column {role}=NAME"
            )
    chosen = _language(table, questions, answers, language, report)
    own = answers.get(chosen) or answers.get(None)
    if own is None:
        which = f"in {chosen}, the FAQ's language" if chosen else "without a language, as its questions"
        raise FAQSearchError(
            f"{table.where}: no answer column {which} (the columns: {table.columns()}); "
            "name it with --column answer=NAME, or choose another language with --language"
        )
    return Columns(
        questions=sorted(
            ((c, None if lang == chosen else lang) for c, lang in questions), key=lambda q: q[1] is not None
        ),
        answer=own,
        answers={lang: c for lang, c in answers.items() if lang and lang != chosen},
        id=given.get("id", [table.column("id")])[0],
        tags=given.get("tags") or [c for c in [table.column("tags", "tag")] if c],
        categories=given.get("category") or [c for c in [table.column("category", "topic")] if c],
        language=chosen,
    )


def _language(
    table: Table, questions: list[tuple[str, str | None]], answers: dict, language: str | None, report: Report
) -> str | None:
    """The FAQ's language: `language` (given), else None where a question column names none (the
    FAQ's, detected from its text), else the one its question columns name; of several, the one
    whose question and answer columns are the most filled (said), the first on a tie."""
    named = list(dict.fromkeys(lang for _, lang in questions))
    if language is not None:
        if None not in named and language not in named:
            raise FAQSearchError(
                f"{table.where}: --language {language}: no question column in {language} (questions in "
                f"{', '.join(named)}); choose one of these, or map a column with --column question=NAME"
            )
        return language
    if None in named:  # without a language, unless the only answers name one
        return None if None in answers or len(answers) != 1 else next(iter(answers))
    if len(named) == 1:
        return named[0]
    answered = [lang for lang in named if lang in answers or None in answers] or named
    filled: Counter[str] = Counter()
    for _, row in table.rows:
        for column, lang in questions:
            filled[lang] += bool(row.get(column))
    chosen = max(answered, key=lambda lang: (filled[lang], -answered.index(lang)))
    counts = ", ".join(f"{lang}: {filled[lang]}" for lang in named)
    which = (
        "the first of the most filled"
        if [filled[lang] for lang in answered].count(filled[chosen]) > 1
        else "the most filled"
    )
    report.warn(
        table.where,
        f"questions in {len(named)} languages ({counts}): {chosen}, {which}, is the FAQ's language, and the others' "
        "questions are alternatives in theirs; choose another with --language",
    )
    return chosen
