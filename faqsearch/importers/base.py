"""What every importer shares: the draft entries a source is read into, and turning them into
valid FAQ entries (stable ids, duplicates and limits handled, each change reported).

An importer reads its source into Drafts, noting what it cannot map in the Report with the file
and row (or line) it came from. `finish` then makes the entries: a draft without a question or
an answer is skipped; an id comes from the source's own id, else from the first question, made
valid and unique; a phrasing that an earlier entry already has is dropped from the later one,
as `build` would refuse it; a tag or an answer over faqs.py's limits is dropped with a warning.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from ..errors import FAQSearchError
from ..faqs import MAX_ANSWER_CHARS, MAX_TAG_CHARS, FAQEntry
from ..langid import detect

MAX_ID_CHARS = 60


@dataclass
class Draft:
    """One entry as read from the source, before it is made valid."""

    where: str  # `file:row 12`, `file:line 40`: what the report names
    questions: list[str]
    answer: str
    key: str | None = None  # the source's own id (QnA id, qid, intent), for a stable entry id
    answers: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


@dataclass
class Report:
    """What an import read and what it could not map."""

    source: str
    format: str
    language: str = ""
    warnings: list[str] = field(default_factory=list)
    entries: int = 0
    phrasings: int = 0
    languages: list[str] = field(default_factory=list)  # of the answers
    tags: list[str] = field(default_factory=list)

    def warn(self, where: str, message: str) -> None:
        self.warnings.append(f"{where}: {message}")


@dataclass
class Imported:
    language: str
    entries: list[FAQEntry]
    report: Report


class NotThisFormat(FAQSearchError):
    """The source is not in the format tried; the message says why, for the list of formats tried."""


def clean(value: object) -> str:
    """A cell or field as one line of text: whitespace runs collapsed, None as empty."""
    return " ".join(str(value).split()) if value is not None else ""


def finish(drafts: list[Draft], report: Report, language: str | None) -> Imported:
    """Valid FAQ entries from the drafts; see the module's docstring."""
    kept = []
    for draft in drafts:
        draft.questions = [q for q in (clean(q) for q in draft.questions) if q]
        draft.answer = draft.answer.strip()
        if not draft.questions or not draft.answer:
            report.warn(draft.where, f"skipped: no {'question' if not draft.questions else 'answer'}")
            continue
        if len(draft.answer) > MAX_ANSWER_CHARS:
            report.warn(
                draft.where, f"skipped: the answer is {len(draft.answer):,} characters, over {MAX_ANSWER_CHARS:,}"
            )
            continue
        kept.append(draft)
    if not kept:
        raise FAQSearchError(f"{report.source}: no entry with both a question and an answer was found")
    language = language or _language(kept)
    entries, owners, ids = [], {}, set()
    for draft in kept:
        entry_id = _unique(_id(draft), ids)
        phrasings = []
        for question in draft.questions:
            owner = owners.setdefault(question.casefold(), entry_id)
            if owner != entry_id:
                report.warn(draft.where, f"phrasing {question!r} is also used by entry `{owner}`; kept there only")
            elif question.casefold() not in {p.casefold() for p in phrasings}:
                phrasings.append(question)
        if not phrasings:
            report.warn(draft.where, "skipped: every question belongs to an earlier entry")
            continue
        tags = []
        for tag in dict.fromkeys(clean(t) for t in draft.tags if clean(t)):
            if len(tag) > MAX_TAG_CHARS:
                report.warn(draft.where, f"tag {tag[:40]!r}... dropped: over {MAX_TAG_CHARS} characters")
            else:
                tags.append(tag)
        answers = {lang: text.strip() for lang, text in draft.answers.items() if text.strip() and lang != language}
        ids.add(entry_id)
        entries.append(FAQEntry(entry_id, phrasings[0], draft.answer, tuple(phrasings[1:]), answers, tuple(tags)))
    report.language, report.entries = language, len(entries)
    report.phrasings = sum(len(e.phrasings) for e in entries)
    report.languages = sorted({language} | {lang for e in entries for lang in e.answers})
    report.tags = sorted({t for e in entries for t in e.tags})
    return Imported(language, entries, report)


def slug(text: str) -> str:
    """`How do I cancel?` -> `how-do-i-cancel`; text without Latin letters or digits -> ''."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:MAX_ID_CHARS].rstrip("-")


def _id(draft: Draft) -> str:
    """From the source's id, else the first question; a question in another script gets a
    short hash of itself, which stays the same from one import to the next."""
    if draft.key:
        made = re.sub(r"[^A-Za-z0-9_-]+", "-", draft.key).strip("-")[:MAX_ID_CHARS]
        if made:
            return made
    return slug(draft.questions[0]) or "q-" + hashlib.sha1(draft.questions[0].encode()).hexdigest()[:10]


def _unique(entry_id: str, taken: set[str]) -> str:
    candidate, n = entry_id, 2
    while candidate in taken:
        candidate, n = f"{entry_id}-{n}", n + 1
    return candidate


def _language(drafts: list[Draft]) -> str:
    """The language most of the questions are in."""
    votes = Counter(detect(draft.questions[0]) for draft in drafts[:200])
    return votes.most_common(1)[0][0]
