"""`faqsearch serve` and `faqsearch unanswered`: the HTTP service and what it could not answer."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from ..errors import FAQSearchError
from ..inputs import inert, inert_json
from ..jsonlog import DEFAULT_DAYS
from .common import (
    QUESTION_LOG,
    UNANSWERED_LOG,
    HeadChoice,
    IndexChoice,
    Strict,
    _fail,
    app,
)


@app.command()
def serve(
    index: Annotated[
        list[str] | None, typer.Option(help="Index name or folder; repeat to serve several [default: all in indexes/]")
    ] = None,
    indexes_dir: Annotated[
        Path | None,
        typer.Option(help="Serve every index under this folder by name (tenants), each opened on its first request"),
    ] = None,
    max_memory: Annotated[
        str | None,
        typer.Option(
            help="With --indexes-dir: the server's memory bound, e.g. 2GiB; open indexes get what the server "
            "leaves [default: half of RAM]"
        ),
    ] = None,
    metrics_index: Annotated[
        list[str] | None,
        typer.Option(help="With --indexes-dir: a tenant whose metrics get their own label (repeatable; others: other)"),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to bind; anything but loopback needs $FAQSEARCH_TOKEN")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    sentiment_head: HeadChoice = None,
    unanswered_log: Annotated[
        Path | None, typer.Option(help=f"Where questions without a match are appended {UNANSWERED_LOG}")
    ] = None,
    unanswered_days: Annotated[
        int, typer.Option(min=1, help="Delete unanswered questions older than this many days")
    ] = DEFAULT_DAYS,
    no_unanswered_log: Annotated[
        bool, typer.Option("--no-unanswered-log", help="Store no unanswered question")
    ] = False,
    question_log: QUESTION_LOG = None,
    question_log_days: Annotated[
        int, typer.Option(min=1, help="Delete logged questions and feedback older than this many days")
    ] = DEFAULT_DAYS,
    strict: Strict = False,
):
    """Serve indexes over HTTP for chatbots (POST /ask, /indexes/NAME/ask, /feedback; GET /health, /indexes,
    /docs, /)."""
    import uvicorn

    from ..memory import parse_size
    from ..serving.app import (
        SHUTDOWN_SECONDS,
        TOKEN_ENV,
        create_app,
        end_this_process,
        loopback,
        token_from_environment,
    )
    from ..serving.tenants import Tenants
    from ..unanswered import DEFAULT_LOG

    try:
        token = token_from_environment()
        if indexes_dir is not None and index:
            raise FAQSearchError("give --index or --indexes-dir, not both")
        if indexes_dir is None and (max_memory or metrics_index):
            raise FAQSearchError("--max-memory and --metrics-index go with --indexes-dir")
        try:
            bound = None if max_memory is None else parse_size(max_memory)
        except ValueError as exc:
            raise FAQSearchError(f"--max-memory: {exc}") from None
        if indexes_dir is not None:
            tenants = Tenants.folder(indexes_dir, bound, sentiment_head, strict, frozenset(metrics_index or ()))
            served = f"the indexes under {indexes_dir}"
        else:
            tenants = Tenants.listed(index, sentiment_head, strict)
            served = ", ".join(tenants.fixed)
        log = None if no_unanswered_log else unanswered_log or DEFAULT_LOG
        application = create_app(
            tenants, log, token, unanswered_days, end_this_process, question_log, question_log_days
        )
    except FAQSearchError as exc:
        _fail(exc)
    if not loopback(host) and token is None:
        typer.secho(
            f"WARNING: serving on {host} without a token: anyone who can reach this machine can query it. "
            f"Set ${TOKEN_ENV} to require `Authorization: Bearer <token>`.",
            err=True,
            fg="red",
            bold=True,
        )
    typer.echo(inert(f"serving {served} on http://{host}:{port}/ (docs: /docs)"), err=True)
    uvicorn.run(application, host=host, port=port, log_level="warning", timeout_graceful_shutdown=SHUTDOWN_SECONDS)


@app.command()
def mcp(
    index: IndexChoice = None,
    min_confidence: Annotated[
        float | None, typer.Option(min=0, max=1, help="No answer below this [default: the index's threshold]")
    ] = None,
):
    """Serve the FAQ to LLM agents over the Model Context Protocol (stdio; pip install 'faqsearch[mcp]')."""
    try:
        from ..integrations import opened
        from ..integrations.mcp import create_server

        opened(index)  # a missing or damaged index: one line now, not a broken session later
    except ImportError:
        _fail(FAQSearchError("the MCP server needs the official SDK: pip install 'faqsearch[mcp]'"))
    except FAQSearchError as exc:
        _fail(exc)
    create_server(index, min_confidence).run("stdio")


@app.command("unanswered")
def unanswered_(
    log: Annotated[Path | None, typer.Argument(help=f"The serve log {UNANSWERED_LOG}")] = None,
    index: Annotated[str | None, typer.Option(help="Only this index's questions")] = None,
    top: Annotated[int, typer.Option(help="Questions shown per nearest entry")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="All groups as one JSON array")] = False,
):
    """Questions that got no match, most frequent first, grouped by their nearest entry."""
    from ..unanswered import DEFAULT_LOG, summarise

    try:
        groups = summarise(log or DEFAULT_LOG, index)
    except FAQSearchError as exc:
        _fail(exc)
    if as_json:
        typer.echo(inert_json([asdict(g) for g in groups], indent=1))
        return
    for group in groups:  # a log's lines: a customer's text, and anything else someone wrote there
        why = ", ".join(f"{reason} {n}" for reason, n in group.reasons.items())
        typer.echo(inert(f"{group.count:5}  nearest: {group.nearest}  ({why})"))
        for question, count in group.questions[:top]:
            typer.echo(f"{count:9}  {inert(question)}")
