"""The review page of `faqsearch serve` (GET /review): the FAQ owner labels, one click each, the
logged questions most worth a label, then writes the labels into the FAQ and rebuilds its index.

- GET /review/items runs review.choose_from_log on the service's worker thread, the only thread
  that may call the encoder (service.py), so it queues behind the answering rounds like a batch.
- POST /review/apply runs `faqsearch review --apply` in a subprocess: the rebuild embeds with an
  encoder of its own, so it neither blocks the worker nor shares its encoder, and a crash in it
  costs the request, not the server. Labels are checked there (labels.py), the one authority on
  their format; its one-line error comes back as a 400. One apply at a time: two rebuilds of one
  index would race to rename their versions into place.
Ray Serve's Ingress (cluster.Remote) has no worker and no question log: these endpoints answer
409 there.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import tempfile
from pathlib import Path

from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse

from ..errors import FAQSearchError
from ..index import read_manifest
from ..review import SERVED_MAX_QUESTIONS, choose_from_log
from .requests import ApplyRequest, BadRequest
from .service import Service, http_error

REVIEW_HTML = Path(__file__).parent.parent / "data" / "review.html"
PER_LANGUAGE, MAX_PER_LANGUAGE = 30, 1000  # as `faqsearch review --per-language`
APPLY_SECONDS = 600  # a rebuild of a large FAQ on a slow machine fits
CLI = "from faqsearch.cli import app; app()"  # there is no faqsearch/__main__.py
NO_REVIEW = "this server keeps no question log, so there is nothing to review; start it with `--question-log FILE`"
ON_RAY = (
    "Ray Serve keeps no question log and rebuilds no index; review with `faqsearch serve --question-log FILE` "
    "or `faqsearch review`"
)
BUSY = "labels are being applied already (one apply at a time); wait for its result, then apply again"
logger = logging.getLogger(__name__)


def add_review_routes(app: FastAPI, service: object) -> None:
    """GET /review, GET /review/items and POST /review/apply over `service` (app.py's Answering)."""
    applying = asyncio.Lock()

    @app.get("/review", response_class=HTMLResponse, include_in_schema=False)
    async def review_page() -> str:
        return REVIEW_HTML.read_text(encoding="utf-8")

    @app.get("/review/items", summary="The logged questions most worth a label, with the index's entries")
    async def review_items(
        index: str | None = Query(None, description="Which served index; may be left out when only one is served"),
        per_language: int = Query(PER_LANGUAGE, ge=1, le=MAX_PER_LANGUAGE, description="Questions per language"),
    ) -> dict:
        local = _local(service)
        if local.questions is None:
            raise BadRequest(409, NO_REVIEW)
        name = local.tenants.check(index)
        log = Path(local.questions.log.path)
        try:
            return await asyncio.get_running_loop().run_in_executor(
                local.worker, _review, local, log, name, per_language
            )
        except FAQSearchError as exc:
            raise http_error(exc) from None

    @app.post("/review/apply", summary="Write labels into the index's FAQ file and rebuild the index")
    async def review_apply(request: ApplyRequest) -> dict:
        local = _local(service)
        name = local.tenants.check(request.index)
        if applying.locked():
            raise BadRequest(409, BUSY)
        async with applying:
            folder = Path(local.tenants.fixed.get(name) or local.tenants.root / name).absolute()  # the link, kept
            try:
                faq = (await asyncio.to_thread(read_manifest, folder)).source_path
            except FAQSearchError as exc:
                raise http_error(exc) from None
            result = await _apply(request.labels, faq, folder)
            # swap the rebuilt index in now, on the worker as the reload loop would within a second,
            # so that the page's next list no longer holds the questions just labelled
            await asyncio.get_running_loop().run_in_executor(local.worker, local.tenants.reload, local.metrics)
            return {"result": result}


def _local(service: object) -> Service:
    """The in-process Service these endpoints need, or a 409 (Ray Serve)."""
    if not isinstance(service, Service):
        raise BadRequest(409, ON_RAY)
    return service


def _review(service: Service, log: Path, name: str, per_language: int) -> dict:
    """On the worker thread: the review of the index `name` from the question log, and its entries."""
    search = service.tenants.get(name).faq
    review, notes = choose_from_log(log, search, name, per_language, SERVED_MAX_QUESTIONS)
    entries = [{"id": entry.id, "question": entry.question} for entry in search.index.entries]
    return review.to_dict() | {"notes": notes, "entries": entries}


async def _apply(labels: list[dict], faq: str, folder: Path) -> list[str]:
    """Run `faqsearch review --apply` on `labels` (a temporary label file): its stdout lines, or
    BadRequest: 400 with its one-line error, 500 for anything else (its stderr to the server log)."""
    handle, name = tempfile.mkstemp(prefix="faqsearch-labels-", suffix=".jsonl")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.writelines(json.dumps(label) + "\n" for label in labels)  # ASCII: a lone surrogate stays an escape
        command = (sys.executable, "-c", CLI, "review", "--apply", name, faq, "--index", str(folder))
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), APPLY_SECONDS)
        except BaseException:  # timed out, or the server is stopping: leave no rebuild behind
            process.kill()
            await process.wait()
            raise
    except asyncio.TimeoutError:
        raise BadRequest(500, f"applying the labels took over {APPLY_SECONDS // 60} minutes and was stopped") from None
    finally:
        Path(name).unlink(missing_ok=True)
    out_lines = stdout.decode("utf-8", "replace").splitlines()
    err_lines = stderr.decode("utf-8", "replace").splitlines()
    if process.returncode == 0:
        return [line for line in out_lines if line.strip()]
    errors = [line.removeprefix("error: ") for line in err_lines if line.startswith("error: ")]
    if process.returncode == 2 and errors:
        raise BadRequest(400, _in_request_terms(errors[-1], name))
    logger.error("`faqsearch review --apply` ended with exit code %s:\n%s", process.returncode, "\n".join(err_lines))
    raise BadRequest(500, f"applying the labels failed (exit code {process.returncode}); see the server log")


def _in_request_terms(message: str, label_file: str) -> str:
    """The CLI's error as the request's: `TMP:3: ...` (line 3 of the label file) is `labels[2]: ...`."""
    message = re.sub(re.escape(label_file) + r":(\d+): ", lambda m: f"labels[{int(m[1]) - 1}]: ", message)
    return message.replace(label_file, "labels")
