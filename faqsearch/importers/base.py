"""What every importer shares: the draft entries a source is read into, and turning them into
valid FAQ entries (stable ids, duplicates and limits handled, each change reported).

An importer reads its source into Drafts, noting what it cannot map in the Report with the file
and row (or line) it came from. `finish` then makes the entries: a draft without a question or
an answer is skipped; an id comes from the source's own id, else from the first question, made
valid and unique; a phrasing that an earlier entry already has is dropped from the later one,
as `build` would refuse it; a tag or an answer over faqs.py's limits, an answer in a language
faqsearch does not know, and an entry holding a control character are dropped with a warning.

Sources are untrusted: every value read from parsed JSON or YAML goes through `text`, `texts`,
`fields` or `items`, which check its shape and report the field instead of storing a Python repr
or failing; JSON is parsed by `parse_json`, which refuses nesting past MAX_DEPTH before Python's
recursive parser (and any walk of the result) sees it.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from ..errors import FAQSearchError, InputFileError
from ..faqs import MAX_ANSWER_CHARS, MAX_TAG_CHARS, FAQEntry
from ..inputs import CONTROL, inert
from ..langid import ENCODER_LANGUAGES, detect

MAX_ID_CHARS = 60
# Nesting (JSON, YAML, microdata) a FAQ source may have: real exports use under 10 levels, and
# past ~1,000 Python's JSON parser, and any recursive walk, fails with a traceback.
MAX_DEPTH = 64
LANGUAGES = frozenset(ENCODER_LANGUAGES)  # the languages faqsearch answers in (its encoders')
KNOWN = "ISO 639-1 codes of its encoders' languages, such as es or de"
# What a FAQ file may not hold (faqs.py refuses it), though JSON and YAML escapes (`\u001b`, `\e`)
# decode to it: a control character, or half of a surrogate pair (not writable as UTF-8).
UNWRITABLE = re.compile(f"{CONTROL.pattern}|[\ud800-\udfff]")
# A JSON string (skipped; one left open runs to the end, so no quote is scanned twice) or a
# bracket (group 1): one pass, however the text is written.
JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)|([\[\]{}])', re.DOTALL)


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
        """Note a problem; `where` and `message` may quote the source, so a control character in
        them is shown as its escape instead of acting on the terminal."""
        self.warnings.append(inert(f"{where}: {message}"))


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


def parse_json(where: str, text: str, line: int = 1) -> object:
    """`text` parsed as JSON (ValueError if it is not JSON), refused first, at its line (`text`
    starts at `line` of `where`), if it nests past MAX_DEPTH: json recurses once per level."""
    depth = 0
    for match in JSON_TOKEN.finditer(text):
        bracket = match.group(1)
        if bracket in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                at = line + text.count("\n", 0, match.start())
                raise InputFileError(where, f"JSON nested deeper than {MAX_DEPTH} levels; a FAQ needs a few", at)
        elif bracket:
            depth -= 1
    return json.loads(text)


def kind(value: object) -> str:
    """What a parsed JSON or YAML value is, for a message: `a list`, `an object`, `a number`."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    kinds = {dict: "an object", list: "a list", str: "text"}
    return next((name for cls, name in kinds.items() if isinstance(value, cls)), f"a {type(value).__name__}")


def text(value: object, where: str, name: str, report: Report) -> str:
    """`value` where the format has text: a string, or a number as its digits; anything else (an
    object, a list, true) is reported with its field and read as empty, never as its repr."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if value is not None:
        report.warn(where, f"`{name}` is {kind(value)}, not text; read as empty")
    return ""


def texts(value: object, where: str, name: str, report: Report) -> list[str]:
    """`value` where the format has a list of text; one string is read as a list of one (reported),
    not as its characters."""
    if isinstance(value, str):
        report.warn(where, f"`{name}` is one string, not a list; read as a list of one")
        return [value]
    return [text(v, where, f"{name}[{i}]", report) for i, v in enumerate(items(value, where, name, report))]


def items(value: object, where: str, name: str, report: Report) -> list:
    """`value` where the format has a list; anything else is reported and read as empty."""
    if isinstance(value, list):
        return value
    if value is not None:
        report.warn(where, f"`{name}` is {kind(value)}, not a list; read as empty")
    return []


def fields(value: object, where: str, name: str, report: Report) -> dict:
    """`value` where the format has an object (a mapping); anything else is reported and read as empty."""
    if isinstance(value, dict):
        return value
    if value is not None:
        report.warn(where, f"`{name}` is {kind(value)}, not an object; read as empty")
    return {}


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
        if problem := _unwritable(draft):
            report.warn(draft.where, f"skipped: {problem}; remove it from the source")
            continue
        kept.append(draft)
    if not kept:
        first = f" ({len(report.warnings)} warning(s); the first: {report.warnings[0]})" if report.warnings else ""
        raise FAQSearchError(f"{report.source}: no entry with both a question and an answer was found{first}")
    language = language or _language(kept)
    entries, owners, ids, suffixes = [], {}, set(), {}
    for draft in kept:
        entry_id = _unique(_id(draft), ids, suffixes)
        phrasings, seen = [], set()
        for question in draft.questions:
            owner = owners.setdefault(question.casefold(), entry_id)
            if owner != entry_id:
                report.warn(draft.where, f"phrasing {question!r} is also used by entry `{owner}`; kept there only")
            elif question.casefold() not in seen:
                seen.add(question.casefold())
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
        answers = {}
        for lang, answer in draft.answers.items():
            if lang not in LANGUAGES:
                report.warn(draft.where, f"the answer in {lang!r} dropped: not a language faqsearch knows ({KNOWN})")
            elif answer.strip() and lang != language:
                answers[lang] = answer.strip()
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


def _unique(entry_id: str, taken: set[str], suffixes: dict[str, int]) -> str:
    """`entry_id`, else `entry_id-2`, `-3`...: the next suffix to try is kept per id, so 10,000
    questions with one slug cost 10,000 steps, not 50 million."""
    candidate, n = entry_id, suffixes.get(entry_id, 2)
    while candidate in taken:
        candidate, n = f"{entry_id}-{n}", n + 1
    suffixes[entry_id] = n
    return candidate


def _unwritable(draft: Draft) -> str | None:
    """What in `draft` a FAQ file may not hold (see UNWRITABLE), with its field, or None."""
    found = {"question": draft.questions, "answer": [draft.answer], "tag": draft.tags}
    found |= {f"answer in {lang!r}": [answer] for lang, answer in draft.answers.items()}
    for name, values in found.items():
        for value in values:
            if match := UNWRITABLE.search(value):
                return f"its {name} holds the character U+{ord(match.group()):04X}, which a FAQ file may not"
    return None


def _language(drafts: list[Draft]) -> str:
    """The language most of the questions are in."""
    votes = Counter(detect(draft.questions[0]) for draft in drafts[:200])
    return votes.most_common(1)[0][0]
