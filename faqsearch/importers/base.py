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

import dataclasses
import hashlib
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from ..errors import FAQSearchError, InputFileError
from ..faqs import MAX_ANSWER_CHARS, MAX_TAG_CHARS, FAQEntry, Related, answer_text
from ..inputs import CONTROL, inert
from ..langid import ENCODER_LANGUAGES, detect

MAX_ID_CHARS = 60
# The FAQ language is detected from the first LANGUAGE_SAMPLE entries; the import says so when the
# winner had under SURE_SHARE of their votes.
LANGUAGE_SAMPLE, SURE_SHARE = 200, 0.8
# An answer that promises options ("Please select from one of the options below"): without its
# follow-ups, it would reach a customer with nothing to select.
OPTIONS_BELOW = re.compile(r"\b(?:select|choose|pick)\b[^\n]{0,60}?\bbelow\b", re.IGNORECASE)
SHOWN_PER_KIND = 3  # warnings printed of each kind; the rest are counted
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`|\d[\d,.]*")  # what differs between warnings of one kind
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
    # Entries offered after this one: (reference, display text), the reference another draft's
    # `key` or one of its questions; `finish` resolves it to that entry's id, or reports it.
    related: list[tuple[str, str]] = field(default_factory=list)
    no_match: bool = False  # its questions are ones the FAQ does not answer (written under `no_match:`)
    languages: dict[str, str] = field(default_factory=dict)  # question -> its language, where not the FAQ's


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

    kinds: list[str] = field(default_factory=list)  # each warning's kind (its message, quotes and numbers out)

    def warn(self, where: str, message: str) -> None:
        """Note a problem; `where` and `message` may quote the source, so a control character in
        them is shown as its escape instead of acting on the terminal."""
        self.warnings.append(inert(f"{where}: {message}"))
        self.kinds.append(inert(QUOTED.sub("…", message)))

    def summary(self) -> list[str]:
        """The warnings to print: the first SHOWN_PER_KIND of each kind, then one line per kind
        saying how many more there were (one QnABot export gave 71,306 warnings, most alike)."""
        counts = Counter(self.kinds)
        shown, seen = [], Counter()
        for warning, kind_ in zip(self.warnings, self.kinds, strict=True):
            seen[kind_] += 1
            if seen[kind_] <= SHOWN_PER_KIND:
                shown.append(warning)
        more = [(n - SHOWN_PER_KIND, k) for k, n in counts.items() if n > SHOWN_PER_KIND]
        return shown + [f"... and {n:,} more like: {k}" for n, k in more]


@dataclass
class Imported:
    language: str
    entries: list[FAQEntry]
    report: Report
    no_match: list[tuple[str, str]] = field(default_factory=list)  # (question, language) the FAQ does not answer
    default_answer: str | None = None  # what the source said when nothing matched


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
    kept, refused = [], []
    for draft in drafts:
        draft.questions = [q for q in (clean(q) for q in draft.questions) if q]
        draft.answer = answer_text(draft.answer)
        if draft.no_match:
            refused.append(draft)
            continue
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
    language = language or _language(kept, report)
    made, owners, ids, suffixes, keys = [], {}, set(), {}, {}
    for draft in kept:
        entry_id = _unique(_id(draft), ids, suffixes)
        phrasings, seen = [], set()
        for question in sorted(draft.questions, key=lambda q: draft.languages.get(q, language) != language):
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
            elif (text_ := answer_text(answer)) and lang != language:
                answers[lang] = text_
        ids.add(entry_id)
        if draft.key:
            keys.setdefault(draft.key, entry_id)
        languages = {q: lang for q in phrasings[1:] if (lang := draft.languages.get(q, language)) != language}
        entry = FAQEntry(entry_id, phrasings[0], draft.answer, tuple(phrasings[1:]), answers, tuple(tags), languages)
        made.append((entry, draft))
    entries = _related(made, keys, owners, report)
    for entry, (_, draft) in zip(entries, made, strict=True):
        if not entry.related and OPTIONS_BELOW.search(entry.answer):
            report.warn(draft.where, "the answer offers options below, but none were imported: add them as `related:`")
    report.language, report.entries = language, len(entries)
    report.phrasings = sum(len(e.phrasings) for e in entries)
    report.languages = sorted({language} | {lang for e in entries for lang in e.answers})
    report.tags = sorted({t for e in entries for t in e.tags})
    return Imported(language, entries, report, _no_match(refused, owners, language, report))


def _related(
    made: list[tuple[FAQEntry, Draft]], keys: dict[str | None, str], owners: dict[str, str], report: Report
) -> list[FAQEntry]:
    """The entries with their drafts' related references resolved to entry ids: a source key
    first, else a question (any case); one naming no entry is reported, the entry itself or a
    repeat dropped. Without a display text, the target's question is shown."""
    questions = {entry.id: entry.question for entry, _ in made}
    entries = []
    for entry, draft in made:
        related, seen = [], {entry.id}
        for reference, shown in draft.related:
            target = keys.get(reference) or owners.get(clean(reference).casefold())
            if target is None:
                report.warn(draft.where, f"follow-up {clean(reference)[:60]!r} names no imported entry; dropped")
            elif target not in seen:
                seen.add(target)
                related.append(Related(target, clean(shown) or questions[target]))
        entries.append(dataclasses.replace(entry, related=tuple(related)) if related else entry)
    return entries


def _no_match(drafts: list[Draft], owners: dict[str, str], language: str, report: Report) -> list[tuple[str, str]]:
    """The questions of the no-match drafts, each once, but those an entry answers (reported)."""
    found: dict[str, tuple[str, str]] = {}
    for draft in drafts:
        for question in draft.questions:
            if match := UNWRITABLE.search(question):
                report.warn(draft.where, f"no-match question left out: it holds U+{ord(match.group()):04X}")
            elif question.casefold() in owners:
                owner = owners[question.casefold()]
                report.warn(draft.where, f"{question!r} is a no-match example and a phrasing of `{owner}`; kept there")
            else:
                asked_in = draft.languages.get(question) or detect(question, language)  # off-topic: any language
                found.setdefault(question.casefold(), (question, asked_in))
    return list(found.values())


def slug(text: str) -> str:
    """`How do I cancel?` -> `how-do-i-cancel`; text without Latin letters or digits -> ''."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _shortened(re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-"), "-")


def _shortened(made: str, separator: str) -> str:
    """`made` cut to MAX_ID_CHARS at the last `separator` within them (a whole word), or mid-word
    when its first word alone is longer."""
    if len(made) <= MAX_ID_CHARS:
        return made
    cut = made[: MAX_ID_CHARS + 1].rfind(separator)
    return (made[:cut] if cut > 0 else made[:MAX_ID_CHARS]).rstrip(separator)


def _id(draft: Draft) -> str:
    """From the source's id, else the first question; a question in another script gets a
    short hash of itself, which stays the same from one import to the next."""
    if draft.key:
        made = _shortened(re.sub(r"[^A-Za-z0-9_-]+", "-", draft.key).strip("-"), "-")
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
    found["follow-up"] = [shown for _, shown in draft.related]
    found |= {f"answer in {lang!r}": [answer] for lang, answer in draft.answers.items()}
    for name, values in found.items():
        for value in values:
            if match := UNWRITABLE.search(value):
                return f"its {name} holds the character U+{ord(match.group()):04X}, which a FAQ file may not"
    return None


def _language(drafts: list[Draft], report: Report) -> str:
    """The language most entries are in, each voting with its question and answer (a question
    alone is often too short: "Shipping costs?" reads as Italian); said when the vote is close."""
    votes = Counter(detect(f"{d.questions[0]}\n{d.answer[:300]}") for d in drafts[:LANGUAGE_SAMPLE])
    (language, count), total = votes.most_common(1)[0], sum(votes.values())
    if count < SURE_SHARE * total:
        others = ", ".join(f"{lang} {n}" for lang, n in votes.most_common(4)[1:])
        report.warn(
            report.source,
            f"the language detected is {language} ({count} of {total} entries{'; ' + others if others else ''}); "
            "if that is wrong, pass --language",
        )
    return language
