"""Adding to a FAQ file's text in place: phrasings to entries, questions under `no_match`, new
entries (`faqsearch review --apply`).

The owner's file is edited, not re-dumped: the YAML parser says where each list ends, and the new
lines go there, written in the style of the list's own items (its dash and indentation, or
`[a, b]` on one line). Every other byte stays as it was: comments, blank lines, quoting, folded
answers, anchors, line endings. A round-trip library (ruamel.yaml) re-dumped 28 of 52 real YAML
files from public repositories with changes beyond the edit (re-folded multi-line strings,
indentation, trailing spaces, `null` and `True` respelled), which an owner would rightly refuse
in a diff (BENCHMARKS.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from .errors import FAQSearchError
from .yamlfile import loader

WIDE = 10**9  # one line per scalar, however long


def scalar(value: str | dict) -> str:
    """`value` as YAML on one line: a plain string where that reads back the same, else quoted;
    a mapping as `{key: value, ...}`."""
    return yaml.safe_dump([value], default_flow_style=True, allow_unicode=True, width=WIDE, sort_keys=False)[1:-2]


def _value(value: str, indent: str) -> str:
    """A field's value: an answer of several lines as a `|-` block, its lines as they are (faqs.
    answer_text left none with trailing spaces or leading blank lines); anything else on one line.
    A line or paragraph separator, which YAML reads as a line break, keeps it quoted."""
    if "\n" not in value or any(c in value for c in "\x85\u2028\u2029"):
        return scalar(value)
    return "|-" + "".join(f"\n{indent}  {line}" if line else "\n" for line in value.split("\n"))


@dataclass
class FAQText:
    """A FAQ file's text and what is to be added to it, applied at once by `result`."""

    text: str
    _inserts: list[tuple[int, int, str]] = field(default_factory=list)  # (offset, order, text)

    def __post_init__(self) -> None:
        self.newline = "\r\n" if "\r\n" in self.text else "\n"
        if not self.text.endswith("\n"):
            self.text += self.newline
        self.starts = [0]
        for i, char in enumerate(self.text):
            if char == "\n":
                self.starts.append(i + 1)
        root = yaml.compose(self.text, Loader=loader())
        self.top = {k.value: (k, v) for k, v in root.value}
        self.entries = {
            dict((k.value, v) for k, v in node.value)["id"].value: node for node in self.top["faqs"][1].value
        }

    def add_phrasings(self, entry: str, items: list[str | dict]) -> None:
        """`items` appended to the entry's alternatives (made after its question if it has none)."""
        fields = {k.value: (k, v) for k, v in self.entries[entry].value}
        if "alternatives" in fields:
            self._extend(fields["alternatives"][1], items)
        else:
            key, value = fields["question"]
            self._new_list(self._after(value), key.start_mark.column, "alternatives", items)

    def add_no_match(self, items: list[str | dict]) -> None:
        if "no_match" in self.top:
            self._extend(self.top["no_match"][1], items)
        else:
            self._new_list(len(self.text), 0, "no_match", items)

    def add_entry(self, fields: dict[str, str], alternatives: list[str | dict]) -> None:
        """A new entry after the last one, its dash and keys placed as the first entry's are;
        `alternatives`, if any, after its question."""
        faqs = self.top["faqs"][1]
        if faqs.flow_style:
            raise FAQSearchError("`faqs:` is written as one [...] line; write it as a list of `- id: ...` entries")
        first = faqs.value[0].value[0][0]  # the first entry's first key
        line = self._line(first.start_mark.line)[: first.start_mark.column]
        indent = " " * first.start_mark.column
        lines = [f"{line if i == 0 else indent}{k}: {_value(v, indent)}" for i, (k, v) in enumerate(fields.items())]
        if alternatives:
            lines[2:2] = [f"{indent}alternatives:"] + [f"{indent}  - {scalar(x)}" for x in alternatives]
        block = "".join(x + "\n" for x in lines)  # a block answer's lines too, in the file's line endings
        self._insert(self._after(faqs.value[-1]), block.replace("\n", self.newline))

    def result(self) -> str:
        text = self.text
        for offset, _, addition in sorted(self._inserts, reverse=True):
            text = text[:offset] + addition + text[offset:]
        return text

    def _extend(self, sequence: yaml.Node, items: list[str | dict]) -> None:
        if not isinstance(sequence, yaml.SequenceNode):
            raise FAQSearchError(f"line {sequence.start_mark.line + 1}: not a list; cannot add to it")
        if sequence.flow_style:
            end = sequence.end_mark.index - 1  # the closing bracket
            joined = ", ".join(map(scalar, items))
            self._insert(end, (", " if sequence.value else "") + joined)
            return
        first = sequence.value[0]
        dash = self._line(first.start_mark.line)[: first.start_mark.column]
        self._insert(self._after(sequence.value[-1]), "".join(dash + scalar(x) + self.newline for x in items))

    def _new_list(self, offset: int, column: int, key: str, items: list[str | dict]) -> None:
        lines = [" " * column + f"{key}:"] + [" " * column + "  - " + scalar(x) for x in items]
        self._insert(offset, "".join(x + self.newline for x in lines))

    def _after(self, node: yaml.Node) -> int:
        """The offset of the line after the last line `node`'s content is on (its last value's,
        for a block list or mapping, whose own end lies after any blank lines and comments)."""
        while isinstance(node, yaml.CollectionNode) and not node.flow_style and node.value:
            last = node.value[-1]
            node = last[1] if isinstance(last, tuple) else last
        end = node.end_mark
        line = end.line if end.column > 0 else end.line - 1
        while line > node.start_mark.line and not self._line(line).strip():
            line -= 1  # a block scalar's end lies past its trailing blank lines
        return self.starts[line + 1]

    def _line(self, number: int) -> str:
        return self.text[self.starts[number] : self.starts[number + 1]] if number + 1 < len(self.starts) else ""

    def _insert(self, offset: int, text: str) -> None:
        self._inserts.append((offset, len(self._inserts), text))
