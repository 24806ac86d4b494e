"""What an operator watches: Prometheus metrics of a `faqsearch serve` process (GET /metrics).

One registry per app (tests and several apps in one process do not mix their counts). Request
counts and latencies are taken by an ASGI middleware around the whole app, so refused requests
(401, 4xx) count too; endpoints outside ENDPOINTS are counted as "other", so a scan of random
paths cannot grow the label set, and a tenant's /indexes/{name}/ask counts under that pattern. The
`index` label is bounded too: with a folder of tenants, only those named with --metrics-index
get their own (tenants.Tenants.label).
"""

from __future__ import annotations

import re
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ENDPOINTS = frozenset(
    {"/", "/ask", "/ask/batch", "/feedback", "/health", "/indexes", "/metrics", "/docs", "/openapi.json"}
)
TENANT_ENDPOINT = re.compile(r"/indexes/[^/]+(/ask(/batch)?)")
LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("faqsearch_requests", "HTTP requests", ["endpoint", "status"], registry=r)
        self.latency = Histogram(
            "faqsearch_request_seconds", "HTTP request latency", ["endpoint"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.batch = Histogram(
            "faqsearch_batch_questions",
            "Questions answered per encoder call",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128),
            registry=r,
        )
        self.encoder = Histogram(
            "faqsearch_encoder_seconds", "Encoder time per batch", buckets=LATENCY_BUCKETS, registry=r
        )
        self.answers = Counter(
            "faqsearch_answers",
            "Questions answered, by index, detected language and whether a match passed the threshold",
            ["index", "language", "matched"],
            registry=r,
        )
        self.reloads = Counter("faqsearch_reloads", "Rebuilt indexes swapped in", ["index"], registry=r)
        self.reload_failures = Counter(
            "faqsearch_reload_failures", "Rebuilt indexes that could not be opened", ["index"], registry=r
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class Measured:
    """ASGI middleware counting every HTTP request by endpoint and status, with its latency."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = _endpoint(scope["path"])
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
            self.metrics.requests.labels(endpoint, str(status[0])).inc()


def _endpoint(path: str) -> str:
    if path in ENDPOINTS:
        return path
    tenant = TENANT_ENDPOINT.fullmatch(path)
    return "/indexes/{name}" + tenant.group(1) if tenant else "other"
