"""HTML as a FAQ file keeps it: an answer's HTML as Markdown, a question's as plain text.

Markdown, because a FAQ answer is text that a terminal, a chat widget or an LLM shows as it is,
and Markdown reads as text while keeping what the page had: paragraphs become blocks separated
by a blank line, `<br>` a line break, `<a href>` `[text](url)`, `<ul>`/`<ol>` items `- ` and
`1. `, `<strong>`/`<b>` `**...**`, `<em>`/`<i>` `*...*`; entities are decoded, scripts and
styles dropped, any other element's text kept, and whitespace runs collapsed as a browser does.
Text is not escaped: a `*` in an answer stays a `*`. A relative link is resolved against the
page's base URL when one is known (an absolute http(s) URL), else kept as written.

One pass of Python's HTML parser, in time proportional to the HTML: each tag, end tag and text
costs a constant number of steps, plus the open elements an end tag closes (each opened once).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from ..faqs import answer_text

GAPS = ("", " ", "\n", "\n\n")  # what may separate two texts, weakest first: none, space, line, paragraph
SPACE, LINE, PARAGRAPH = 1, 2, 3
BLOCKS = frozenset(
    ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "section", "article", "header",
     "footer", "aside", "nav", "figure", "figcaption", "address", "details", "summary", "dl", "dt", "dd", "hr",
     "form", "fieldset", "main")
)  # fmt: skip
MARKS = {"strong": "**", "b": "**", "em": "*", "i": "*"}
SKIPPED = frozenset(("script", "style", "template"))
MAX_INDENT = 12  # a list nested deeper is indented as this one: the output stays proportional to the input
TAG = re.compile(r"<[A-Za-z/!]")  # where HTML has markup; without any, a JSON-LD answer is text
ESCAPED_TAG = re.compile(r"<[A-Za-z/][^<>]*>")  # a tag left in text whose markup was escaped once more


@dataclass
class _Inline:
    """An open `<b>`, `<em>` or `<a href>`: what closes it, and whether its opening was written."""

    tag: str
    kind: str
    closing: str
    written: bool = False


@dataclass
class _List:
    ordered: bool
    tag: str
    count: int  # items so far
    indent: int  # spaces before its items' markers
    width: int = 2  # its current item's marker (`- `, `10. `): where the item's own text starts


class Markdown:
    """Markdown (or, `plain`, one line of text) from HTML's start tags, end tags and texts."""

    def __init__(self, base: str | None = None, plain: bool = False):
        self.base = base if base and _absolute(base) else None
        self.plain = plain
        self._out: list[str] = []
        self._gap = 0  # index into GAPS: what goes before the next text
        self._prefix = ""  # a list item's marker, written before the item's first text
        self._opening: list[tuple[_Inline, str]] = []  # marks started, written before the next text
        self._inline: list[_Inline] = []  # open marks and links, innermost last
        self._tags: Counter = Counter()  # open marks, links and lists by tag: a stray end tag is known at once
        self._kinds: Counter = Counter()  # open marks and links by kind: `<b>` inside `<b>` writes no second `**`
        self._lists: list[_List] = []
        self._skip = 0  # inside a script or style

    def start(self, tag: str, attrs: dict) -> None:
        if tag in SKIPPED:
            self._skip += 1
        elif tag == "br":
            self._gap = PARAGRAPH if self._gap >= LINE else LINE
        elif tag in BLOCKS:
            self._break(PARAGRAPH)
        elif tag in ("tr", "li", "ul", "ol"):
            self._break(LINE if self._lists or tag == "tr" else PARAGRAPH)
            if tag == "li":
                self._item()
            elif tag != "tr":
                self._list(tag, attrs.get("start"))
        elif tag in ("td", "th"):
            self._break(SPACE)
        elif (tag in MARKS or tag == "a") and not self.plain:
            self._mark(tag, attrs.get("href"))

    def end(self, tag: str) -> None:
        if tag in SKIPPED:
            self._skip = max(self._skip - 1, 0)
        elif tag in BLOCKS:
            self._break(PARAGRAPH)
        elif tag == "tr":
            self._break(LINE)
        elif tag in ("ul", "ol") and self._tags[tag]:
            while (level := self._lists.pop()).tag != tag:
                self._tags[level.tag] -= 1
            self._tags[tag] -= 1
            self._break(LINE if self._lists else PARAGRAPH)
        elif self._tags[tag]:  # a mark or link
            while True:
                entry = self._inline.pop()
                self._tags[entry.tag] -= 1
                self._kinds[entry.kind] -= 1
                if entry.written:
                    self._out.append(entry.closing)
                elif self._opening and self._opening[-1][0] is entry:
                    self._opening.pop()
                if entry.tag == tag:
                    break

    def data(self, text: str) -> None:
        if self._skip or not text:
            return
        if text[0].isspace():
            self._break(SPACE)
        if words := text.split():
            self._write(" ".join(words))
            if text[-1].isspace():
                self._break(SPACE)

    def result(self) -> str:
        """What was read so far, its open marks and links closed."""
        return "".join(self._out + [entry.closing for entry in reversed(self._inline) if entry.written])

    def _break(self, gap: int) -> None:
        self._gap = max(self._gap, gap)

    def _write(self, text: str) -> None:
        if self._out and self._gap:
            gap = " " if self.plain else GAPS[self._gap]
            if "\n" in gap and self._lists and not self._prefix:  # the item's next line, indented as its text
                gap += " " * (self._lists[-1].indent + self._lists[-1].width)
            self._out.append(gap)
        if self._prefix and not self.plain:
            self._out.append(self._prefix)
        for entry, opening in self._opening:
            self._out.append(opening)
            entry.written = True
        self._prefix, self._gap, self._opening = "", 0, []
        self._out.append(text)

    def _list(self, tag: str, start: str | None) -> None:
        parent = self._lists[-1] if self._lists else None
        indent = min(parent.indent + parent.width, MAX_INDENT) if parent else 0
        first = int(start) - 1 if tag == "ol" and start and start.isdigit() and len(start) < 10 else 0
        self._lists.append(_List(tag == "ol", tag, first, indent))
        self._tags[tag] += 1

    def _item(self) -> None:
        level = self._lists[-1] if self._lists else _List(False, "", 0, 0)
        level.count += 1
        marker = f"{level.count}. " if level.ordered else "- "
        level.width = len(marker)
        self._prefix = " " * level.indent + marker

    def _mark(self, tag: str, href: str | None) -> None:
        kind = MARKS.get(tag, "a")
        url = self._url(href) if kind == "a" else ""
        if url is None:
            return  # a link to nowhere (no href, `javascript:`): its text only
        opening, closing = ("[", f"]({url})") if kind == "a" else (kind, kind)
        entry = _Inline(tag, kind, closing if not self._kinds[kind] else "")
        if not self._kinds[kind]:
            self._opening.append((entry, opening))
        self._inline.append(entry)
        self._tags[tag] += 1
        self._kinds[kind] += 1

    def _url(self, href: str | None) -> str | None:
        url = "%20".join((href or "").split())
        if not url or url.lower().startswith("javascript:"):
            return None
        try:
            if self.base and not urlsplit(url).scheme:
                url = urljoin(self.base, url)
        except ValueError:  # not a URL Python can split (`http://[x`): kept as written
            pass
        return url.replace("(", "%28").replace(")", "%29")


class _Events(HTMLParser):
    """Python's HTML parser, handing what it reads to a Markdown writer."""

    def __init__(self, writer: Markdown):
        super().__init__(convert_charrefs=True)
        self.writer = writer

    def handle_starttag(self, tag, attrs):
        self.writer.start(tag, dict(attrs))

    def handle_endtag(self, tag):
        self.writer.end(tag)

    def handle_data(self, data):
        self.writer.data(data)


def markdown(fragment: str, base: str | None = None) -> str:
    """An answer's HTML as Markdown (see the module's docstring); text without any markup is
    kept as text, its line breaks included (entities decoded, spaces within a line collapsed)."""
    if not TAG.search(fragment):
        return _text(fragment)
    return _read(fragment, Markdown(base))


def plain(fragment: str) -> str:
    """A question's HTML as one line of text: tags removed, entities decoded, whitespace
    collapsed. Markup escaped once more (`&lt;strong&gt;`, which some plugins write) is read as
    markup, so a question never keeps a tag."""
    once = _read(fragment, Markdown(plain=True))
    return _read(once, Markdown(plain=True)) if ESCAPED_TAG.search(once) else once


def _read(fragment: str, writer: Markdown) -> str:
    parser = _Events(writer)
    try:
        parser.feed(fragment)
    except AssertionError:  # Python 3.11's parser on a malformed `<![`: the HTML is kept as text
        return _text(fragment)
    # No close() (see faqpage.parse): what it would still hold is an unfinished tag or comment,
    # dropped, or text it waited on (`AT&T` at the end), read here.
    rest = parser.rawdata
    if rest and not parser.cdata_elem and not rest.startswith("<"):
        writer.data(unescape(rest))
    return writer.result()


def _text(fragment: str) -> str:
    """Text without markup: entities decoded, spaces within a line collapsed, then normalized as every answer is."""
    return answer_text("\n".join(" ".join(line.split()) for line in unescape(fragment).splitlines()))


def _absolute(url: str) -> bool:
    try:
        return urlsplit(url).scheme in ("http", "https")
    except ValueError:
        return False
