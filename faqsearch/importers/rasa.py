"""Rasa retrieval intents: a project folder (or one NLU file beside its domain).

Format (Rasa docs, "Responses" and "Training data format", retrieval intents): NLU files hold
`nlu: - intent: faq/ask_name` with `examples: |` lines `- text`; the answer is the response
`utter_faq/ask_name` (`- text: ...`) in domain.yml, a domain/ folder or any responses file.
Each retrieval intent becomes an entry (its name after `/` the id, before it a tag); entity
annotations (`[Berlin](city)`) keep their text; a response's other variations are reported.
The assistant's language comes from config.yml.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ..inputs import read_text
from ..yamlfile import located
from .base import Draft, NotThisFormat, Report

NAME = "rasa"
ENTITY = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
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


def _load(path: Path) -> tuple[dict, yaml.Node | None]:
    _, text = read_text(path, "a Rasa YAML file")
    with located(str(path)):
        return yaml.safe_load(text) or {}, yaml.compose(text)


def fits(source: Path) -> None:
    for path in files(source):
        data, _ = _load(path)
        if isinstance(data, dict) and any(
            "/" in str(i.get("intent", "")) for i in data.get("nlu") or [] if isinstance(i, dict)
        ):
            return
    raise NotThisFormat("no NLU file with a retrieval intent (`- intent: faq/...`)")


def read(source: Path, report: Report) -> tuple[list[Draft], str | None]:
    """The drafts, and the language config.yml declares."""
    examples, lines, responses, language = {}, {}, {}, None
    for path in files(source):
        data, root = _load(path)
        if not isinstance(data, dict):
            continue
        if path.name in ("config.yml", "config.yaml") and isinstance(data.get("language"), str):
            language = data["language"]
        for i, item in enumerate(data.get("nlu") or []):
            intent = str(item.get("intent", "")) if isinstance(item, dict) else ""
            if "/" in intent:
                examples[intent] = [
                    ENTITY.sub(r"\1", m.group(1))
                    for m in map(EXAMPLE.match, str(item.get("examples", "")).splitlines())
                    if m
                ]
                lines[intent] = f"{path}:{_line(root, 'nlu', i)}"
        for name, variations in (data.get("responses") or {}).items():
            if name.startswith("utter_") and "/" in name:
                responses[name.removeprefix("utter_")] = (path, variations)
    drafts = []
    for intent, questions in examples.items():
        answer = ""
        if intent in responses:
            path, variations = responses[intent]
            texts = [v.get("text", "") for v in variations or [] if isinstance(v, dict) and v.get("text")]
            answer = texts[0] if texts else ""
            if len(texts) > 1:
                report.warn(lines[intent], f"utter_{intent} has {len(texts)} variations; the first is the answer")
        else:
            report.warn(lines[intent], f"no response utter_{intent} in the domain or a responses file")
        group, name = intent.split("/", 1)
        drafts.append(Draft(lines[intent], questions, answer, name, tags=[group]))
    for intent in sorted(set(responses) - set(examples)):
        report.warn(str(responses[intent][0]), f"utter_{intent} has no examples of intent {intent}; not imported")
    return drafts, language


def _line(root: yaml.Node | None, key: str, index: int) -> str:
    """`line N` of item `index` of the top-level list `key`."""
    for key_node, value in getattr(root, "value", []):
        if key_node.value == key and isinstance(value, yaml.SequenceNode) and index < len(value.value):
            return f"line {value.value[index].start_mark.line + 1}"
    return "line ?"
