"""Rasa retrieval intents: a project folder (or one NLU file in it, or beside its responses).

Format (Rasa docs, "Responses" and "Training data format", retrieval intents): NLU files hold
`nlu: - intent: faq/ask_name` with `examples: |` lines `- text`; the answer is the response
`utter_faq/ask_name` in domain.yml, a domain/ folder or any responses file under data/. Every
retrieval group (faq/, chitchat/, ...) is read; each intent becomes an entry (its name after `/`
the id, before it a tag); entity annotations (`[Berlin](city)`) keep their text. Intents a bot
keeps for what it cannot help with (OUT_OF_SCOPE) become the FAQ's no-match questions instead.
The answer is a response's first variation for every channel: its text as written (line breaks
and Markdown kept), its `image` as a Markdown image line, its `buttons` as related entries (a
`/group/name` payload: that intent's entry; a text payload: the entry with that question); its
other variations and fields are reported. The assistant's language comes from config.yml.

Each file's YAML events are checked before anything is built from them: nesting past MAX_DEPTH,
and aliases (`*name`) that would stand for more than MAX_YAML_VALUES values once expanded (a
"billion laughs": ten lines, a billion strings), are refused at their line. Each field's shape is
checked as it is read (base.text, items, fields).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import InputFileError
from ..inputs import read_text
from ..yamlfile import loader, located
from .base import MAX_DEPTH, Draft, NotThisFormat, Report, clean, fields, items, kind, text

NAME = "rasa"
MAX_YAML_VALUES = 1_000_000  # values a file stands for, aliases expanded: 200,000 intents (5 values each)
ENTITY = re.compile(r"\[([^\[\]]+)\](?:\([^()]*\)|\{[^{}]*\})")  # no bracket inside: one pass per line
EXAMPLE = re.compile(r"^\s*-\s+(.*)$")
DOMAIN = ("domain.yml", "domain.yaml", "domain")  # what marks a Rasa project's folder
MAX_UP = 3  # folders above a file searched for its project: data/nlu/faq/ask.yml is three below it
# Names bots give the intents they cannot help with (Rasa docs' `out_of_scope`, rasa-demo's
# `out_of_scope/other`; the FallbackClassifier's `nlu_fallback`; RasaHQ/carbon-bot's
# `faq/oos_inquire`): an intent whose group or name is one of them, or starts with one and `_` or
# `-`, holds questions the FAQ does not answer. `chitchat/` is answered like `faq/`.
OUT_OF_SCOPE = ("out_of_scope", "oos", "nlu_fallback")
SHOWN = {"text", "image", "buttons"}  # what of a response variation the answer carries
UNSEEN = {"id", "metadata", "button_type"}  # a response's id, data for Rasa, a button layout: nothing to read
SOMETIMES = {"channel", "condition"}  # a variation for one channel or some slot values: not the answer


def out_of_scope(intent: str) -> bool:
    """Whether `intent` (`group/name`, or a plain intent) is one for what the bot cannot help with."""
    words = [part.lower().replace("-", "_") + "_" for part in intent.split("/", 1)]
    return any(word.startswith(tuple(f"{name}_" for name in OUT_OF_SCOPE)) for word in words)


def project(source: Path) -> Path:
    """The Rasa project `source` belongs to: a folder holding data/ is one; else the nearest of its
    folder and MAX_UP folders above it holding a domain (data/nlu.yml, or data/ itself, finds its
    domain), else its own folder."""
    start = source if source.is_dir() else source.parent
    if source.is_dir() and (source / "data").is_dir():
        return source
    for folder in [start, *start.parents][: MAX_UP + 1]:
        if any((folder / name).exists() for name in DOMAIN):
            return folder
    return start


def files(source: Path) -> list[Path]:
    """A Rasa project's YAML files: config and domain at its top (every YAML file there if it has
    no data/ folder; endpoints, credentials, docker-compose files are not Rasa data), all under
    data/ and domain/, and `source` itself."""
    if source.is_file() and source.suffix not in (".yml", ".yaml"):
        raise NotThisFormat("not a YAML file or a folder")
    top = project(source)
    flat = not (top / "data").is_dir()
    found = {path for path in top.glob("*.y*ml") if flat or path.stem in ("config", "domain")}
    found |= {*(top / "data").rglob("*.y*ml"), *(top / "domain").rglob("*.y*ml")}
    return sorted(found | ({source} if source.is_file() else set()))


def _load(path: Path) -> tuple[object, yaml.Node | None]:
    """The file's data and its root node (for line numbers), after _bounded checked its events."""
    _, text_ = read_text(path, "a Rasa YAML file")
    with located(str(path)):
        _bounded(str(path), text_)
        reader = loader()(text_)
        try:
            root = reader.get_single_node()
            return (reader.construct_document(root) if root is not None else None), root
        finally:
            reader.dispose()


def _bounded(where: str, text_: str) -> None:
    """Refuse nesting past MAX_DEPTH, and aliases standing for over MAX_YAML_VALUES values, from
    the parser's events: nothing is built, so the check costs what the file's length does."""
    size: dict[str, int] = {}  # anchor -> the values an alias to it stands for
    starts: list[tuple[str | None, int]] = []  # open lists and mappings: (anchor, values before them)
    values = 0
    for event in yaml.parse(text_, Loader=loader()):
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


@dataclass
class Project:
    """What a project's files hold, gathered before any draft is made (a button may name an
    intent of a later file)."""

    examples: dict[str, list[str]] = field(default_factory=dict)  # intent -> its examples, all files'
    lines: dict[str, str] = field(default_factory=dict)  # intent -> `file:line N` of its first block
    responses: dict[str, tuple[str, object]] = field(default_factory=dict)  # intent -> (`file:line N`, variations)
    responders: int = 0  # files with `responses:`
    language: str | None = None


def read(source: Path, report: Report) -> tuple[list[Draft], str | None]:
    """The drafts, and the language config.yml declares."""
    found = Project()
    for path in files(source):
        data, root = _load(path)
        if isinstance(data, dict):
            _gather(path, data, root, found, report)
    answerable = [intent for intent in found.examples if not out_of_scope(intent)]
    if answerable and not found.responders:
        fix = (
            f"import the Rasa project folder holding domain.yml, or put the responses file beside {source.name}"
            if source.is_file()
            else "add domain.yml, or a responses file under data/, with their `responses:`"
        )
        raise InputFileError(
            str(source), f"no domain or responses file holds the answers (utter_{answerable[0]}...); {fix}"
        )
    drafts = _drafts(found, report)
    for intent in sorted(set(found.responses) - set(found.examples)):
        report.warn(found.responses[intent][0], f"utter_{intent} has no examples of intent {intent}; not imported")
    return drafts, found.language


def _drafts(found: Project, report: Report) -> list[Draft]:
    """An entry's draft per answerable intent, a no-match draft per out-of-scope one; the response
    fields not imported are reported once per name, the out-of-scope intents once."""
    answerable = {intent: questions for intent, questions in found.examples.items() if not out_of_scope(intent)}
    drafts, dropped, unanswered = [], {}, []
    for intent, questions in found.examples.items():
        where = found.lines[intent]
        if intent not in answerable:
            drafts.append(Draft(where, questions, "", no_match=True))
            unanswered.append(intent)
            continue
        answer, related = "", []
        if intent in found.responses:
            answer, related = _answer(intent, *found.responses[intent], answerable, dropped, report)
        else:
            report.warn(where, f"no response utter_{intent} in the domain or a responses file")
        group, name = intent.split("/", 1)
        drafts.append(Draft(where, questions, answer, name, tags=[group], related=related))
    for key, (count, where) in dropped.items():
        report.warn(
            where, f"`{key}` of {count} response variation(s) not imported (an answer carries text, image, buttons)"
        )
    if unanswered:
        count, shown = sum(len(found.examples[i]) for i in unanswered), ", ".join(unanswered[:3])
        report.warn(
            found.lines[unanswered[0]],
            f"{count} example(s) of out-of-scope intent(s) {shown}{', ...' * (len(unanswered) > 3)} imported as"
            " no-match questions (the FAQ's `no_match:`), not entries",
        )
    return drafts


def _gather(path: Path, data: dict, root: yaml.Node | None, found: Project, report: Report) -> None:
    """Add one file's language, retrieval and out-of-scope intents' examples, and responses to `found`."""
    where = str(path)
    if path.name in ("config.yml", "config.yaml") and "language" in data:
        found.language = text(data["language"], where, "language", report) or None
    at = [node.start_mark.line + 1 for node in _value(root, "nlu", yaml.SequenceNode)]
    for i, item in enumerate(items(data.get("nlu"), where, "nlu", report)):
        line = f"{path}:line {at[i] if i < len(at) else '?'}"
        item = fields(item, line, f"nlu[{i}]", report)
        intent = _intent(item)
        if "/" in intent or out_of_scope(intent):
            written = text(item.get("examples"), line, f"nlu[{i}].examples", report).splitlines()
            examples = [ENTITY.sub(r"\1", m.group(1)) for m in map(EXAMPLE.match, written) if m]
            found.examples.setdefault(intent, []).extend(examples)  # Rasa joins an intent's blocks
            found.lines.setdefault(intent, line)
    found.responders += "responses" in data
    pairs = _value(root, "responses", yaml.MappingNode)
    at = {key.value: key.start_mark.line + 1 for key, _ in pairs if isinstance(key, yaml.ScalarNode)}
    for name, variations in fields(data.get("responses"), where, "responses", report).items():
        if not isinstance(name, str):
            report.warn(where, f"`responses` has a key that is {kind(name)}, not a response name; ignored")
        elif name.startswith("utter_") and "/" in name:
            found.responses[name.removeprefix("utter_")] = (f"{path}:line {at.get(name, '?')}", variations)


def _answer(
    intent: str, where: str, variations: object, intents: dict, dropped: dict, report: Report
) -> tuple[str, list[tuple[str, str]]]:
    """The answer and related entries of response utter_`intent` (at `where`): its first variation
    with text or an image for every channel and slot value; fields an answer cannot carry are
    counted per name in `dropped` (name -> [count, where first]), to be reported once each."""
    name = f"utter_{intent}"
    found = [fields(v, where, f"{name}[{i}]", report) for i, v in enumerate(items(variations, where, name, report))]
    for variation in found:
        for key in variation:
            if key not in SHOWN and key not in UNSEEN:
                dropped.setdefault(str(key)[:40], [0, where])[0] += 1
    shown = [v for v in found if v.get("text") or v.get("image")]
    always = [v for v in shown if not v.keys() & SOMETIMES]
    if len(always) > 1:
        report.warn(where, f"{name} has {len(always)} variations; the first is the answer")
    chosen = (always or shown or [{}])[0]
    parts = [text(chosen.get("text"), where, f"{name}.text", report)]
    if image := text(chosen.get("image"), where, f"{name}.image", report).strip():
        parts.append(f"![]({image})")
    buttons = [fields(b, where, f"{name}.buttons[{i}]", report)
               for i, b in enumerate(items(chosen.get("buttons"), where, f"{name}.buttons", report))]  # fmt: skip
    related = [_related(button, where, f"{name}.buttons", intents, report) for button in buttons]
    return "\n\n".join(part for part in parts if part.strip()), [r for r in related if r[0]]


def _related(button: dict, where: str, name: str, intents: dict, report: Report) -> tuple[str, str]:
    """A button as (reference, display text): a `/group/name` payload (entities `{...}` dropped) of
    an imported intent refers to its entry by key (`name`), any other payload is a question."""
    payload = clean(text(button.get("payload"), where, f"{name}.payload", report))
    title = clean(text(button.get("title"), where, f"{name}.title", report))
    intent = payload[1:].split("{", 1)[0]
    if payload.startswith("/") and intent in intents:
        return intent.split("/", 1)[1], title or next(iter(intents[intent]), intent)
    return payload, title or payload


def _intent(item: dict) -> str:
    return item["intent"] if isinstance(item.get("intent"), str) else ""


def _value(root: yaml.Node | None, key: str, node_type: type) -> list:
    """The items (a list's nodes, a mapping's pairs) of the top-level `key`, if it is a `node_type`."""
    if isinstance(root, yaml.MappingNode):
        for key_node, value in root.value:
            if key_node.value == key and isinstance(value, node_type):
                return value.value
    return []
