"""QnABot on AWS exports (JSON, from its Content Designer's Export).

Format (QnABot on AWS implementation guide, "Importing and exporting"): `{"qna": [{"qid",
"q": [questions], "a": answer, "t": topic, "alt": {"markdown", "ssml"}, "type": "qna"}]}`.
The topic becomes a tag. Answers in several languages are written with QnABot's Handlebars
helpers, `{{#ifLang 'es'}}...{{/ifLang}}` and `{{#defaultLang}}...{{/defaultLang}}`: each
becomes the answer in that language. Items of other types (quiz, slot types, text), and other
Handlebars in an answer, are reported. Each field's shape is checked (`"q": "text"` is one
question, not its characters); a block is paired with its end tag in one pass, and its language
must be one faqsearch knows (base.finish).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputFileError
from ..inputs import read_text
from .base import Draft, NotThisFormat, Report, kind, parse_json, text, texts

NAME = "qnabot"
BLOCK = re.compile(r"\{\{#(?:ifLang\s+['\"]([^'\"{}]*)['\"]|defaultLang)\s*\}\}")  # group 1: the language
END_IF, END_DEFAULT = "{{/ifLang}}", "{{/defaultLang}}"


def load(path: Path, text_: str) -> list:
    """The export's items, or NotThisFormat."""
    if not text_.lstrip().startswith("{"):
        raise NotThisFormat("not a JSON object")
    try:
        data = parse_json(str(path), text_)
    except ValueError as exc:
        raise InputFileError(str(path), f"invalid JSON: {exc}") from None
    items = data.get("qna") if isinstance(data, dict) else None
    if not isinstance(items, list) or not any(isinstance(i, dict) and "qid" in i for i in items):
        raise NotThisFormat("JSON without a `qna` list of items with a `qid`")
    return items


def fits(path: Path) -> None:
    load(path, read_text(path, "a QnABot export")[1])


def read(path: Path, report: Report) -> list[Draft]:
    drafts = []
    for i, item in enumerate(load(path, read_text(path, "a QnABot export")[1])):
        where = f"{path}:qna[{i}]"
        if not isinstance(item, dict):
            report.warn(where, f"{kind(item)}, not an item; skipped")
            continue
        qid = text(item.get("qid"), where, "qid", report)
        where += f" (qid {qid[:60]})"
        item_type = text(item.get("type", "qna"), where, "type", report)
        if item_type != "qna":
            report.warn(where, f"skipped: a {item_type[:40]!r} item, not a question and answer")
            continue
        questions = texts(item.get("q"), where, "q", report)
        answer, answers = _languages(text(item.get("a"), where, "a", report), where, report)
        if "{{" in answer:
            report.warn(where, "the answer uses Handlebars beyond ifLang/defaultLang: kept as text")
        topic = text(item.get("t"), where, "t", report)
        drafts.append(Draft(where, questions, answer, qid, answers, [topic] if topic else []))
    return drafts


def _languages(answer: str, where: str, report: Report) -> tuple[str, dict[str, str]]:
    """(the default answer, the answers by language) of an answer with ifLang blocks. One pass:
    each block ends at the first end tag after it; a block with none after it stays as text
    (reported), found without searching the rest of the answer again."""
    answers: dict[str, str] = {}
    default, rest, at, unclosed = None, [], 0, set()
    last = {END_IF: answer.rfind(END_IF), END_DEFAULT: answer.rfind(END_DEFAULT)}
    while block := BLOCK.search(answer, at):
        end = END_DEFAULT if block.group(1) is None else END_IF
        if last[end] < block.end():
            if end not in unclosed:
                report.warn(where, f"{block.group()} without {end} after it: kept as text")
                unclosed.add(end)
            rest.append(answer[at : block.end()])
            at = block.end()
            continue
        close = answer.index(end, block.end())
        body = answer[block.end() : close].strip()
        if block.group(1) is None:
            default = body if default is None else default
        else:
            answers[block.group(1)] = body
        rest.append(answer[at : block.start()])
        at = close + len(end)
    if not answers:
        return answer, {}
    rest.append(answer[at:])
    return (default if default is not None else "".join(rest).strip()), answers
