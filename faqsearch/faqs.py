"""Load and strictly validate FAQ source files (faqs/*.yaml): every error names file, line and
field, and duplicate keys, ids and phrasings are refused, as are control characters in any text
once its escapes are read (yamlfile.Checker.string). `save_faqs` writes one (`faqsearch
import`), checked by the same loader before it takes its place.

A phrasing written in another language than the FAQ's (a customer's question the owner labelled,
`faqsearch review --apply`) is an alternative `{text: ..., language: es}`; the build reads it
as a question in that language. `no_match:` lists questions customers asked that this FAQ does
not answer, written the same way: the build's confidence fit learns to refuse their like.

An answer keeps its line breaks and paragraphs (Markdown lists and steps reach customers as
written; only CRLF, trailing spaces and runs of blank lines are normalized, `answer_text`), where
every other text is one line. `related:` lists the entries a bot offers after this one (a
follow-up prompt, a button), each `{entry: ID, text: ...}` or just `ID` (shown as its question);
`default_answer:` is what the FAQ's owner wants said when nothing matches."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from . import memory
from .errors import FAQSearchError
from .yamlfile import Checker, compose

if TYPE_CHECKING:
    import yaml

# \A...\Z, not ^...$: `$` also matches before a final line break, and a quoted key "es\n" is text.
ID_PATTERN = re.compile(r"\A[A-Za-z0-9_-]+\Z")
# An answer is what a bot says, sent whole in every response that names its entry (up to MAX_K
# candidates): longer belongs on a page the answer links to. A tag is a label, not a text.
MAX_ANSWER_CHARS = 10_000
MAX_TAG_CHARS = 100
LANGUAGE_PATTERN = re.compile(r"\A[a-z]{2,3}\Z")

YAML_BYTES_PER_FILE_BYTE = 20  # parsed node tree and entries per byte of FAQ file (measured: 18)
TOP_FIELDS = {"language": True, "faqs": True, "no_match": False, "default_answer": False}  # name -> required
PHRASING_FIELDS = {"text": True, "language": True}  # an alternative or no_match item in another language
RELATED_FIELDS = {"entry": True, "text": True}
ENTRY_FIELDS = {
    "id": True,
    "question": True,
    "alternatives": False,
    "answer": True,
    "answers": False,
    "tags": False,
    "related": False,
}
BLANK_LINES = re.compile(r"\n{3,}")


Phrasing = tuple[str, str]  # text, language


@dataclass(frozen=True)
class Related:
    """An entry offered after another (a follow-up prompt, a button): its id, and the text the
    customer sees for it (by default its question)."""

    entry: str
    text: str


@dataclass(frozen=True)
class FAQEntry:
    """One FAQ entry; every phrasing (question + alternatives) points to it."""

    id: str
    question: str
    answer: str
    alternatives: tuple[str, ...] = ()
    answers: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    languages: dict[str, str] = field(default_factory=dict)  # phrasing -> its language, where not the FAQ's
    related: tuple[Related, ...] = ()  # entries offered after this one, in order

    @property
    def phrasings(self) -> tuple[str, ...]:
        return (self.question, *self.alternatives)

    def phrasing_languages(self, default_language: str) -> list[str]:
        """The language of each phrasing, in `phrasings` order."""
        return [self.languages.get(p, default_language) for p in self.phrasings]

    def answer_in(self, language: str, default_language: str) -> tuple[str, str]:
        """The answer in `language` if the FAQ has one, else the default; with its language."""
        if language in self.answers:
            return self.answers[language], language
        return self.answer, default_language


@dataclass(frozen=True)
class FAQFile:
    """A validated FAQ source: its language, entries, and the hash that detects later edits."""

    path: Path
    language: str
    entries: tuple[FAQEntry, ...]
    sha256: str
    no_match: tuple[Phrasing, ...] = ()  # questions this FAQ does not answer, with their languages
    default_answer: str | None = None  # said when nothing matches

    def phrasing_languages(self) -> list[str]:
        """The language of every phrasing, in row order (index.row_entry)."""
        return [lang for entry in self.entries for lang in entry.phrasing_languages(self.language)]


def answer_text(text: str) -> str:
    """An answer as a FAQ holds it: line breaks, paragraphs and indentation kept; CRLF and lone CR
    as line breaks, trailing spaces dropped, blank lines at its ends dropped and runs of them made
    one (a paragraph break)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return BLANK_LINES.sub("\n\n", "\n".join(line.rstrip() for line in lines).strip())


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_faqs(path: str | Path) -> FAQFile:
    """Read and validate a FAQ file; raise InputFileError naming file, line and field."""
    path = Path(path)
    if path.is_file():
        size = path.stat().st_size
        memory.require(YAML_BYTES_PER_FILE_BYTE * size, f"reading {path} ({size / 2**20:.0f} MiB)", "split the FAQ")
    with memory.collector_paused():
        return _load(path)


def _load(path: Path) -> FAQFile:
    root = compose(path, "a FAQ YAML file with `language:` and `faqs:`")
    checker = _FAQChecker(str(path))
    top = checker.mapping(root, "(top level)", TOP_FIELDS)
    language = checker.string(top["language"], "language")
    if not LANGUAGE_PATTERN.match(language):
        checker.fail(top["language"], "language", "must be an ISO 639-1 code such as `en`")
    faq_nodes = checker.sequence(top["faqs"], "faqs")
    if not faq_nodes:
        checker.fail(top["faqs"], "faqs", "is empty; add at least one entry")
    checker.language = language
    entries = [checker.entry(node, f"faqs[{i}]") for i, node in enumerate(faq_nodes)]
    checker.unique(entries, faq_nodes)
    entries = checker.resolve_related(entries)
    no_match = checker.no_match(top["no_match"], entries) if "no_match" in top else ()
    default = checker.answer(top["default_answer"], "default_answer") if "default_answer" in top else None
    return FAQFile(path, language, tuple(entries), file_sha256(path), no_match, default)


class _FAQChecker(Checker):
    """The FAQ-specific checks on top of the generic located ones."""

    language = ""  # the FAQ's, once read

    def __init__(self, where: str):
        super().__init__(where)
        self.related: dict[str, list[tuple[yaml.Node, str, str, str | None]]] = {}  # id -> (node, name, entry, text)

    def reference(self, node: yaml.Node, name: str) -> tuple[yaml.Node, str, str, str | None]:
        """A related entry as written: `ID`, or `{entry: ID, text: ...}`; checked once all ids are known."""
        if not isinstance(node, self.yaml.MappingNode):
            return node, name, self.string(node, name), None
        fields = self.mapping(node, name, RELATED_FIELDS)
        return node, name, self.string(fields["entry"], f"{name}.entry"), self.string(fields["text"], f"{name}.text")

    def resolve_related(self, entries: list[FAQEntry]) -> list[FAQEntry]:
        """Each entry with its related entries: ids of other entries of this FAQ, each once, a
        missing text given by the entry's question."""
        questions = {e.id: e.question for e in entries}
        resolved = []
        for entry in entries:
            related, seen = [], set()
            for node, name, target, text in self.related.get(entry.id, ()):
                if target not in questions:
                    self.fail(node, name, f"no entry `{target}` in this FAQ; name the id of one of its entries")
                if target == entry.id or target in seen:
                    why = "the entry itself" if target == entry.id else "listed twice"
                    self.fail(node, name, f"`{target}` is {why}; list each other entry once")
                seen.add(target)
                related.append(Related(target, text or questions[target]))
            resolved.append(dataclasses.replace(entry, related=tuple(related)) if related else entry)
        return resolved

    def phrasing(self, node: yaml.Node, name: str) -> Phrasing:
        """A phrasing: a string in the FAQ's language, or `{text: ..., language: xx}`."""
        if not isinstance(node, self.yaml.MappingNode):
            return self.string(node, name), self.language
        fields = self.mapping(node, name, PHRASING_FIELDS)
        language = self.string(fields["language"], f"{name}.language")
        if not LANGUAGE_PATTERN.match(language):
            self.fail(fields["language"], f"{name}.language", "must be an ISO 639-1 code such as `es`")
        return self.string(fields["text"], f"{name}.text"), language

    def no_match(self, node: yaml.Node, entries: list[FAQEntry]) -> tuple[Phrasing, ...]:
        owner = {p.casefold(): e.id for e in entries for p in e.phrasings}
        items = []
        for i, item in enumerate(self.sequence(node, "no_match")):
            text, language = self.phrasing(item, f"no_match[{i}]")
            if text.casefold() in owner:
                message = f"is also a phrasing of entry `{owner[text.casefold()]}`; keep it in one place"
                self.fail(item, f"no_match[{i}]", message)
            items.append((text, language))
        return tuple(items)

    def entry(self, node: yaml.Node, name: str) -> FAQEntry:
        fields = self.mapping(node, name, ENTRY_FIELDS)
        entry_id = self.string(fields["id"], f"{name}.id")
        if not ID_PATTERN.match(entry_id):
            self.fail(fields["id"], f"{name}.id", "may only contain letters, digits, '-' and '_'")
        tags = self.strings(fields["tags"], f"{name}.tags") if "tags" in fields else ()
        for i, tag in enumerate(tags):
            if len(tag) > MAX_TAG_CHARS:
                self.fail(
                    fields["tags"],
                    f"{name}.tags[{i}]",
                    f"is {len(tag):,} characters; a tag has at most {MAX_TAG_CHARS}",
                )
        if "related" in fields:
            self.related[entry_id] = [
                self.reference(item, f"{name}.related[{i}]")
                for i, item in enumerate(self.sequence(fields["related"], f"{name}.related"))
            ]
        alternatives = (
            [
                self.phrasing(item, f"{name}.alternatives[{i}]")
                for i, item in enumerate(self.sequence(fields["alternatives"], f"{name}.alternatives"))
            ]
            if "alternatives" in fields
            else []
        )
        return FAQEntry(
            id=entry_id,
            question=self.string(fields["question"], f"{name}.question"),
            answer=self.answer(fields["answer"], f"{name}.answer"),
            alternatives=tuple(text for text, _ in alternatives),
            answers=self.answers(fields["answers"], f"{name}.answers") if "answers" in fields else {},
            tags=tags,
            languages={text: lang for text, lang in alternatives if lang != self.language},
        )

    def answer(self, node: yaml.Node, name: str) -> str:
        text = answer_text(self.raw(node, name))
        if not text:
            self.fail(node, name, "is empty; write some text or remove the field")
        if len(text) > MAX_ANSWER_CHARS:
            self.fail(
                node,
                name,
                f"is {len(text):,} characters; an answer has at most {MAX_ANSWER_CHARS:,}: "
                "put the rest on a page and link to it",
            )
        return text

    def answers(self, node: yaml.Node, name: str) -> dict[str, str]:
        if not isinstance(node, self.yaml.MappingNode):
            self.fail(node, name, "must be a mapping of `language: text` lines")
        result: dict[str, str] = {}
        for key_node, value_node in node.value:
            lang = key_node.value
            if not LANGUAGE_PATTERN.match(str(lang)):
                self.fail(key_node, f"{name}.{lang}", "key must be an ISO 639-1 code such as `es`")
            if lang in result:
                self.fail(key_node, f"{name}.{lang}", "appears twice; keep one")
            result[lang] = self.answer(value_node, f"{name}.{lang}")
        return result

    def unique(self, entries: list[FAQEntry], nodes: list[yaml.Node]) -> None:
        """Ids must be unique, and one phrasing may not point to two different entries."""
        first_id: dict[str, int] = {}
        first_phrasing: dict[str, str] = {}
        for i, (entry, node) in enumerate(zip(entries, nodes, strict=True)):
            if entry.id in first_id:
                other = nodes[first_id[entry.id]].start_mark.line + 1
                self.fail(
                    node, f"faqs[{i}].id", f"duplicate id `{entry.id}` (first used on line {other}); ids must be unique"
                )
            first_id[entry.id] = i
            for phrasing in entry.phrasings:
                key = phrasing.casefold()
                owner = first_phrasing.setdefault(key, entry.id)
                if owner != entry.id:
                    self.fail(
                        node,
                        f"faqs[{i}]",
                        f"phrasing {phrasing!r} is also used by entry `{owner}`; each phrasing must point to one entry",
                    )


def dump_faqs(
    language: str,
    entries: list[FAQEntry],
    no_match: list[Phrasing] | tuple[Phrasing, ...] = (),
    default_answer: str | None = None,
) -> str:
    """The FAQ file's text: fields in the documented order, multi-line answers as `|` blocks."""
    faqs = []
    for e in entries:
        item = {"id": e.id, "question": e.question}
        alternatives = [{"text": a, "language": e.languages[a]} if a in e.languages else a for a in e.alternatives]
        item |= {"alternatives": alternatives} if alternatives else {}
        item |= {"answer": e.answer}
        item |= {"answers": dict(e.answers)} if e.answers else {}
        item |= {"tags": list(e.tags)} if e.tags else {}
        item |= {"related": [{"entry": r.entry, "text": r.text} for r in e.related]} if e.related else {}
        faqs.append(item)
    top = {"language": language, "faqs": faqs}
    top |= (
        {"no_match": [t if lang == language else {"text": t, "language": lang} for t, lang in no_match]}
        if no_match
        else {}
    )
    top |= {"default_answer": default_answer} if default_answer else {}
    import yaml  # see yamlfile.loader

    return yaml.dump(top, Dumper=_dumper(), allow_unicode=True, sort_keys=False, width=100)


def save_faqs(
    path: Path,
    language: str,
    entries: list[FAQEntry],
    force: bool = False,
    no_match: list[Phrasing] | tuple[Phrasing, ...] = (),
    default_answer: str | None = None,
) -> FAQFile:
    """Write a FAQ file whole or not at all: validated beside `path`, then renamed onto it; an
    existing file is replaced only with `force`."""
    if path.exists() and not force:
        raise FAQSearchError(f"{path} already exists; pass --force to replace it, or choose another --out")
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(dump_faqs(language, entries, no_match, default_answer), encoding="utf-8")
        faq = load_faqs(partial)
        os.replace(partial, path)
    except OSError as exc:
        raise FAQSearchError(f"cannot write {path} ({exc.strerror or exc}); choose a writable --out") from None
    finally:
        partial.unlink(missing_ok=True)
    return dataclasses.replace(faq, path=path)


@cache
def _dumper() -> type:
    """PyYAML's safe dumper (libyaml's where built: ~10x faster on 10,000 entries) writing a
    multi-line answer as a `|` block."""
    import yaml

    class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
        def represent_str(self, text: str) -> yaml.ScalarNode:
            style = "|" if "\n" in text and not text.endswith((" ", "\t")) else None
            return self.represent_scalar("tag:yaml.org,2002:str", text, style=style)

    Dumper.add_representer(str, Dumper.represent_str)
    return Dumper
