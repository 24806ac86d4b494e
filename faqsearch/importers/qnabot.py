"""QnABot on AWS exports (JSON, from its Content Designer's Export).

Format (QnABot on AWS implementation guide, "Importing and exporting"): `{"qna": [{"qid",
"q": [questions], "a": answer, "t": topic, "alt": {"markdown", "ssml"}, "type": "qna"}]}`.
The topic becomes a tag. Answers in several languages are written with QnABot's Handlebars
helpers, `{{#ifLang 'es'}}...{{/ifLang}}` and `{{#defaultLang}}...{{/defaultLang}}`: each
becomes the answer in that language. Items of other types (quiz, slot types, text), and other
Handlebars in an answer, are reported.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import InputFileError
from ..inputs import read_text
from .base import Draft, NotThisFormat, Report

NAME = "qnabot"
IF_LANG = re.compile(r"\{\{#ifLang\s+['\"]([a-z]{2,3})['\"]\s*\}\}(.*?)\{\{/ifLang\}\}", re.DOTALL)
DEFAULT_LANG = re.compile(r"\{\{#defaultLang\}\}(.*?)\{\{/defaultLang\}\}", re.DOTALL)


def load(path: Path, text: str) -> list:
    """The export's items, or NotThisFormat."""
    if not text.lstrip().startswith("{"):
        raise NotThisFormat("not a JSON object")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputFileError(str(path), f"invalid JSON: {exc}") from None
    items = data.get("qna") if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) and "qid" in i for i in items):
        raise NotThisFormat("JSON without a `qna` list of items with a `qid`")
    return items


def fits(path: Path) -> None:
    load(path, read_text(path, "a QnABot export")[1])


def read(path: Path, report: Report) -> list[Draft]:
    drafts = []
    for i, item in enumerate(load(path, read_text(path, "a QnABot export")[1])):
        where = f"{path}:qna[{i}] (qid {item.get('qid')})"
        if item.get("type", "qna") != "qna":
            report.warn(where, f"skipped: a {item.get('type')!r} item, not a question and answer")
            continue
        questions = item.get("q") or []
        answer, answers = _languages(str(item.get("a") or ""))
        if "{{" in answer:
            report.warn(where, "the answer uses Handlebars beyond ifLang/defaultLang: kept as text")
        topic = str(item.get("t") or "")
        drafts.append(
            Draft(where, [str(q) for q in questions], answer, str(item["qid"]), answers, [topic] if topic else [])
        )
    return drafts


def _languages(answer: str) -> tuple[str, dict[str, str]]:
    """(the default answer, the answers by language) of an answer with ifLang blocks."""
    answers = {lang: text.strip() for lang, text in IF_LANG.findall(answer)}
    if not answers:
        return answer, {}
    default = DEFAULT_LANG.search(answer)
    rest = DEFAULT_LANG.sub("", IF_LANG.sub("", answer)).strip()
    return (default.group(1).strip() if default else rest), answers
