"""The HTTP service a chatbot calls (FastAPI on uvicorn): `faqsearch serve`.

Three things make it safe under load:
- one worker thread owns every encoder call, index reload and log write, so the encoder is
  never called from two threads at once;
- questions are answered in batches, one `ask_many` (one encoder call) per index and set of
  options, because the encoder is several times cheaper per sentence in a batch: all questions
  that queued while the worker was busy, or a lone question plus any arriving within
  BATCH_WINDOW after it;
- a rebuilt index (a new manifest) is opened on that thread and swapped in by one assignment;
  requests already holding the old one finish with it, and an index that fails to open (a build
  still being renamed into place) leaves the old one serving.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from . import unanswered
from .errors import FAQSearchError
from .gate import Gate
from .index import MANIFEST, source_changed
from .metrics import Measured, Metrics
from .search import MAX_K, MAX_QUESTION_CHARS, Answer, FAQSearch, valid_text

MAX_BATCH = 64
MAX_TAGS = 32
BATCH_WINDOW = 0.004  # seconds to wait for more questions once one has arrived
RELOAD_SECONDS = 1.0
TOKEN_ENV = "FAQSEARCH_TOKEN"
PAGE = Path(__file__).parent / "data" / "page.html"
logger = logging.getLogger(__name__)


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    index: str | None = Field(None, description="Which served index; may be left out when only one is served")
    k: int = Field(1, ge=1, le=MAX_K, description="How many distinct entries to return as candidates")
    min_confidence: float | None = Field(None, ge=0, le=1, description="No match below this [default: the index's]")
    sentiment: bool = Field(False, description="Also return the customer's sentiment")
    tags: list[str] = Field([], max_length=MAX_TAGS, description="Only entries carrying one of these tags")


def _question(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise ValueError("is empty; ask something")
    if len(text) > MAX_QUESTION_CHARS:
        raise ValueError(f"is {len(text)} characters; the limit is {MAX_QUESTION_CHARS}")
    if not valid_text(text):
        raise ValueError("is not valid text (a lone UTF-16 surrogate such as \\ud800); send UTF-8 text")
    return text


class AskRequest(Options):
    question: str = Field(description=f"The customer's question, any language, at most {MAX_QUESTION_CHARS} chars")

    @field_validator("question")
    @classmethod
    def _check(cls, question: str) -> str:
        return _question(question)


class BatchRequest(Options):
    questions: list[str] = Field(min_length=1, max_length=MAX_BATCH, description=f"1 to {MAX_BATCH} questions")

    @field_validator("questions")
    @classmethod
    def _check(cls, questions: list[str]) -> list[str]:
        return [_question(q) for q in questions]


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message


@dataclass
class ServedIndex:
    """One index by name, swapped for its rebuilt version when its manifest changes."""

    name: str
    path: Path
    sentiment_head: Path | None
    strict: bool = False  # refuse (keep the old one) instead of serving an index whose FAQ changed
    faq: FAQSearch = field(init=False)
    stamp: tuple = field(init=False)
    warned: tuple = field(init=False, default=())  # the manifest an unexpected error was logged for

    def __post_init__(self) -> None:
        self.stamp = self._stamp()
        self.faq = FAQSearch.open(self.path, self.sentiment_head, self.strict)

    def _stamp(self) -> tuple:
        try:
            stat = (self.path / MANIFEST).stat()
        except OSError:
            return ()
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def reload_if_rebuilt(self, metrics: Metrics) -> bool:
        stamp = self._stamp()
        if not stamp or stamp == self.stamp:
            return False
        try:
            faq = FAQSearch.open(self.path, self.sentiment_head, self.strict)
        except Exception as exc:  # mid-rename, broken or unexpected: keep serving the old one, try again later
            if stamp != self.warned:  # counted and, if unexpected, logged once per manifest
                metrics.reload_failures.labels(self.name).inc()
                if not isinstance(exc, FAQSearchError):
                    logger.warning("cannot open the rebuilt index %s; still serving the old one: %r", self.path, exc)
                self.warned = stamp
            return False
        self.faq, self.stamp = faq, stamp
        metrics.reloads.labels(self.name).inc()
        return True

    def describe(self) -> dict:
        m = self.faq.index.manifest
        return {
            "name": self.name,
            "path": str(self.path),
            "language": m.language,
            "encoder": asdict(m.encoder),
            "entries": m.entries,
            "phrasings": m.phrasings,
            "index_type": asdict(m.index_type),
            "tags": sorted(self.faq.index.tags),
            "built_at": m.built_at,
            "stale": self.stale,
        }

    @property
    def stale(self) -> bool:
        """The FAQ file changed since this index was built (it still serves; rebuild it)."""
        return source_changed(self.faq.index.manifest)


@dataclass
class _Pending:
    index: ServedIndex
    questions: list[str]
    options: tuple  # k, min_confidence, sentiment, tags
    done: asyncio.Future

    def settle(self, result: list[Answer] | Exception) -> None:
        """From the worker thread: hand the answers (or the error) to the waiting request."""
        self.done.get_loop().call_soon_threadsafe(_settle, self.done, result)


class Service:
    """The served indexes, the batching queue and the worker thread."""

    def __init__(
        self,
        indexes: dict[str, Path],
        sentiment_head: Path | None,
        unanswered_log: unanswered.Log | None,
        strict: bool = False,
    ):
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="faqsearch-encoder")
        self.indexes = {name: ServedIndex(name, path, sentiment_head, strict) for name, path in indexes.items()}
        # A batch per index now, on the worker, loads what loads lazily (e5's torch engine, ~2 s)
        # before the first request, and on the thread that will use it: torch called from a second
        # thread starts a second set of OpenMP threads, and the two sets make it ~2x slower.
        for served in self.indexes.values():
            self.worker.submit(served.faq.ask_many, ["warm up", "warm up"]).result()
        self.worker.submit(_leave_a_core_for_http).result()
        self.unanswered_log = unanswered_log
        self.metrics = Metrics()
        self.queue: asyncio.Queue[_Pending] | None = None

    def pick(self, name: str | None) -> ServedIndex:
        if name is None:
            if len(self.indexes) == 1:
                return next(iter(self.indexes.values()))
            raise BadRequest(400, f"several indexes are served ({', '.join(self.indexes)}); name one in `index`")
        if name not in self.indexes:
            raise BadRequest(404, f"no index `{name}` is served; GET /indexes lists them")
        return self.indexes[name]

    async def ask(self, request: Options, questions: list[str]) -> list[Answer]:
        served = self.pick(request.index)
        done = asyncio.get_running_loop().create_future()
        options = (request.k, request.min_confidence, request.sentiment, tuple(request.tags))
        await self.queue.put(_Pending(served, questions, options, done))
        return await done

    async def batch_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            pending = [await self.queue.get()]
            if self.queue.empty():  # others already queued means load: go now, without waiting
                await asyncio.sleep(BATCH_WINDOW)
            while not self.queue.empty():
                pending.append(self.queue.get_nowait())
            await loop.run_in_executor(self.worker, self._answer, pending)

    def _answer(self, pending: list[_Pending]) -> None:
        """On the worker thread: one ask_many per (index, options) group."""
        groups: dict[tuple, list[_Pending]] = defaultdict(list)
        for item in pending:
            groups[(item.index.name, item.options)].append(item)
        for items in groups.values():
            faq, (k, min_confidence, sentiment, tags) = items[0].index.faq, items[0].options
            try:
                answers = faq.ask_many(
                    [q for item in items for q in item.questions], k, min_confidence, sentiment=sentiment, tags=tags
                )
            except Exception as exc:  # a bug must cost these requests a 500, not hang them or the batcher
                failure = BadRequest(400, str(exc)) if isinstance(exc, FAQSearchError) else exc
                for item in items:
                    item.settle(failure)
                continue
            self.metrics.batch.observe(len(answers))
            self.metrics.encoder.observe(faq.last_encode_seconds)
            for answer in answers:
                self.metrics.answers.labels(items[0].index.name, answer.language, str(answer.match is not None)).inc()
            unmatched = [a for a in answers if a.match is None]
            for item in items:
                mine, answers = answers[: len(item.questions)], answers[len(item.questions) :]
                item.settle(mine)
            self._log_unanswered(items[0].index.name, unmatched)

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
            for served in self.indexes.values():
                await loop.run_in_executor(self.worker, served.reload_if_rebuilt, self.metrics)


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


def create_app(
    indexes: dict[str, Path],
    sentiment_head: Path | None = None,
    unanswered_log: Path | None = unanswered.DEFAULT_LOG,
    token: str | None = None,
    strict: bool = False,
    unanswered_days: int = unanswered.DEFAULT_DAYS,
) -> FastAPI:
    """The app serving `indexes` (name -> folder). With `token`, every endpoint but /health
    needs `Authorization: Bearer <token>` (the page at / also takes `?token=`; the OpenAPI
    docs, which hold no data, stay open)."""
    log = None if unanswered_log is None else unanswered.Log(Path(unanswered_log), unanswered_days)
    service = Service(indexes, sentiment_head, log, strict)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        service.queue = asyncio.Queue()
        tasks = [asyncio.create_task(service.batch_forever()), asyncio.create_task(service.reload_forever())]
        yield
        for task in tasks:
            task.cancel()
        service.worker.shutdown(wait=True)

    app = FastAPI(title="faqsearch", summary="Multilingual FAQ answers for chatbots", lifespan=lifespan, docs_url=None)
    app.add_middleware(Gate, token=token, token_env=TOKEN_ENV)
    app.add_middleware(Measured, metrics=service.metrics)  # outermost: refused requests count too
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")
    app.state.service = service

    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: BadRequest) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": _one_line(exc.errors())}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = "the body is not valid JSON (UTF-8); send a JSON object" if exc.status_code == 400 else exc.detail
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": f"internal error ({type(exc).__name__}); see the server log"}, status_code=500)

    @app.get("/metrics", summary="Prometheus metrics: requests, latency, batches, encoder time, answers, reloads")
    async def metrics() -> Response:
        return Response(service.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        """Swagger UI from the installed swagger-ui-bundle package: works without internet."""
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="faqsearch API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )

    @app.post("/ask", summary="Answer one question (the schema of `faqsearch ask --json`)")
    async def ask(request: AskRequest) -> dict:
        [answer] = await service.ask(request, [request.question])
        return answer.to_dict()

    @app.post("/ask/batch", summary="Answer several questions: {'answers': [one object per question]}")
    async def ask_batch(request: BatchRequest) -> dict:
        return {"answers": [a.to_dict() for a in await service.ask(request, request.questions)]}

    @app.get("/health", summary="Liveness: no token needed")
    async def health() -> dict:
        return {
            "status": "ok",
            "indexes": len(service.indexes),
            "stale": [name for name, served in service.indexes.items() if served.stale],
        }

    @app.get("/indexes", summary="What is served: encoder, entry count, build time")
    async def list_indexes() -> list[dict]:
        return [served.describe() for served in service.indexes.values()]

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> str:
        return PAGE.read_text(encoding="utf-8")

    return app


def _one_line(errors: list[dict]) -> str:
    """Pydantic's error list as one line: `field: what is wrong`."""
    parts = []
    for error in errors[:3]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        message = error.get("msg", "invalid").removeprefix("Value error, ")
        if where == "body" and error.get("type") in ("dict_type", "model_attributes_type"):
            message = 'must be a JSON object, such as {"question": "..."}'
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


def token_from_environment() -> str | None:
    return os.environ.get(TOKEN_ENV) or None
