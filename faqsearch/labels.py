"""Label files (`faqsearch review`'s output, the review page's, or written by hand) and writing
their labels into the FAQ file the owner maintains.

A label file is JSON Lines: `{"question": ..., "entry": <id> | "none" | "new"}`, with optional
`language` (else detected), `covers` (the near-duplicates the label also applies to, as
`[text, language]` pairs) and, for `new`, `answer` (required), `id` and `new_question` (the
entry's question in the FAQ's language, when the customer's is in another). The whole file is
checked against the FAQ before anything is written, and the FAQ is edited in place (faqedit.py),
so the owner's comments, order, quoting and indentation stay as they were; the new text is
checked by the FAQ loader before it replaces the old.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from . import langid
from .errors import FAQSearchError, InputFileError
from .faqedit import FAQText
from .faqs import ID_PATTERN, LANGUAGE_PATTERN, MAX_ANSWER_CHARS, FAQFile, Phrasing, answer_text, load_faqs
from .inputs import CONTROL, inert, read_text
from .review import NEW, NONE
from .search import clean_question

FIELDS = {"question", "entry", "language", "covers", "answer", "id", "new_question"}


@dataclass(frozen=True)
class Label:
    question: str
    language: str
    entry: str  # an id of the FAQ, NONE or NEW
    covers: tuple[Phrasing, ...] = ()
    answer: str | None = None  # NEW only
    new_id: str | None = None
    new_question: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Applied:
    phrasings: int
    no_match: int
    new_entries: list[str]


def line(question: str, language: str, entry: str, covers: tuple | list = ()) -> dict:
    """A label file line, as `load_labels` reads it (what `faqsearch review --out`, the terminal
    review and the review page write)."""
    return {"question": question, "language": language, "entry": entry} | (
        {"covers": [list(c) for c in covers]} if covers else {}
    )


def load_labels(path: Path, faq: FAQFile) -> list[Label]:
    """Every label of the file at `path`, checked against `faq`: InputFileError naming the line."""
    _, text = read_text(path, "a label file (JSON Lines, `faqsearch review --json` or the review page writes it)")
    ids = {e.id for e in faq.entries}
    owner = {p.casefold(): e.id for e in faq.entries for p in e.phrasings} | {
        t.casefold(): NONE for t, _ in faq.no_match
    }
    labels: list[Label] = []
    seen: dict[str, Label] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        label = _label(str(path), number, line, ids, faq.language)
        where = owner.get(label.question.casefold())
        if where is not None:
            place = "in its no_match list" if where == NONE else f"a phrasing of entry `{where}`"
            _fail(path, number, f"question {label.question!r} is already {place} in {faq.path}; remove this line")
        earlier = seen.setdefault(label.question.casefold(), label)
        if earlier is not label and earlier.entry != label.entry:
            message = (
                f"question {label.question!r} is labelled `{earlier.entry}` on line {earlier.line} "
                f"and `{label.entry}` here; keep one"
            )
            _fail(path, number, message)
        if earlier is label:
            labels.append(label)
    if not labels:
        raise InputFileError(str(path), "holds no label; write one JSON object a line with `question` and `entry`")
    return labels


def _fail(path: Path | str, line: int, message: str):
    raise InputFileError(str(path), inert(message), line=line)


def _label(where: str, number: int, line: str, ids: set[str], faq_language: str) -> Label:
    try:
        item = json.loads(line)
    except ValueError as exc:
        _fail(where, number, f"not JSON ({exc.msg}); write one JSON object a line")
    if not isinstance(item, dict):
        _fail(where, number, 'must be a JSON object such as {"question": "...", "entry": "<id>"}')
    unknown = sorted(set(item) - FIELDS)
    if unknown:
        _fail(where, number, f"unknown field `{unknown[0]}`; allowed: {', '.join(sorted(FIELDS))}")
    question = _text(where, number, item, "question", required=True)
    entry = _text(where, number, item, "entry", required=True)
    if entry not in ids | {NONE, NEW}:
        _fail(
            where, number, f"entry `{entry}` is not in the FAQ (removed or renamed?); use one of its ids, none or new"
        )
    language = item.get("language") or langid.detect(question, prior=faq_language)
    if not isinstance(language, str) or not LANGUAGE_PATTERN.match(language):
        _fail(where, number, "field `language` must be an ISO 639-1 code such as `es`")
    covers = item.get("covers") or []
    if not isinstance(covers, list) or not all(
        isinstance(c, list) and len(c) == 2 and all(isinstance(x, str) for x in c) for c in covers
    ):
        _fail(where, number, 'field `covers` must be a list of ["question", "language"] pairs')
    answer = _text(where, number, item, "answer", required=entry == NEW)
    new_id, new_question = _text(where, number, item, "id"), _text(where, number, item, "new_question")
    if entry != NEW and (answer or new_id or new_question):
        _fail(where, number, 'fields `answer`, `id` and `new_question` go with `"entry": "new"` only')
    if new_id is not None and not ID_PATTERN.match(new_id):
        _fail(where, number, "field `id` may only contain letters, digits, '-' and '_'")
    if entry == NEW and language != faq_language and new_question is None:
        _fail(
            where, number, f"a new entry needs its question in the FAQ's language ({faq_language}): add `new_question`"
        )
    try:
        cover = tuple((_clean(t), lang) for t, lang in covers if t.strip() and LANGUAGE_PATTERN.match(lang))
    except ValueError as exc:
        _fail(where, number, f"field `covers`: a question {exc}")
    return Label(question, language, entry, cover, answer, new_id, new_question, number)


def _text(where: str, number: int, item: dict, name: str, required: bool = False) -> str | None:
    value = item.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        _fail(where, number, f"field `{name}` {'is missing' if value is None else 'must be a text string'}")
    try:
        return _clean(value) if name in ("question", "new_question") else _answer(value, name)
    except ValueError as exc:
        _fail(where, number, f"field `{name}` {exc}")


def _answer(text: str, name: str) -> str:
    """An answer (its lines kept) or an id (one line) as the FAQ will hold it (faqs.py checks the
    same when it loads)."""
    text = answer_text(text) if name == "answer" else " ".join(text.split())
    if not text:
        raise ValueError("is empty; write some text")
    if len(text) > MAX_ANSWER_CHARS:
        raise ValueError(f"is {len(text):,} characters; an answer has at most {MAX_ANSWER_CHARS:,}")
    if CONTROL.search(text):
        raise ValueError("holds a control character; remove it")
    return text


def _clean(text: str) -> str:
    """A text as the FAQ will hold it: checked as every question is (length, control characters)."""
    text = clean_question(text)
    if CONTROL.search(text):
        raise ValueError("holds a control character; remove it")
    return text


def apply(faq: FAQFile, labels: list[Label]) -> Applied:
    """Write `labels` into the FAQ file: labelled questions (and what each covers) as phrasings
    of their entries, in their language where it is not the FAQ's; `none` ones under `no_match`;
    `new` ones as new entries. Edited in place (faqedit.py), whole or not at all: the new text is
    validated before it replaces the file."""
    edit = FAQText(faq.path.read_bytes().decode("utf-8"))  # its line endings as they are
    ids = {e.id for e in faq.entries}
    taken = {p.casefold() for e in faq.entries for p in e.phrasings} | {t.casefold() for t, _ in faq.no_match}
    added: dict[str, list] = {}
    refused, created, phrasings = [], [], 0
    for label in labels:
        todo = [(t, lang) for t, lang in ((label.question, label.language), *label.covers) if t.casefold() not in taken]
        taken |= {t.casefold() for t, _ in todo}
        items = [t if lang == faq.language else {"text": t, "language": lang} for t, lang in todo]
        if label.entry == NONE:
            refused += items
        elif label.entry == NEW:
            new_id = _new_id(label, ids)
            ids.add(new_id)
            created.append(new_id)
            question = label.new_question or label.question
            rest = [x for x, (t, _) in zip(items, todo, strict=True) if t != question]
            edit.add_entry({"id": new_id, "question": question, "answer": label.answer}, rest)
            phrasings += len(rest)
        else:
            added.setdefault(label.entry, []).extend(items)
    for entry, items in added.items():
        if items:
            edit.add_phrasings(entry, items)
    if refused:
        edit.add_no_match(refused)
    _replace(faq.path, edit.result())
    return Applied(phrasings + sum(map(len, added.values())), len(refused), created)


def _new_id(label: Label, taken: set[str]) -> str:
    question = label.new_question or label.question
    base = label.new_id or re.sub(r"[^a-z0-9]+", "-", question.lower()).strip("-")[:40].strip("-") or "entry"
    new_id, n = base, 2
    while new_id in taken:
        new_id, n = f"{base}-{n}", n + 1
    return new_id


def _replace(path: Path, text: str) -> None:
    """The new FAQ text, validated by the FAQ loader beside `path`, then renamed onto it."""
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        partial.write_text(text, encoding="utf-8", newline="")
        try:
            load_faqs(partial)
        except InputFileError as exc:  # a label the checks above let through: say where, in the owner's terms
            where = str(exc).replace(str(partial), str(path))
            raise FAQSearchError(f"the labels would make the FAQ invalid: {where}; fix the label file") from None
        os.replace(partial, path)
    except OSError as exc:
        raise FAQSearchError(f"cannot write {path} ({exc.strerror or exc}); make it writable") from None
    finally:
        partial.unlink(missing_ok=True)
