"""A server's question log (`faqsearch serve --question-log`), and POST /feedback: what a chatbot
says of an answer, written to the log after the question it is about (questionlog.py).

Feedback names an answer by its request id (the `x-request-id` of the response) and, in a batch,
the question's number. To refuse feedback on an answer this server never gave, and a `chose`
naming an entry the customer was not shown, the server remembers its recent answers: those of
the last MAX_REQUESTS requests, holding at most MAX_IDS entry ids in all (a batch of 64 with
k=100 holds 6,400; bounding requests only would let a few clients hold hundreds of MB). An
answer forgotten, or given before a restart, takes no feedback (404).
Everything here runs on the server's worker thread (service.py), which writes every log line:
no lock is needed, and a feedback line always follows its question's line.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass

from ..questionlog import Log
from ..search import Answer
from .requests import BadRequest, FeedbackRequest

MAX_REQUESTS = 10_000
MAX_IDS = 1_000_000
SHOWN_IN_ERRORS = 10  # entry ids a refused `chose` lists
NO_LOG = "this server keeps no question log, so it takes no feedback; start it with `--question-log FILE`"
logger = logging.getLogger(__name__)


@dataclass
class _Answered:
    index: str
    shown: list[tuple[str, ...]]  # per question: the ids of its candidates and did-you-mean entries
    ids: int = 0


class Recent:
    """The entries shown in the answers to the latest requests, by request id, oldest forgotten first."""

    def __init__(self, max_requests: int = MAX_REQUESTS, max_ids: int = MAX_IDS):
        self.max_requests, self.max_ids = max_requests, max_ids
        self.answered: OrderedDict[str, _Answered] = OrderedDict()
        self.ids = 0

    def add(self, request_id: str, index: str, first: int, answers: list[Answer]) -> None:
        """Remember `answers`, the questions of a request from number `first` on (a request too
        costly for one round is answered over several)."""
        if first == 0:  # a request id a client reuses names its latest request
            self._forget(request_id)
            self.answered[request_id] = _Answered(index, [])
        known = self.answered.get(request_id)
        if known is None or len(known.shown) != first:
            return  # its first questions were forgotten already, or another request took its id
        shown = [tuple(dict.fromkeys(h.id for h in (*a.candidates, *a.did_you_mean))) for a in answers]
        added = sum(map(len, shown))
        known.shown += shown
        known.ids += added
        self.ids += added
        while len(self.answered) > self.max_requests or (self.ids > self.max_ids and len(self.answered) > 1):
            self._forget(next(iter(self.answered)))

    def get(self, request_id: str) -> _Answered | None:
        return self.answered.get(request_id)

    def _forget(self, request_id: str) -> None:
        gone = self.answered.pop(request_id, None)
        if gone is not None:
            self.ids -= gone.ids


class Questions:
    """The question log of a server and the recent answers that feedback may name."""

    def __init__(self, log: Log, recent: Recent | None = None):
        self.log = log
        self.recent = recent or Recent()

    def answered(self, index: str, version: str, parts: list[tuple[str, int, list[Answer]]]) -> None:
        """After the answers were handed over: remember and log the parts of requests (request
        id, number of the first question, answers) that one index answered. A failure costs a
        warning in the server log, never an answer."""
        try:
            for request_id, first, answers in parts:
                self.recent.add(request_id, index, first, answers)
            for request_id, first, answers in parts:
                self.log.questions(request_id, index, version, answers, first)
        except Exception as exc:
            logger.warning("cannot append to the question log %s: %r", self.log.path, exc)

    def feedback(self, request: FeedbackRequest) -> None:
        """Check `request` against the answer it names (BadRequest naming the field), then log it
        (a 503 if the log cannot be written: the feedback is not recorded)."""
        known = self.recent.get(request.request_id)
        if known is None:
            raise BadRequest(
                404,
                f"request_id: this server gave no answer with the id {request.request_id!r} among its last "
                f"{self.recent.max_requests:,} (unknown, too old, or from before a restart); send the x-request-id "
                "header of the answer",
            )
        if request.number >= len(known.shown):
            count = len(known.shown)
            raise BadRequest(
                400,
                f"number: that request asked {count} question{'s' if count > 1 else ''}, numbered from 0; "
                f"{request.number} is not one of them",
            )
        shown = known.shown[request.number]
        if request.entry is not None and request.entry not in shown:
            listed = ", ".join(shown[:SHOWN_IN_ERRORS]) + (", ..." if len(shown) > SHOWN_IN_ERRORS else "")
            raise BadRequest(
                400,
                f"entry: {request.entry!r} was not shown in that answer; the customer can choose among its candidates "
                f"and did-you-mean entries ({listed or 'none'})",
            )
        try:
            self.log.feedback(request.request_id, request.number, known.index, request.feedback, request.entry)
        except Exception as exc:
            logger.warning("cannot append to the question log %s: %r", self.log.path, exc)
            raise BadRequest(503, "the question log cannot be written now (see the server log); retry later") from None
