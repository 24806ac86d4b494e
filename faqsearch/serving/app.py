"""The HTTP endpoints a chatbot calls (FastAPI): `faqsearch serve` on uvicorn, or the Ingress of
cluster.py on Ray Serve. The work behind them is service.py's in this process, or cluster.py's
replicas'; which indexes answer, tenants.py's."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from .. import jsonlog, questionlog, unanswered
from ..errors import FAQSearchError
from .feedback import Questions
from .gate import Gate
from .guard import JSON, Guard, error_response
from .metrics import Measured, Metrics
from .requests import AskRequest, BadRequest, BatchRequest, FeedbackRequest, Options
from .review_page import add_review_routes
from .service import Service
from .tenants import MAX_PAGE, PAGE, Tenants

TOKEN_ENV = "FAQSEARCH_TOKEN"
SHUTDOWN_SECONDS = 5  # on SIGTERM, requests in flight get this long before they are cut off
TOKEN = re.compile(r"[\x21-\x7e]+")  # what an HTTP header carries as sent: visible ASCII
PAGE_HTML = Path(__file__).parent.parent / "data" / "page.html"


def create_app(
    tenants: Tenants,
    unanswered_log: Path | None = unanswered.DEFAULT_LOG,
    token: str | None = None,
    unanswered_days: int = jsonlog.DEFAULT_DAYS,
    on_failure: Callable[[str], None] | None = None,
    question_log: Path | None = None,
    question_days: int = jsonlog.DEFAULT_DAYS,
) -> FastAPI:
    """The app of `faqsearch serve`, answering from `tenants` (tenants.py: a fixed list of
    indexes, or a folder of them) in this process; `on_failure` is told when it cannot answer
    any more (service.py). `question_log`, when given, gets every question and POST /feedback."""
    log = None if unanswered_log is None else unanswered.Log(Path(unanswered_log), unanswered_days)
    questions = None if question_log is None else Questions(questionlog.Log(Path(question_log), question_days))
    return build_app(Service(tenants, log, on_failure, questions), token)


class Answering(Protocol):
    """What answers behind the endpoints: service.py's Service in this process, or, on Ray Serve,
    cluster.py's Remote, which asks replicas elsewhere."""

    tenants: Tenants
    metrics: Metrics

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def health(self) -> dict: ...
    async def answers(self, request: Options, questions: list[str], name: str | None = None) -> list[dict]: ...
    async def feedback(self, request: FeedbackRequest) -> None: ...


def build_app(service: Answering, token: str | None = None) -> FastAPI:
    """The endpoints over `service`. With `token`, every endpoint but /health needs
    `Authorization: Bearer <token>` (the page at / also takes `?token=`; the OpenAPI docs, which
    hold no data, stay open)."""
    tenants = service.tenants

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        service.start()
        yield
        service.stop()

    app = FastAPI(
        title="faqsearch",
        summary="Multilingual FAQ answers for chatbots",
        lifespan=lifespan,
        docs_url=None,
        default_response_class=JSON,
    )
    app.add_middleware(Gate, token=token, token_env=TOKEN_ENV)
    app.add_middleware(Measured, metrics=service.metrics)  # refused requests count too
    app.add_middleware(Guard)  # outermost: a request id for every request, a JSON 500 for what escapes
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")
    app.state.service = service

    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: BadRequest) -> JSON:
        return error_response(exc.status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSON:
        return error_response(422, _one_line(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSON:
        message = "the body is not valid JSON (UTF-8); send a JSON object" if exc.status_code == 400 else exc.detail
        response = error_response(exc.status_code, message)
        response.headers.update(exc.headers or {})
        return response

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
        [answer] = await service.answers(request, [request.question])
        return answer

    @app.post("/ask/batch", summary="Answer several questions: {'answers': [one object per question]}")
    async def ask_batch(request: BatchRequest) -> dict:
        return {"answers": await service.answers(request, request.questions)}

    @app.post("/indexes/{name:path}/ask", summary="Answer one question from the index `name` (a tenant)")
    async def ask_index(name: str, request: AskRequest) -> dict:
        [answer] = await service.answers(request, [request.question], name)
        return answer

    @app.post("/indexes/{name:path}/ask/batch", summary="Answer several questions from the index `name`")
    async def ask_index_batch(name: str, request: BatchRequest) -> dict:
        return {"answers": await service.answers(request, request.questions, name)}

    @app.post("/feedback", summary="What the customer made of an answer (by its x-request-id), to the question log")
    async def feedback(request: FeedbackRequest) -> dict:
        await service.feedback(request)
        return {"status": "recorded"}

    @app.get("/health", summary="Liveness: no token needed; 503 when the server cannot answer any more")
    async def health() -> JSON:
        state = service.health()
        return JSON(state, status_code=200 if state["status"] == "ok" else 503)

    @app.get("/indexes", summary="What is served, a page of names at a time: encoder, entries, build time")
    async def list_indexes(
        after: str | None = Query(None, description="The last name of the previous page"),
        limit: int = Query(PAGE, ge=1, le=MAX_PAGE),
    ) -> list[dict]:
        return await asyncio.to_thread(tenants.page, after, limit)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> str:
        return PAGE_HTML.read_text(encoding="utf-8")

    add_review_routes(app, service)  # GET /review, /review/items; POST /review/apply

    for route in list(app.routes):  # a client or probe that checks with HEAD gets what GET says, without a body
        if isinstance(route, APIRoute) and "GET" in route.methods:
            head = {"methods": ["HEAD"], "response_class": route.response_class, "include_in_schema": False}
            app.add_api_route(route.path, route.endpoint, **head)
    return app


def _one_line(errors: list[dict]) -> str:
    """Pydantic's error list as one line: `field: what is wrong`."""
    parts = []
    for error in errors[:3]:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.get("loc", ()) if p != "body")
        where = where.removeprefix(".") or "body"
        message = error.get("msg", "invalid").removeprefix("Value error, ")
        if where == "body" and error.get("type") in ("dict_type", "model_attributes_type"):
            message = 'must be a JSON object, such as {"question": "..."}'
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


def end_this_process(problem: str) -> None:
    """`faqsearch serve`'s answer to a server that cannot answer any more: end (as SIGTERM does,
    within SHUTDOWN_SECONDS), for its supervisor (systemd, Kubernetes) to start a new one."""
    os.kill(os.getpid(), signal.SIGTERM)


def token_from_environment() -> str | None:
    """$FAQSEARCH_TOKEN, refused (one line) where no client could send it in a header as is."""
    token = os.environ.get(TOKEN_ENV) or None
    if token is not None and not TOKEN.fullmatch(token):
        raise FAQSearchError(
            f"${TOKEN_ENV} holds a character no client can send in an HTTP header as it is (a space, a control "
            "or non-ASCII character); use letters, digits and punctuation, e.g. `openssl rand -hex 32`"
        )
    return token
