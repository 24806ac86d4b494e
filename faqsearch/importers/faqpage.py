"""A web page's schema.org FAQPage (a local HTML file), as JSON-LD or as microdata.

Format (schema.org/FAQPage, and Google Search Central's "FAQ (FAQPage) structured data"): a
FAQPage whose `mainEntity` lists Questions, each with a `name` and an `acceptedAnswer` Answer
with a `text`. JSON-LD: `<script type="application/ld+json">`, also inside `@graph`, where a
FAQPage (Yoast SEO: `"@type": ["WebPage", "FAQPage"]`) may list its questions as references,
`{"@id": "...#faq-question-1"}`, to nodes defined elsewhere in the page's JSON-LD (any block);
microdata: `itemscope itemtype=".../FAQPage"` with `itemprop` Question, name, acceptedAnswer,
text. The page is read with Python's HTML parser. A question is plain text; an answer's HTML
becomes Markdown (html.markdown), its relative links resolved against the page's `<base href>`,
else its canonical URL. A Question's `@id` is its entry's id (the part after `#` of a URL). The
page's `<html lang>` is its language.

JSON-LD is read as Google reads it: a raw line break or tab inside a string is accepted, and so
is an HTML comment or CDATA wrapper around the block (`<!-- ... -->`, `//<![CDATA[ ... //]]>`);
a trailing comma is not. A block that is still not JSON is reported at its line, and when the
page yields no question, the error says why.

A page costs time in proportion to its size: each tag, end tag and text is handled in steps
bounded by the microdata open around it, which may nest at most MAX_DEPTH deep; JSON-LD is read
by base.parse_json (nesting bounded too) and its references looked up in an index by `@id`, one
step each (a reference is followed once, never through another: no cycle can loop).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from ..errors import InputFileError
from .base import MAX_DEPTH, Draft, NotThisFormat, Report, kind, parse_json, text
from .html import Markdown, markdown, plain
from .source import read_source

NAME = "faqpage"
VOID = ("br", "img", "meta", "link", "input", "hr", "wbr", "source")  # elements without an end tag
# What pages wrap a JSON-LD block in for old browsers and XHTML (`<!--`, `// <![CDATA[`, and
# their ends): blanked out, positions kept for the messages, as extruct does. Each is looked for
# in the block's first or last WRAPPER characters only, so no scan grows with the block.
OPENER = re.compile(r"(?://|/\*)?[ \t]*(?:<!\[CDATA\[|<!--)(?:[ \t]*\*/)?")
CLOSER = re.compile(r"(?://|/\*)?[ \t]*(?:\]\]>|-->)(?:[ \t]*\*/)?\Z")
WRAPPER = 40


class _Page(HTMLParser):
    """JSON-LD blocks, microdata items (nested dicts of itemprop -> values, a `text` as
    Markdown), <html lang> and the URL relative links lead to."""

    def __init__(self, where: str):
        super().__init__(convert_charrefs=True)
        self.where = where
        self.lang, self.scripts, self.items = None, [], []
        self.links: dict[str, str] = {}  # `base` (<base href>) and `canonical` (<link rel=canonical>)
        self._script = None  # text of the ld+json script being read
        self._script_line = 0
        self._stack = []  # open elements: (tag, item or None, itemprop or None, its value's Markdown or None)
        self._open = Counter()  # open elements by tag: a stray end tag is known without a walk
        self._items = []  # the open items, innermost last: where a value goes
        self._values = []  # the open itemprop values' Markdown writers: what tags and text go to

    @property
    def base(self) -> str | None:
        return self.links.get("base") or self.links.get("canonical")

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html" and a.get("lang"):
            self.lang = a["lang"].split("-")[0].lower()
        if tag == "script" and (a.get("type") or "").lower() == "application/ld+json":
            self._script, self._script_line = [], self.getpos()[0]
        if tag == "base" and a.get("href"):
            self.links.setdefault("base", a["href"])
        if tag == "link" and a.get("href") and "canonical" in (a.get("rel") or "").lower().split():
            self.links.setdefault("canonical", a["href"])
        for value in self._values:
            value.start(tag, a)
        kind_ = (a.get("itemtype") or "").rsplit("/", 1)[-1]
        item = {"@type": kind_, "@line": self.getpos()[0]} if "itemscope" in a else None
        prop = a.get("itemprop")
        value = Markdown(self.base, plain=prop != "text") if prop and item is None else None
        if value is not None and a.get("content") is not None:
            value.data(a["content"])
        if (item is not None or value is not None) and len(self._items) + len(self._values) >= MAX_DEPTH:
            raise InputFileError(
                self.where, f"microdata nested deeper than {MAX_DEPTH} levels; a FAQPage needs a few", self.getpos()[0]
            )
        self._stack.append((tag, item, prop, value))
        self._open[tag] += 1
        if item is not None:
            self._items.append(item)
        if value is not None:
            self._values.append(value)
        if tag in VOID:
            self._close(self._stack.pop())

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append(("".join(self._script), self._script_line))
            self._script = None
        if not self._open[tag]:
            return  # a stray end tag
        while self._stack:
            element = self._stack.pop()
            self._close(element)
            if element[0] == tag:
                break

    def handle_data(self, data):
        if self._script is not None:
            self._script.append(data)
        for value in self._values:
            value.data(data)

    def _close(self, element):
        tag, item, prop, value = element
        self._open[tag] -= 1
        if item is not None:
            self._items.pop()
        if value is not None:
            self._values.pop()
        for outer in self._values:
            outer.end(tag)
        read = item if item is not None else (value.result() if value is not None else None)
        if read is None:
            return
        parent = self._items[-1] if self._items else None
        if prop and parent is not None:
            parent.setdefault(prop, []).append(read)
        elif item is not None:
            self.items.append(item)


@dataclass
class _Graph:
    """The page's JSON-LD: its FAQPages (with their block's line), its nodes by `@id` (the first
    full definition of each), and the base URL of its answers' links."""

    base: str | None
    pages: list = field(default_factory=list)
    nodes: dict = field(default_factory=dict)

    def add(self, node, line: int) -> None:
        """Index `node` and everything in it (parse_json bounded the nesting)."""
        if isinstance(node, list):
            for child in node:
                self.add(child, line)
        elif isinstance(node, dict):
            if isinstance(node.get("@id"), str) and not _reference(node):
                self.nodes.setdefault(node["@id"], node)
            types = node.get("@type") if isinstance(node.get("@type"), list) else [node.get("@type")]
            if "FAQPage" in types:
                self.pages.append((node, line))
            for value in node.values():
                self.add(value, line)

    def resolve(self, node):
        """`node`, or the node a reference (`{"@id": ...}` alone) names, if the page defines it."""
        return self.nodes.get(node["@id"], node) if _reference(node) else node


def _reference(node) -> bool:
    return isinstance(node, dict) and isinstance(node.get("@id"), str) and set(node) <= {"@id", "@type"}


def _first(value):
    """A property's value: microdata gives each as a list, JSON-LD may."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _draft(where: str, question: object, report: Report, graph: _Graph | None) -> Draft | None:
    """A Question (JSON-LD object, read through `graph`, or microdata item, whose values the page
    parser already made text) as a draft; anything else is reported."""
    if graph is not None and _reference(question):
        report.warn(where, f"`mainEntity` names {question['@id'][:80]!r}, which no JSON-LD here defines; skipped")
        return None
    if not isinstance(question, dict):
        report.warn(where, f"{kind(question)} where a Question should be; skipped")
        return None
    answer = _first(question.get("acceptedAnswer") or question.get("suggestedAnswer"))
    answer = graph.resolve(answer) if graph is not None else answer
    if isinstance(answer, dict):
        answer = _first(answer.get("text"))
    name = text(_first(question.get("name")), where, "name", report)
    key = text(question.get("@id"), where, "@id", report)
    answer = text(answer, where, "acceptedAnswer.text", report)
    if graph is not None:
        name, answer = plain(name), markdown(answer, graph.base)
    return Draft(where, [name], answer, key.rpartition("#")[2] or key or None)


def _block(where: str, block: str, line: int):
    """A JSON-LD block's data, read as Google reads it (see the module's docstring); ValueError
    if it is still not JSON."""
    lead, end = len(block) - len(block.lstrip()), len(block.rstrip())
    opener = OPENER.match(block, lead, min(lead + WRAPPER, end))
    start = opener.end() if opener else lead
    closer = CLOSER.search(block, max(start, end - WRAPPER), end)
    end = closer.start() if closer else end
    block = block[:lead] + " " * (start - lead) + block[start:end]  # lines and columns stay where they were
    try:
        return parse_json(where, block, line)
    except json.JSONDecodeError as exc:
        if not exc.msg.startswith("Invalid control character"):
            raise
    return json.loads(block, strict=False)  # parse_json checked the nesting before json refused the character


def _invalid(exc: ValueError, line: int) -> str:
    """Why a block is not JSON, at the page's line and column where json says."""
    if not isinstance(exc, json.JSONDecodeError):  # a number of over 4,300 digits
        return str(exc)
    before = exc.doc[: exc.pos].rstrip()
    comma = before.endswith(",") and exc.doc[exc.pos : exc.pos + 1] in ("}", "]")
    hint = "; a comma before a closing bracket, which JSON and Google refuse: remove it" if comma else ""
    return f"{exc.msg}: line {line + exc.lineno - 1}, column {exc.colno}{hint}"


def parse(path: Path, report: Report) -> tuple[list[Draft], str | None]:
    page = _Page(str(path))
    try:
        page.feed(read_source(path, "an HTML page with FAQPage structured data", report))
    except AssertionError as exc:  # Python 3.11's parser on a malformed `<![` declaration
        raise InputFileError(str(path), f"HTML that Python's parser cannot read ({exc})", page.getpos()[0]) from None
    # No page.close(): what it would add is an unfinished tag or comment at the end, never FAQ
    # data, and a Python without the CVE-2025-6069 fix (3.11.7 here) re-scans that to the end
    # from each `<` in it: 50,000 `<!--` took 22 s.
    graph, problems = _Graph(page.base), []
    for block, line in (script for script in page.scripts if script[0].strip()):
        try:
            graph.add(_block(str(path), block, line), line)
        except ValueError as exc:
            problems.append((line, "JSON-LD block", f"is not valid JSON ({_invalid(exc, line)})"))
    faq_pages = [(node, line, "JSON-LD", graph) for node, line in graph.pages]
    faq_pages += [(item, item["@line"], "microdata", None) for item in page.items if item["@type"] == "FAQPage"]
    drafts, seen = [], set()
    for node, line, form, jsonld in faq_pages:  # jsonld: the graph its references are read through
        node = jsonld.resolve(node) if jsonld else node
        if id(node) in seen:
            continue  # a FAQPage named twice (defined, and referred to)
        seen.add(id(node))
        questions = node.get("mainEntity")
        questions = questions if isinstance(questions, list) else [] if questions is None else [questions]
        if not questions:
            problems.append((line, f"{form} FAQPage", "lists no questions (`mainEntity`)"))
        for i, question in enumerate(questions):
            at = line if jsonld or not isinstance(question, dict) else question["@line"]
            question = jsonld.resolve(question) if jsonld else question
            drafts.append(_draft(f"{path}:line {at} ({form}, question {i + 1})", question, report, jsonld))
    if not drafts:
        reasons = [f"the {what} at line {line} {why}" for line, what, why in problems[:3]]
        reasons += [f"{len(problems) - 3} more"] * (len(problems) > 3)
        none = [] if faq_pages else ["no schema.org FAQPage in JSON-LD or microdata"]
        raise NotThisFormat("; ".join(none + reasons))
    for line, what, why in problems:
        report.warn(f"{path}:line {line}", f"a {what} that {why}; skipped")
    return [draft for draft in drafts if draft is not None], page.lang


def fits(path: Path) -> None:
    head = b""
    if path.is_file():
        with path.open("rb") as file:
            head = file.read(4096).lower()
    if b"<html" not in head and b"<!doctype html" not in head and b"<script" not in head:
        raise NotThisFormat("not an HTML page")
    parse(path, Report(str(path), NAME))
