"""What every HTTP request passes before the app sees it: the bearer token, then the body.

An ASGI middleware rather than FastAPI dependencies, so that an unauthenticated request is
refused before its body is read (a dependency runs after the body was parsed), and so that a
body gets one error that says what to send:
- it must be UTF-8 (a UTF-16 body is refused, not guessed at) and at most MAX_BODY_BYTES;
- it must be JSON nested at most MAX_DEPTH levels deep (the app's parser recurses);
- whatever content-type was declared (plain `curl -d` sends a form type), a body that parses
  as JSON is accepted as JSON.
"""

from __future__ import annotations

import json
import secrets

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from .guard import error_response

MAX_BODY_BYTES = 1 << 20
MAX_DEPTH = 8  # a request is an object holding a list of strings: 2 levels; deep nesting only costs the parser
OPEN_PATHS = ("/health", "/docs", "/openapi.json")  # hold no data: no token needed (nor /docs-assets/*)
PAGES = ("/", "/review")  # opened in a browser, which sends no header: they also take `?token=`
EXAMPLE = '{"question": "¿cómo cancelo?"}'


class Gate:
    def __init__(self, app: ASGIApp, token: str | None, token_env: str):
        self.app, self.token, self.token_env = app, token, token_env

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._unauthorized(Request(scope))
        if refusal is None and scope["method"] == "POST":
            body, refusal = await _read(receive)
            if refusal is None:
                headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-type"]
                scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
                receive = replay(body, receive)
        if refusal is not None:
            status, message = refusal
            await error_response(status, message)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _unauthorized(self, request: Request) -> tuple[int, str] | None:
        path = request.url.path
        if self.token is None or path in OPEN_PATHS or path.startswith("/docs-assets/"):
            return None
        given = request.headers.get("authorization", "")
        if path in PAGES and "token" in request.query_params:
            given = "Bearer " + request.query_params["token"]
        if secrets.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
            return None
        return 401, f"missing or wrong bearer token; send `Authorization: Bearer <${self.token_env}>`"


async def read_body(receive: Receive) -> bytes | None:
    """The body, read to its end or until it passes MAX_BODY_BYTES (the caller refuses or cuts
    it: nothing past the bound is read); None if the client went away first."""
    body, more = b"", True
    while more and len(body) <= MAX_BODY_BYTES:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


async def _read(receive: Receive) -> tuple[bytes, tuple[int, str] | None]:
    """The whole body, or why it is refused: (status, message)."""
    body = await read_body(receive)
    if body is None:
        return b"", (400, "the client went away before the body arrived")
    if len(body) > MAX_BODY_BYTES:
        return body, (413, f"the body is over {MAX_BODY_BYTES:,} bytes; send one question or a batch of up to 64")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return body, (400, "the body is not UTF-8; send JSON encoded as UTF-8 (the only encoding accepted)")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
        return body, (400, f"the body is not valid JSON ({where}); send a JSON object such as {EXAMPLE}")
    except RecursionError:  # deeper than Python's parser goes
        return body, _too_deep()
    return body, _too_deep() if _deeper_than(value, MAX_DEPTH) else None


def _too_deep() -> tuple[int, str]:
    return 400, f"the body nests more than {MAX_DEPTH} levels deep; send a JSON object such as {EXAMPLE}"


def _deeper_than(value: object, limit: int) -> bool:
    """Whether lists and objects nest more than `limit` levels (without recursion)."""
    level = [value]
    for _ in range(limit):
        level = [v for x in level if isinstance(x, list | dict) for v in (x.values() if isinstance(x, dict) else x)]
        if not level:
            return False
    return any(isinstance(x, list | dict) for x in level)


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then what the client sends next."""
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
