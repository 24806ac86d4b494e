"""QnABot on AWS exports (JSON, from its Content Designer's Export).

Format (QnABot on AWS implementation guide, "Importing and exporting"; its item schema,
source/lambda/schema/qna.js): `{"qna": [{"qid", "q": [questions], "a": answer, "alt":
{"markdown", "ssml"}, "t": topic, "r": response card, "next", "clientFilterValues", "tags",
"type": "qna", ...}]}`. The answer is `alt.markdown` where an item has one (what QnABot's web UI
shows; `a` is its plain-text version for SMS and voice), else `a`, line breaks kept. Answers in
several languages are written with QnABot's Handlebars helpers, `{{#ifLang 'es'}}...{{/ifLang}}`
and `{{#defaultLang}}...{{/defaultLang}}`: each becomes the answer in that language. The card's
image becomes a Markdown image line after the answer; its buttons, and the guided navigation's
`next`, become related entries (a button sends its value as the customer's utterance: another
item's question, or `QID::<qid>`). The topic, `tags` and the client filter values become tags.
Items of other types (quiz, slot types, text), other Handlebars in an answer, and each field
faqsearch has no equivalent for (Lambda hooks, chaining, session attributes, SSML...) are
reported, a field once with the number of items that have it. Windows-1252 punctuation read as
control characters is repaired per item (source.py). Each field's shape is checked (`"q":
"text"` is one question, not its characters); a block is paired with its end tag in one pass,
and its language must be one faqsearch knows (base.finish).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from ..errors import InputFileError
from .base import Draft, NotThisFormat, Report, clean, fields, items, kind, parse_json, text, texts
from .source import read_source, repair, repaired_message

NAME = "qnabot"
WHAT = "a QnABot export"
BLOCK = re.compile(r"\{\{#(?:ifLang\s+['\"]([^'\"{}]*)['\"]|defaultLang)\s*\}\}")  # group 1: the language
END_IF, END_DEFAULT = "{{/ifLang}}", "{{/defaultLang}}"
QID = "QID::"  # a button value naming the item it asks for by its qid
SEPARATOR = re.compile(r"[\s,]+")  # between tags and client filter values
# Fields read into the entry; of `alt` and `r`, the parts _answer and _card read.
READ = frozenset({"qid", "type", "q", "a", "alt", "t", "r", "next", "tags", "clientFilterValues"})
# What faqsearch has no equivalent for, and what it is in QnABot; any other field is reported too.
DROPPED = {
    "a": "the plain-text answer for clients without Markdown (`alt.markdown` is the answer)",
    "alt.ssml": "the spoken answer (SSML)",
    "r.title": "the response card's title (kept only as its image's text)",
    "r.subTitle": "the response card's subtitle",
    "l": "a Lambda hook, code run to make the answer",
    "args": "the Lambda hook's arguments",
    "conditionalChaining": "a rule choosing the item that follows",
    "elicitResponse": "a bot that captures the customer's reply",
    "sa": "session attributes set with the answer",
    "kendraRedirectQueryText": "a Kendra query that answers instead of `a`",
    "kendraRedirectQueryConfidenceThreshold": "the Kendra query's threshold",
    "kendraRedirectQueryArgs": "the Kendra query's arguments",
    "botRouting": "routing the conversation to another bot",
    "enableQidIntent": "a Lex intent of its own",
    "slots": "slots of the item's Lex intent",
    "rp": "an Alexa reprompt",
}


def load(path: Path, text_: str) -> list:
    """The export's items, or NotThisFormat."""
    if not text_.lstrip().startswith("{"):
        raise NotThisFormat("not a JSON object")
    try:
        data = parse_json(str(path), text_)
    except ValueError as exc:
        raise InputFileError(str(path), f"invalid JSON: {exc}") from None
    found = data.get("qna") if isinstance(data, dict) else None
    if not isinstance(found, list) or not any(isinstance(i, dict) and "qid" in i for i in found):
        raise NotThisFormat("JSON without a `qna` list of items with a `qid`")
    return found


def fits(path: Path) -> None:
    load(path, read_source(path, WHAT))


def read(path: Path, report: Report) -> list[Draft]:
    drafts = []
    unmapped: Counter[str] = Counter()  # field -> items that have it, reported once each
    first: dict[str, str] = {}  # field -> the first item that has it
    for i, item in enumerate(load(path, read_source(path, WHAT))):
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
        item, repaired = repair(item)
        if repaired:
            report.warn(where, repaired_message(repaired))
        dropped = [name for name, value in item.items() if name not in READ and not _empty(value)]
        answer, answers = _answer(item, where, report, dropped)
        card = fields(item.get("r"), where, "r", report)
        image, related = _card(card, where, report, dropped)
        if image:
            answer, answers = f"{answer}\n\n{image}", {lang: f"{a}\n\n{image}" for lang, a in answers.items()}
        if after := text(item.get("next"), where, "next", report).strip():
            related.append((after, ""))  # guided navigation's next item, a qid or a question: shown as its question
        tags = [text(item.get("t"), where, "t", report)]
        for name in ("tags", "clientFilterValues"):
            tags += SEPARATOR.split(text(item.get(name), where, name, report))
        drafts.append(Draft(where, texts(item.get("q"), where, "q", report), answer, qid, answers, tags, related))
        unmapped.update(dropped)
        for name in dropped:
            first.setdefault(name, where)
    for name, count in unmapped.items():
        what = DROPPED.get(name, "a field faqsearch does not know")
        report.warn(first[name], f"`{name[:60]}`, {what}, on {count} item(s), the first here: not imported")
    return drafts


def _answer(item: dict, where: str, report: Report, dropped: list[str]) -> tuple[str, dict[str, str]]:
    """(the answer, the answers by language) of an item: `alt.markdown` where it has one, each
    language's answer from `a` where the Markdown has none in that language; the fields it does
    not map are added to `dropped`."""
    plain = text(item.get("a"), where, "a", report)
    answer, answers = _languages(plain, where, report)
    alt = fields(item.get("alt"), where, "alt", report)
    dropped += [f"alt.{name}" for name, value in alt.items() if name != "markdown" and not _empty(value)]
    markdown = text(alt.get("markdown"), where, "alt.markdown", report)
    if markdown.strip():
        if plain.strip() and plain.strip() != markdown.strip():
            dropped.append("a")
        answer, in_markdown = _languages(markdown, where, report)
        answers |= in_markdown
    if "{{" in answer:
        report.warn(where, "the answer uses Handlebars beyond ifLang/defaultLang: kept as text")
    return answer, answers


def _card(card: dict, where: str, report: Report, dropped: list[str]) -> tuple[str, list[tuple[str, str]]]:
    """A response card's image as a Markdown image line (its title the image's text), and its
    buttons as related entries: (the qid or question a button's value asks for, its text); the
    fields it does not map are added to `dropped`."""
    url = text(card.get("imageUrl"), where, "r.imageUrl", report).strip()
    title = clean(text(card.get("title"), where, "r.title", report))
    image = ""
    if url:
        label = title.replace("[", "\\[").replace("]", "\\]")
        image = f"![{label}]({url.replace(' ', '%20').replace('(', '%28').replace(')', '%29')})"
    elif title:
        dropped.append("r.title")
    related = []
    for j, button in enumerate(items(card.get("buttons"), where, "r.buttons", report)):
        name = f"r.buttons[{j}]"
        button = fields(button, where, name, report)
        value = clean(text(button.get("value"), where, f"{name}.value", report))
        shown = clean(text(button.get("text"), where, f"{name}.text", report))
        if value:
            related.append((value.removeprefix(QID).strip(), shown or value))
        elif shown:
            report.warn(where, f"button {shown[:60]!r} sends no value: not imported")
    handled = {"imageUrl", "title", "buttons"}
    dropped += [f"r.{name}" for name, value in card.items() if name not in handled and not _empty(value)]
    return image, related


def _empty(value: object) -> bool:
    """Whether a field holds nothing (exports write every field, most of them empty: `"l": ""`,
    a card of empty strings); recursion bounded by base.MAX_DEPTH, as parsing was."""
    if isinstance(value, dict):
        return all(_empty(v) for v in value.values())
    if isinstance(value, list):
        return all(_empty(v) for v in value)
    return value in ("", None, False)


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
