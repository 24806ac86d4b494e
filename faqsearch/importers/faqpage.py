"""A web page's schema.org FAQPage (a local HTML file), as JSON-LD or as microdata.

Format (schema.org/FAQPage, and Google Search Central's "FAQ (FAQPage) structured data"): a
FAQPage whose `mainEntity` lists Questions, each with a `name` and an `acceptedAnswer` Answer
with a `text`. JSON-LD: `<script type="application/ld+json">` (also inside `@graph`);
microdata: `itemscope itemtype=".../FAQPage"` with `itemprop` Question, name, acceptedAnswer,
text. The page is read with Python's HTML parser. An answer's text is kept as the page gives it:
JSON-LD answers often hold HTML tags, and they stay in the FAQ file as text. The page's
`<html lang>` is its language.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

from ..inputs import read_text
from .base import Draft, NotThisFormat, Report

NAME = "faqpage"


class _Page(HTMLParser):
    """JSON-LD blocks, microdata items (nested dicts of itemprop -> values) and <html lang>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lang, self.scripts, self.items = None, [], []
        self._script = None  # text of the ld+json script being read
        self._stack = []  # open elements: (tag, item or None, itemprop or None, text parts or None)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html" and a.get("lang"):
            self.lang = a["lang"].split("-")[0].lower()
        if tag == "script" and (a.get("type") or "").lower() == "application/ld+json":
            self._script = []
        for _, _, _, text in self._stack:  # an element starts: a word ends (`Orders<br>and` is two)
            if text is not None:
                text.append(" ")
        kind = (a.get("itemtype") or "").rsplit("/", 1)[-1]
        item = {"@type": kind, "@line": self.getpos()[0]} if "itemscope" in a else None
        prop = a.get("itemprop")
        text = [] if prop and item is None else None
        if prop and item is None and a.get("content") is not None:
            text = [a["content"]]
        self._stack.append((tag, item, prop, text))
        if tag in ("br", "img", "meta", "link", "input", "hr"):
            self._close(self._stack.pop())

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append(("".join(self._script), self.getpos()[0]))
            self._script = None
        if not any(open_tag == tag for open_tag, *_ in self._stack):
            return  # a stray end tag
        while self._stack:
            element = self._stack.pop()
            self._close(element)
            if element[0] == tag:
                break

    def handle_data(self, data):
        if self._script is not None:
            self._script.append(data)
        for _, _, _, text in self._stack:
            if text is not None:
                text.append(data)

    def _close(self, element):
        _, item, prop, text = element
        value = item if item is not None else (" ".join("".join(text).split()) if text is not None else None)
        if value is None:
            return
        parent = next((i for _, i, _, _ in reversed(self._stack) if i is not None), None)
        if prop and parent is not None:
            parent.setdefault(prop, []).append(value)
        elif item is not None:
            self.items.append(item)


def _questions(node, found: list) -> None:
    """Every Question under a FAQPage in parsed JSON-LD (lists, @graph and nesting included)."""
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
    return value[0] if isinstance(value, list) and value else value


def parse(path: Path, report: Report) -> tuple[list[Draft], str | None]:
    page = _Page()
    page.feed(read_text(path, "an HTML page with FAQPage structured data")[1])
    page.close()
    drafts = []
    for text, line in page.scripts:
        try:
            data = json.loads(text)
        except ValueError as exc:
            report.warn(f"{path}:line {line}", f"a JSON-LD block that is not valid JSON ({exc}); skipped")
            continue
        found: list = []
        _questions(data, found)
        for i, question in enumerate(found):
            answer = _first(question.get("acceptedAnswer") or question.get("suggestedAnswer") or {}) or {}
            text_ = answer.get("text", "") if isinstance(answer, dict) else str(answer)
            where = f"{path}:line {line} (JSON-LD, question {i + 1})"
            drafts.append(Draft(where, [str(question.get("name", ""))], str(text_ or ""), question.get("@id")))
    for page_item in (i for i in page.items if i["@type"] == "FAQPage"):
        for question in page_item.get("mainEntity", []):
            if not isinstance(question, dict):
                continue
            answer = _first(question.get("acceptedAnswer") or [{}])
            text_ = _first(answer.get("text") or [""]) if isinstance(answer, dict) else ""
            where = f"{path}:line {question['@line']} (microdata)"
            drafts.append(Draft(where, [str(_first(question.get("name") or [""]))], str(text_)))
    if not drafts:
        raise NotThisFormat("no schema.org FAQPage in JSON-LD or microdata")
    return drafts, page.lang


def fits(path: Path) -> None:
    head = path.read_bytes()[:4096].lower() if path.is_file() else b""
    if b"<html" not in head and b"<!doctype html" not in head and b"<script" not in head:
        raise NotThisFormat("not an HTML page")
    parse(path, Report(str(path), NAME))
