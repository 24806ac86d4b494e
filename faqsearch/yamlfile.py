"""Read YAML files node by node, so every validation error can name the file, line and field.

`yaml.safe_load` would lose line numbers and silently turn `id: 123` or `answer: yes` into
numbers and booleans; walking the composed nodes keeps both. Used for FAQ files and for
labelled question files; `located` gives any YAML read (a Serve config, a Rasa project) the
same one-line parse errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputFileError
from .inputs import CONTROL, inert, read_text

if TYPE_CHECKING:
    import yaml

STR_TAG = "tag:yaml.org,2002:str"


@cache
def loader() -> type:
    """PyYAML's safe loader, libyaml's where built (~10x faster on large FAQ files, same nodes).
    PyYAML is imported here and in the functions that read YAML, not with the package: a cold
    `faqsearch ask` reads none (its import: ~13-20 ms of one)."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def compose(path: Path, what: str) -> yaml.Node:
    """The root node of the YAML file at `path` (`what` it should be, for the messages)."""
    import yaml

    where = str(path)
    _, text = read_text(path, what)
    with located(where):
        root = yaml.compose(text, Loader=loader())
    if root is None:
        raise InputFileError(where, f"file is empty; it should be {what}")
    return root


@contextmanager
def located(where: str) -> Iterator[None]:
    """YAML's parse errors inside the block as one-line InputFileErrors naming `where` and the line."""
    import yaml

    try:
        yield
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise InputFileError(where, f"invalid YAML: {exc.problem}", line=line) from None
    except yaml.YAMLError as exc:
        raise InputFileError(where, f"invalid YAML: {exc}") from None


class Checker:
    """Validation helpers that know the file name and turn a YAML node into a located error."""

    def __init__(self, where: str):
        import yaml  # see `loader`

        self.where, self.yaml = where, yaml

    def fail(self, node: yaml.Node, name: str, message: str):
        """A located error; the field's name is inert, as it may hold a key read from the file."""
        raise InputFileError(self.where, message, line=node.start_mark.line + 1, field=inert(name))

    def mapping(self, node: yaml.Node, name: str, fields: dict[str, bool]) -> dict[str, yaml.Node]:
        if not isinstance(node, self.yaml.MappingNode):
            self.fail(node, name, "must be a mapping of `key: value` lines")
        found: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, self.yaml.ScalarNode) else "(a list or mapping)"
            prefix = "" if name == "(top level)" else f"{name}."
            if key not in fields:
                allowed = ", ".join(fields)
                self.fail(key_node, f"{prefix}{key}", f"unknown field; allowed: {allowed}")
            if key in found:
                self.fail(key_node, f"{prefix}{key}", "appears twice; keep one")
            found[key] = value_node
        for key, required in fields.items():
            if required and key not in found:
                label = key if name == "(top level)" else f"{name}.{key}"
                self.fail(node, label, "missing; this field is required")
        return found

    def raw(self, node: yaml.Node, name: str) -> str:
        """The text of a string field as written. Checked once decoded: a quoted YAML string
        writes any control character as an escape (`"\\e]0;title\\a"`) that the file's own text
        check cannot see. Bidi controls stay allowed: right-to-left text may need them (an English
        product name in an Arabic answer), and every command prints them inert."""
        if not isinstance(node, self.yaml.ScalarNode) or node.tag != STR_TAG:
            self.fail(node, name, "must be a text string (put it in quotes if it looks like a number or yes/no)")
        control = CONTROL.search(node.value)
        if control:
            code = ord(control.group())
            self.fail(node, name, f"holds the control character U+{code:04X}, written as an escape; remove it")
        return node.value

    def string(self, node: yaml.Node, name: str) -> str:
        """The text of a one-line field (a question, an id, a tag): its whitespace collapsed."""
        value = " ".join(self.raw(node, name).split())
        if not value:
            self.fail(node, name, "is empty; write some text or remove the field")
        return value

    def sequence(self, node: yaml.Node, name: str) -> list[yaml.Node]:
        if not isinstance(node, self.yaml.SequenceNode):
            self.fail(node, name, "must be a list (lines starting with `- `)")
        return node.value

    def strings(self, node: yaml.Node, name: str) -> tuple[str, ...]:
        return tuple(self.string(item, f"{name}[{i}]") for i, item in enumerate(self.sequence(node, name)))
