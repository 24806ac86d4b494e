"""A web page's schema.org FAQPage (a local HTML file), as JSON-LD or as microdata.

Format (schema.org/FAQPage, and Google Search Central's "FAQ (FAQPage) structured data"): a
FAQPage whose `mainEntity` lists Questions, each with a `name` and an `acceptedAnswer` Answer
with a `text`. JSON-LD: `<script type="application/ld+json">` (also inside `@graph`);
microdata: `itemscope itemtype=".../FAQPage"` with `itemprop` Question, name, acceptedAnswer,
text. The page is read with Python's HTML parser. An answer's text is kept as the page gives it:
JSON-LD answers often hold HTML tags, and they stay in the FAQ file as text. The page's
`<html lang>` is its language.

A page costs time in proportion to its size: each tag, end tag and text is handled in steps
bounded by the microdata open around it, which may nest at most MAX_DEPTH deep; JSON-LD is read
by base.parse_json (nesting bounded too).
"""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

from ..errors import InputFileError
from ..inputs import read_text
from .base import MAX_DEPTH, Draft, NotThisFormat, Report, kind, parse_json, text

NAME = "faqpage"
VOID = ("br", "img", "meta", "link", "input", "hr")  # elements without an end tag


class _Page(HTMLParser):
    """JSON-LD blocks, microdata items (nested dicts of itemprop -> values) and <html lang>."""

    def __init__(self, where: str):
        super().__init__(convert_charrefs=True)
        self.where = where
        self.lang, self.scripts, self.items = None, [], []
        self._script = None  # text of the ld+json script being read
        self._stack = []  # open elements: (tag, item or None, itemprop or None, text parts or None)
        self._open = Counter()  # open elements by tag: a stray end tag is known without a walk
        self._items = []  # the open items, innermost last: where a value goes
        self._texts = []  # the open itemprop values' text parts: what data goes to

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html" and a.get("lang"):
            self.lang = a["lang"].split("-")[0].lower()
        if tag == "script" and (a.get("type") or "").lower() == "application/ld+json":
            self._script = []
        for text_ in self._texts:  # an element starts: a word ends (`Orders<br>and` is two)
            text_.append(" ")
        kind_ = (a.get("itemtype") or "").rsplit("/", 1)[-1]
        item = {"@type": kind_, "@line": self.getpos()[0]} if "itemscope" in a else None
        prop = a.get("itemprop")
        text_ = [] if prop and item is None else None
        if prop and item is None and a.get("content") is not None:
            text_ = [a["content"]]
        if (item is not None or text_ is not None) and len(self._items) + len(self._texts) >= MAX_DEPTH:
            raise InputFileError(
                self.where, f"microdata nested deeper than {MAX_DEPTH} levels; a FAQPage needs a few", self.getpos()[0]
            )
        self._stack.append((tag, item, prop, text_))
        self._open[tag] += 1
        if item is not None:
            self._items.append(item)
        if text_ is not None:
            self._texts.append(text_)
        if tag in VOID:
            self._close(self._stack.pop())

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append(("".join(self._script), self.getpos()[0]))
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
        for text_ in self._texts:
            text_.append(data)

    def _close(self, element):
        tag, item, prop, text_ = element
        self._open[tag] -= 1
        if item is not None:
            self._items.pop()
        if text_ is not None:
            self._texts.pop()
        value = item if item is not None else (" ".join("".join(text_).split()) if text_ is not None else None)
        if value is None:
            return
        parent = self._items[-1] if self._items else None
        if prop and parent is not None:
            parent.setdefault(prop, []).append(value)
        elif item is not None:
            self.items.append(item)


def _questions(node, found: list) -> None:
    """Every Question under a FAQPage in parsed JSON-LD (lists, @graph and nesting included;
    parse_json bounded the nesting)."""
    if isinstance(node, list):
        for child in node:
            _questions(child, found)
    elif isinstance(node, dict):
        types = node.get("@type") if isinstance(node.get("@type"), list) else [node.get("@type")]
        if "FAQPage" in types:
            entities = node.get("mainEntity") or []
            found.extend(entities if isinstance(entities, list) else [entities])
        else:
            for value in node.values():
                _questions(value, found)


def _first(value):
    """A property's value: microdata gives each as a list, JSON-LD may."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _draft(where: str, question: object, report: Report) -> Draft | None:
    """A Question (JSON-LD object or microdata item) as a draft; anything else is reported."""
    if not isinstance(question, dict):
        report.warn(where, f"{kind(question)} where a Question should be; skipped")
        return None
    answer = _first(question.get("acceptedAnswer") or question.get("suggestedAnswer"))
    if isinstance(answer, dict):
        answer = _first(answer.get("text"))
    name = text(_first(question.get("name")), where, "name", report)
    key = text(question.get("@id"), where, "@id", report)
    return Draft(where, [name], text(answer, where, "acceptedAnswer.text", report), key or None)


def parse(path: Path, report: Report) -> tuple[list[Draft], str | None]:
    page = _Page(str(path))
    try:
        page.feed(read_text(path, "an HTML page with FAQPage structured data")[1])
    except AssertionError as exc:  # Python 3.11's parser on a malformed `<![` declaration
        raise InputFileError(str(path), f"HTML that Python's parser cannot read ({exc})", page.getpos()[0]) from None
    # No page.close(): what it would add is an unfinished tag or comment at the end, never FAQ
    # data, and a Python without the CVE-2025-6069 fix (3.11.7 here) re-scans that to the end
    # from each `<` in it: 50,000 `<!--` took 22 s.
    drafts = []
    for block, line in page.scripts:
        try:
            data = parse_json(str(path), block, line)
        except ValueError as exc:
            report.warn(f"{path}:line {line}", f"a JSON-LD block that is not valid JSON ({exc}); skipped")
            continue
        found: list = []
        _questions(data, found)
        for i, question in enumerate(found):
            drafts.append(_draft(f"{path}:line {line} (JSON-LD, question {i + 1})", question, report))
    for page_item in (i for i in page.items if i["@type"] == "FAQPage"):
        for question in page_item.get("mainEntity", []):
            line = question["@line"] if isinstance(question, dict) else page_item["@line"]
            drafts.append(_draft(f"{path}:line {line} (microdata)", question, report))
    if not drafts:
        raise NotThisFormat("no schema.org FAQPage in JSON-LD or microdata")
    return [draft for draft in drafts if draft is not None], page.lang


def fits(path: Path) -> None:
    head = b""
    if path.is_file():
        with path.open("rb") as file:
            head = file.read(4096).lower()
    if b"<html" not in head and b"<!doctype html" not in head and b"<script" not in head:
        raise NotThisFormat("not an HTML page")
    parse(path, Report(str(path), NAME))
