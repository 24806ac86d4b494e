"""The batching worker behind the HTTP endpoints.

Three things make it safe under load:
- one worker thread owns every encoder call, index open and reload and log write, so the
  encoder is never called from two threads at once;
- questions are answered in rounds: those that queued while the worker was busy, or a lone
  question plus any arriving within BATCH_WINDOW after it, whatever index (tenant) each asks,
  go through one encoder call per encoder, because the encoder is several times cheaper per
  sentence in a batch; each index then ranks its own questions. A round holds up to
  ROUND_QUESTIONS, taking the indexes' requests in turn (`take_round`), so one tenant's flood of
  batches delays another's question by a round, not by the flood;
- a rebuilt index (a new manifest) is opened on that thread and swapped in by one assignment;
  requests already holding the old one finish with it, and an index that fails to open (a build
  still being renamed into place) leaves the old one serving.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import faiss
import numpy as np

from .. import unanswered
from ..errors import FAQSearchError, IndexUnusable
from ..search import Answer, Asked, FAQSearch
from .metrics import Metrics
from .requests import MAX_BATCH, BadRequest, Options
from .tenants import Tenants

BATCH_WINDOW = 0.004  # seconds to wait for more questions once one has arrived
ROUND_QUESTIONS = MAX_BATCH  # questions per worker round: what one round makes the others wait
RELOAD_SECONDS = 1.0
logger = logging.getLogger(__name__)


@dataclass
class _Pending:
    name: str  # of the index asked
    questions: list[str]
    options: tuple  # k, min_confidence, sentiment, tags
    done: asyncio.Future

    def settle(self, result: list[Answer] | Exception) -> None:
        """From the worker thread: hand the answers (or the error) to the waiting request."""
        self.done.get_loop().call_soon_threadsafe(_settle, self.done, result)


@dataclass
class _Group:
    """The pending requests of one index and one set of options, as the worker answers them."""

    items: list[_Pending]
    faq: FAQSearch | None = None
    asked: Asked | None = None


class Service:
    """The served indexes, the batching queue and the worker thread."""

    def __init__(self, tenants: Tenants, unanswered_log: unanswered.Log | None):
        self.tenants = tenants
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="faqsearch-encoder")
        # A batch now, on the worker, loads what loads lazily (e5's torch engine, ~2 s) before the
        # first request, and on the thread that will use it: torch called from a second thread
        # starts a second set of OpenMP threads, and the two sets make it ~2x slower. With a
        # folder of tenants, the first opens (and stays open) for it.
        for name in list(tenants.fixed) or tenants.first():
            served = self.worker.submit(tenants.get, name).result()
            self.worker.submit(served.faq.ask_many, ["warm up", "warm up"]).result()
        self.worker.submit(_leave_a_core_for_http).result()
        tenants.set_budget()
        self.unanswered_log = unanswered_log
        self.metrics = Metrics()
        self.queue: asyncio.Queue[_Pending] | None = None

    async def ask(self, request: Options, questions: list[str], name: str | None = None) -> list[Answer]:
        """Answers from the index `name` (else the request's `index`), in order."""
        chosen = self.tenants.check(name or request.index)
        done = asyncio.get_running_loop().create_future()
        options = (request.k, request.min_confidence, request.sentiment, tuple(request.tags))
        await self.queue.put(_Pending(chosen, questions, options, done))
        return await done

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
            await loop.run_in_executor(self.worker, self._answer, take_round(waiting, ROUND_QUESTIONS))

    def _answer(self, pending: list[_Pending]) -> None:
        """On the worker thread: group by (index, options), one encoder call per encoder for
        every group's questions, then each index answers its own."""
        groups: dict[tuple, _Group] = defaultdict(lambda: _Group([]))
        for item in pending:
            groups[(item.name, item.options)].items.append(item)
        ready: list[_Group] = []
        for (name, (k, min_confidence, _, tags)), group in groups.items():
            try:
                group.faq = self.tenants.get(name).faq
                questions = [q for item in group.items for q in item.questions]
                group.asked = group.faq.prepare(questions, k, min_confidence, tags)
                ready.append(group)
            except Exception as exc:
                self._fail(group, exc)
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
                for group in together:
                    self._fail(group, exc)
                continue
            self.metrics.encoder.observe(time.perf_counter() - started)
            self.metrics.batch.observe(len(questions))
            starts = np.cumsum([0] + [len(g.asked.questions) for g in together])
            for group, start, end in zip(together, starts[:-1], starts[1:], strict=True):
                self._settle_group(group, vectors[start:end])

    def _settle_group(self, group: _Group, vectors: np.ndarray) -> None:
        name, (_, _, sentiment, _) = group.items[0].name, group.items[0].options
        try:
            answers = group.faq.answer(group.asked, vectors, sentiment)
        except Exception as exc:
            self._fail(group, exc)
            return
        label = self.tenants.label(name)
        for answer in answers:
            self.metrics.answers.labels(label, answer.language, str(answer.match is not None)).inc()
        unmatched = [a for a in answers if a.match is None]
        for item in group.items:
            mine, answers = answers[: len(item.questions)], answers[len(item.questions) :]
            item.settle(mine)
        self._log_unanswered(name, unmatched)

    @staticmethod
    def _fail(group: _Group, exc: Exception) -> None:
        """A bug must cost these requests a 500, not hang them or the batcher; an index that
        cannot serve costs its own requests a 503 that says why, and no other index's."""
        if isinstance(exc, IndexUnusable):
            exc = BadRequest(503, str(exc))
        elif isinstance(exc, FAQSearchError):
            exc = BadRequest(400, str(exc))
        for item in group.items:
            item.settle(exc)

    def _log_unanswered(self, index: str, answers: list[Answer]) -> None:
        """Append to the log; a log that cannot be written costs a warning, never an answer."""
        if self.unanswered_log is None or not answers:
            return
        try:
            self.unanswered_log.append(index, answers)
        except OSError as exc:
            logger.warning("cannot append to the unanswered log %s: %s", self.unanswered_log.path, exc)

    async def reload_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(RELOAD_SECONDS)
            await loop.run_in_executor(self.worker, self.tenants.reload, self.metrics)


def take_round(waiting: dict[str, deque[_Pending]], limit: int) -> list[_Pending]:
    """The requests one worker round answers: the oldest of each index in turn, until `limit`
    questions (a request is never split). An index served moves behind the others, so however
    many heavy batches one tenant (or client) queues, another's request waits one round at most."""
    taken, questions = [], 0
    while waiting and questions < limit:
        for name in list(waiting):
            queue = waiting.pop(name)
            taken.append(queue.popleft())
            questions += len(taken[-1].questions)
            if queue:
                waiting[name] = queue
            if questions >= limit:
                break
    return taken


def _leave_a_core_for_http() -> None:
    """On the worker thread: torch and FAISS use one thread fewer than there are cores. The event
    loop parses and answers HTTP while the worker encodes; intra-op threads on every core fight it
    for CPU (2 cores, 32 clients: 210 -> 235 req/s with one encoder thread, at +0.5 ms p50 alone)."""
    threads = max(1, len(os.sched_getaffinity(0)) - 1)
    faiss.omp_set_num_threads(threads)
    if "torch" in sys.modules:  # loaded by the warm-up when an encoder runs on it
        sys.modules["torch"].set_num_threads(threads)


def _settle(future: asyncio.Future, result) -> None:
    if not future.done():
        if isinstance(result, Exception):
            future.set_exception(result)
        else:
            future.set_result(result)
