"""Every request gets an id, and no exception escapes one.

- Each request's id is the client's `X-Request-ID` when that is a short token, else a new one.
  It is sent back in every response's `x-request-id` header and in the body of every 5xx, and
  written beside the trace in the server log: an operator finds the trace a customer's 500
  came from. `REQUEST_ID` holds it for the code that answers the request (service.py).
- An exception escaping the app (a bug in an endpoint) becomes a JSON 500 carrying that id,
  logged once with its trace; one raised on the worker thread is answered there (service.py).
- A client that goes away before its response is sent is the client's business: where the
  server's send fails (an ASGI server may raise, uvicorn drops it), one line is logged, no trace.
- `JSON` renders strings that are not valid Unicode (a lone surrogate echoed from a URL or a
  JSON escape) as JSON escapes instead of failing the response.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
HEADER = "x-request-id"
CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # a client's id is echoed in headers and logs: a token only
logger = logging.getLogger(__name__)


class JSON(JSONResponse):
    def render(self, content: object) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8", "backslashreplace")  # a lone surrogate becomes its JSON escape \udc80


def error_response(status: int, message: str) -> JSON:
    """The body of every error the service sends: {"error"}, plus the request id on a 5xx."""
    body = {"error": message} | ({"request_id": REQUEST_ID.get()} if status >= 500 else {})
    return JSON(body, status_code=status)


class Guard:
    """The outermost middleware: the request id, and the last resort for what escapes the app."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(HEADER.encode(), b"").decode("latin-1")
        request_id = given if CLIENT_ID.fullmatch(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        started = gone = False

        async def sending(message: Message) -> None:
            nonlocal started, gone
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", ()), (HEADER.encode(), request_id.encode())]}
            try:
                await send(message)
            except Exception:
                gone = True
                raise

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if gone:
                logger.info("request %s: the client went away before its response was sent (%r)", request_id, exc)
                return
            logger.error("request %s: internal error", request_id, exc_info=exc)
            if not started:
                response = error_response(500, f"internal error ({type(exc).__name__}); see the server log")
                await response(scope, receive, sending)
        finally:
            REQUEST_ID.reset(token)
