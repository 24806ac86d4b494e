"""The question log (JSON Lines): every question a server or `faqsearch ask` answered, and what
a chatbot said of the answers (POST /feedback), so that authors can review what customers asked,
what they were answered, and what helped.

It holds every customer's question, not only those without a match, so it is off unless
`--question-log FILE` names it. Each question is redacted before it is written (redact.py), and
the file is rotated, pruned and kept private as the unanswered log is (jsonlog.py). Lines:
- `{"kind": "question", "request_id", "number", "index", "version", "question", ...}`, one per
  question (`number`: its place in its request, from 0), see `question_line`;
- `{"kind": "feedback", "request_id", "number", "index", "feedback", "entry"}`, after the
  question it is about, see `feedback_line`.
A request id may appear in several requests (a client's own `X-Request-ID`, reused): a reader
pairs feedback with the latest question line before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from . import jsonlog
from .errors import InputFileError
from .jsonlog import JSONLog
from .redact import redact

if TYPE_CHECKING:
    from .search import Answer

Feedback = Literal["helped", "not_helped", "chose"]
FEEDBACK: tuple[str, ...] = get_args(Feedback)
KINDS = ("question", "feedback")
LOGGED_CANDIDATES = 3  # the best candidates a question line keeps: what a review looks at
WRITTEN_BY = "`faqsearch serve --question-log FILE` or `faqsearch ask --question-log FILE`"


def question_line(request_id: str, number: int, index: str, version: str, answer: Answer) -> dict:
    """The line of one answered question, its personal data redacted."""
    best = answer.candidates[0] if answer.candidates else None
    return {
        "time": jsonlog.timestamp(),
        "kind": "question",
        "request_id": request_id,
        "number": number,
        "index": index,
        "version": version,
        "question": redact(answer.query),
        "language": answer.language,
        "entry": answer.match.id if answer.match else None,
        "confidence": best.confidence if best else None,
        "no_match": answer.no_match,
        "candidates": [[hit.id, hit.confidence] for hit in answer.candidates[:LOGGED_CANDIDATES]],
        "did_you_mean": [hit.id for hit in answer.did_you_mean],
    }


def feedback_line(request_id: str, number: int, index: str, feedback: Feedback, entry: str | None) -> dict:
    """The line of a chatbot's feedback on question `number` of request `request_id`."""
    return {
        "time": jsonlog.timestamp(),
        "kind": "feedback",
        "request_id": request_id,
        "number": number,
        "index": index,
        "feedback": feedback,
        "entry": entry,
    }


class Log(JSONLog):
    """The question log of a server or of `faqsearch ask` (jsonlog.JSONLog: appends, rotation, retention)."""

    def questions(self, request_id: str, index: str, version: str, answers: list[Answer], first: int = 0) -> None:
        """Log `answers`, the questions of one request from number `first` on."""
        self.write(question_line(request_id, first + n, index, version, a) for n, a in enumerate(answers))

    def feedback(self, request_id: str, number: int, index: str, feedback: Feedback, entry: str | None) -> None:
        self.write([feedback_line(request_id, number, index, feedback, entry)])


def read(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, line) of each line of a question log (not its rotated `.1` file), in order.
    InputFileError, at its line, for one that is not a JSON object, has no known `kind`, or
    lacks what its kind needs (`question`; `request_id` and `feedback`). Raised as the lines are
    read: a generator."""
    fix = f"not a line {WRITTEN_BY} writes; remove the line, or pass a question log"
    for number, item in jsonlog.read(path, f"no question log here yet; {WRITTEN_BY} writes it", "a question log", fix):
        kind = item.get("kind")
        if kind not in KINDS:
            raise InputFileError(str(path), f"must be question or feedback: {fix}", line=number, field="kind")
        needed = ("request_id", "question") if kind == "question" else ("request_id", "feedback")
        for name in needed:
            if not isinstance(item.get(name), str):
                raise InputFileError(
                    str(path), f"missing or not text (every {kind} line holds it): {fix}", line=number, field=name
                )
        if not isinstance(item.get("number", 0), int) or isinstance(item.get("number"), bool):
            raise InputFileError(str(path), f"must be a whole number: {fix}", line=number, field="number")
        if not isinstance(item.get("entry"), str | None):
            raise InputFileError(str(path), f"must be an entry id or null: {fix}", line=number, field="entry")
        yield number, item
