"""Rasa retrieval intents: a project folder (or one NLU file beside its domain).

Format (Rasa docs, "Responses" and "Training data format", retrieval intents): NLU files hold
`nlu: - intent: faq/ask_name` with `examples: |` lines `- text`; the answer is the response
`utter_faq/ask_name` (`- text: ...`) in domain.yml, a domain/ folder or any responses file.
Each retrieval intent becomes an entry (its name after `/` the id, before it a tag); entity
annotations (`[Berlin](city)`) keep their text; a response's other variations are reported.
The assistant's language comes from config.yml.

Each file's YAML events are checked before anything is built from them: nesting past MAX_DEPTH,
and aliases (`*name`) that would stand for more than MAX_YAML_VALUES values once expanded (a
"billion laughs": ten lines, a billion strings), are refused at their line. Each field's shape is
checked as it is read (base.text, items, fields).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ..errors import InputFileError
from ..inputs import read_text
from ..yamlfile import LOADER, located
from .base import MAX_DEPTH, Draft, NotThisFormat, Report, fields, items, kind, text

NAME = "rasa"
MAX_YAML_VALUES = 1_000_000  # values a file stands for, aliases expanded: 200,000 intents (5 values each)
ENTITY = re.compile(r"\[([^\[\]]+)\](?:\([^()]*\)|\{[^{}]*\})")  # no bracket inside: one pass per line
EXAMPLE = re.compile(r"^\s*-\s+(.*)$")


def files(source: Path) -> list[Path]:
    """A Rasa project's YAML files (config and domain at its top, data/ and domain/ below), for
    the project folder or a file in it (data/nlu.yml finds its domain one folder up)."""
    if source.is_file() and source.suffix not in (".yml", ".yaml"):
        raise NotThisFormat("not a YAML file or a folder")
    project = source if source.is_dir() else source.parent
    if project.name == "data" and not (project / "domain.yml").exists():
        project = project.parent
    found = {*project.glob("*.y*ml"), *(project / "data").rglob("*.y*ml"), *(project / "domain").rglob("*.y*ml")}
    return sorted(found | ({source} if source.is_file() else set()))


def _load(path: Path) -> tuple[object, yaml.Node | None]:
    """The file's data and its root node (for line numbers), after _bounded checked its events."""
    _, text_ = read_text(path, "a Rasa YAML file")
    with located(str(path)):
        _bounded(str(path), text_)
        loader = LOADER(text_)
        try:
            root = loader.get_single_node()
            return (loader.construct_document(root) if root is not None else None), root
        finally:
            loader.dispose()


def _bounded(where: str, text_: str) -> None:
    """Refuse nesting past MAX_DEPTH, and aliases standing for over MAX_YAML_VALUES values, from
    the parser's events: nothing is built, so the check costs what the file's length does."""
    size: dict[str, int] = {}  # anchor -> the values an alias to it stands for
    starts: list[tuple[str | None, int]] = []  # open lists and mappings: (anchor, values before them)
    values = 0
    for event in yaml.parse(text_, Loader=LOADER):
        if isinstance(event, yaml.AliasEvent):
            values += size.get(event.anchor, 1)
        elif isinstance(event, yaml.ScalarEvent | yaml.CollectionStartEvent):
            values += 1
            if isinstance(event, yaml.CollectionStartEvent):
                starts.append((event.anchor, values - 1))
            elif event.anchor:
                size[event.anchor] = 1
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, before = starts.pop()
            if anchor:
                size[anchor] = values - before
        line = event.start_mark.line + 1
        if len(starts) > MAX_DEPTH:
            raise InputFileError(where, f"YAML nested deeper than {MAX_DEPTH} levels; Rasa files need a few", line)
        if values > MAX_YAML_VALUES:
            raise InputFileError(
                where,
                f"its aliases (*name) stand for over {MAX_YAML_VALUES:,} values; write the values out instead",
                line,
            )


def fits(source: Path) -> None:
    for path in files(source):
        data, _ = _load(path)
        nlu = data.get("nlu") if isinstance(data, dict) else None
        if isinstance(nlu, list) and any(isinstance(i, dict) and "/" in _intent(i) for i in nlu):
            return
    raise NotThisFormat("no NLU file with a retrieval intent (`- intent: faq/...`)")


def _intent(item: dict) -> str:
    return item["intent"] if isinstance(item.get("intent"), str) else ""


def read(source: Path, report: Report) -> tuple[list[Draft], str | None]:
    """The drafts, and the language config.yml declares."""
    examples, lines, responses, language = {}, {}, {}, None
    for path in files(source):
        data, root = _load(path)
        if not isinstance(data, dict):
            continue
        where = str(path)
        if path.name in ("config.yml", "config.yaml") and "language" in data:
            language = text(data["language"], where, "language", report) or None
        at = _lines(root, "nlu")
        for i, item in enumerate(items(data.get("nlu"), where, "nlu", report)):
            line = f"{path}:line {at[i] if i < len(at) else '?'}"
            item = fields(item, line, f"nlu[{i}]", report)
            intent = _intent(item)
            if "/" in intent:
                written = text(item.get("examples"), line, f"nlu[{i}].examples", report).splitlines()
                examples[intent] = [ENTITY.sub(r"\1", m.group(1)) for m in map(EXAMPLE.match, written) if m]
                lines[intent] = line
        for name, variations in fields(data.get("responses"), where, "responses", report).items():
            if not isinstance(name, str):
                report.warn(where, f"`responses` has a key that is {kind(name)}, not a response name; ignored")
            elif name.startswith("utter_") and "/" in name:
                responses[name.removeprefix("utter_")] = (where, variations)
    drafts = []
    for intent, questions in examples.items():
        answer = ""
        if intent in responses:
            where, variations = responses[intent]
            found = [fields(v, where, f"responses.utter_{intent}[{i}]", report)
                     for i, v in enumerate(items(variations, where, f"responses.utter_{intent}", report))]  # fmt: skip
            texts = [t for v in found if (t := text(v.get("text"), where, f"utter_{intent}.text", report))]
            answer = texts[0] if texts else ""
            if len(texts) > 1:
                report.warn(lines[intent], f"utter_{intent} has {len(texts)} variations; the first is the answer")
        else:
            report.warn(lines[intent], f"no response utter_{intent} in the domain or a responses file")
        group, name = intent.split("/", 1)
        drafts.append(Draft(lines[intent], questions, answer, name, tags=[group]))
    for intent in sorted(set(responses) - set(examples)):
        report.warn(responses[intent][0], f"utter_{intent} has no examples of intent {intent}; not imported")
    return drafts, language


def _lines(root: yaml.Node | None, key: str) -> list[int]:
    """The line of each item of the top-level list `key`, found once (none if there is no such list)."""
    if isinstance(root, yaml.MappingNode):
        for key_node, value in root.value:
            if key_node.value == key and isinstance(value, yaml.SequenceNode):
                return [node.start_mark.line + 1 for node in value.value]
    return []
