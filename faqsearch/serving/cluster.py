"""faqsearch on Ray Serve: the HTTP API of `faqsearch serve`, its answering spread over replicas
on a Ray cluster (`pip install "faqsearch[cluster]"`; deployed by `faqsearch cluster deploy`).

Two deployments, the application `app` builds from a Serve config's `args` (deploy.Settings):
- Ingress: app.py's endpoints behind Ray's HTTP proxy. It checks each request (400/404/422 come
  from here) and asks an Answerer, naming the index as the multiplexed model id, so that Ray sends
  a tenant's questions to a replica that already has its index open.
- Answerer: per replica, one encoder and one Service (service.py: batching across tenants,
  rounds bounded by cost, the open indexes in an LRU under `max_memory`) over the indexes folder
  every node reads. Ray's per-replica model list (MODELS_PER_REPLICA) only steers routing; what
  stays open is the Service's memory-bounded LRU, and a tenant it closed reopens in ~50 ms.
A replica that dies (or is replaced) under a request costs that request a retry, not an error,
and Ray starts a replacement: an Answerer's by the Ingress (RETRIES); an Ingress's by Resend, the
middleware Ray's HTTP proxy runs on each node where deploy.PROXY_CALLBACK_ENV names
proxy_middlewares.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

from ray import serve
from ray.exceptions import ActorUnavailableError, RayActorError
from ray.serve.handle import DeploymentHandle
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import unanswered
from .app import build_app, token_from_environment
from .deploy import Settings, config_terms, in_config_terms
from .gate import read_body, replay
from .metrics import Metrics
from .requests import BadRequest, FeedbackRequest, Options
from .service import Service
from .tenants import Tenants

MAX_ONGOING = 64  # requests a replica takes at once: the Answerer batches them into encoder calls
MODELS_PER_REPLICA = 1000  # tenant names Ray remembers per Answerer replica, for routing only
RETRIES = 3  # asks of another replica after one died under the request
RETRY_PAUSE = (0.05, 0.2)  # seconds, jittered: Ray's router drops a dead replica within this
UNAVAILABLE = "no answering replica is available now; retry shortly"
NO_FEEDBACK = "Ray Serve keeps no question log, so it takes no feedback; `faqsearch serve --question-log FILE` does"
HEALTH_SECONDS = 2.0  # how often an Ingress asks an Answerer replica what it has open, and waits at most
HEARD_SECONDS = 60.0  # what a replica said counts in /health this long (it may have been replaced since)


@serve.deployment(max_ongoing_requests=MAX_ONGOING, ray_actor_options={"num_cpus": 1})
class Answerer:
    """One encoder and the open indexes of one replica."""

    async def __init__(self, settings: Settings):
        log = settings.unanswered_log
        kept = None if log is None else unanswered.Log(Path(log), settings.unanswered_days)
        with config_terms():  # Service checks that max_memory holds the encoder and an index
            self.service = Service(settings.tenants(), kept)
        self.service.start()

    @serve.multiplexed(max_num_models_per_replica=MODELS_PER_REPLICA)
    async def tenant(self, name: str) -> str:
        await self.service.open(name)
        return name

    async def ask(self, questions: list[str], options: dict) -> dict:
        """{"answers": [...]} from the index named by the request's multiplexed model id, or
        {"status": 4xx/503, "error": "..."}: plain data, for the Ingress to return."""
        name = serve.get_multiplexed_model_id()
        try:
            await self.tenant(name)
            return {"answers": await self.service.answers(Options(**options), questions, name)}
        except BadRequest as exc:
            return {"status": exc.status, "error": in_config_terms(exc.message)}

    async def health(self) -> dict:
        """This replica's part of /health (Service.health: its open and stale indexes), by its id."""
        return self.service.health() | {"replica": serve.get_replica_context().replica_tag}

    def check_health(self) -> None:
        """Ray's health check of the replica (every few seconds): one whose Service cannot answer
        any more (a loop ended, the worker stuck) is replaced, as `faqsearch serve` ends for its
        supervisor to restart it."""
        problem = self.service.problem()
        if problem is not None:
            raise RuntimeError(problem)


class Remote:
    """app.py's Answering over Answerer replicas: the Ingress checks names itself, and asks."""

    def __init__(self, answerer: DeploymentHandle, tenants: Tenants):
        self.answerer, self.tenants, self.metrics = answerer, tenants, Metrics()
        self.heard: dict[str, tuple[float, dict]] = {}  # Answerer replica -> (when, its health)
        self.listening: asyncio.Task | None = None

    def start(self) -> None:
        self.listening = asyncio.create_task(self.listen_forever())

    def stop(self) -> None:
        if self.listening is not None:
            self.listening.cancel()

    def health(self) -> dict:
        """`faqsearch serve`'s /health over the cluster: `indexes` open and `stale` on the Answerer
        replicas heard from in the last HEARD_SECONDS, answered at once from what this Ingress
        heard. It never waits on an Answerer: a load balancer's check that waited on replicas busy
        answering (or being replaced) would fail on every proxy at once under load, and take the
        whole service out of rotation when it is only slow."""
        now = time.monotonic()
        said = [health for when, health in self.heard.values() if now - when < HEARD_SECONDS]
        stale = sorted({name for health in said for name in health["stale"]})
        return {"status": "ok", "indexes": sum(health["indexes"] for health in said), "stale": stale}

    async def listen_forever(self) -> None:
        """Every HEALTH_SECONDS, ask the Answerer replica Ray picks (each in turn, over time) for
        its health; one too busy to say within HEALTH_SECONDS is asked again later."""
        while True:
            try:
                health = await asyncio.wait_for(self.answerer.health.remote(), HEALTH_SECONDS)
                self.heard[health.pop("replica")] = (time.monotonic(), health)
            except Exception:  # busy, dying or being replaced: this loop must outlive it, and asks again
                pass
            now = time.monotonic()
            self.heard = {replica: said for replica, said in self.heard.items() if now - said[0] < HEARD_SECONDS}
            await asyncio.sleep(HEALTH_SECONDS)

    async def answers(self, request: Options, questions: list[str], name: str | None = None) -> list[dict]:
        chosen = self.tenants.check(name or request.index)
        options = request.model_dump(include=set(Options.model_fields))
        handle = self.answerer.options(multiplexed_model_id=chosen)
        for attempt in range(RETRIES + 1):
            try:
                result = await handle.ask.remote(questions, options)
                break
            except (RayActorError, ActorUnavailableError):
                if attempt == RETRIES:
                    raise BadRequest(503, UNAVAILABLE) from None
                await asyncio.sleep(random.uniform(*RETRY_PAUSE))
        if "error" in result:
            raise BadRequest(result["status"], result["error"])
        return result["answers"]

    async def feedback(self, request: FeedbackRequest) -> None:
        """Not on Ray Serve: no replica keeps a question log, nor the answers feedback would name."""
        raise BadRequest(409, NO_FEEDBACK)


@serve.deployment(max_ongoing_requests=4 * MAX_ONGOING, ray_actor_options={"num_cpus": 0})
@serve.ingress()
class Ingress:
    def __init__(self, answerer: DeploymentHandle, settings: Settings):
        tenants = Tenants(root=Path(settings.indexes_dir))  # names and manifests only: it opens nothing
        self.remote = Remote(answerer, tenants)

    def __serve_build_asgi_app__(self):
        return build_app(self.remote, token_from_environment())


def app(args: dict) -> serve.Application:
    """The application a Serve config's `import_path: faqsearch.serving.cluster:app` builds."""
    settings = Settings.from_args(args)
    settings.tenants()  # a missing or empty folder fails the deploy, naming the field
    return Ingress.bind(Answerer.bind(settings), settings)


class Resend:
    """Ray's HTTP proxy, on each node, with this middleware (`proxy_middlewares`): a request whose
    Ingress replica died under it is sent again, to another replica, instead of failing.

    When the replica a request was routed to dies, Ray's proxy sends the client nothing (it answers
    only 408, 429 and 503 itself; ray/serve/_private/proxy.py) and uvicorn then answers a plain-text
    500, which clients must not retry in general. Every faqsearch endpoint here only reads (POST
    /feedback, which would write, is refused on Ray Serve), so a request that got no response at
    all is safe to send again; after RETRIES more tries it gets a JSON 503 that the README's
    client retry policy retries. The body is kept for the resend, and cut past MAX_BODY_BYTES (the
    Ingress refuses such a body with 413 either way; Ray's proxy would read it whole). For proxies
    that serve faqsearch alone: another application's requests may not be safe to send twice, nor
    its bodies to cut."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        if body is None:
            return  # the client is gone before it finished asking: nothing to answer
        for attempt in range(RETRIES + 1):
            if attempt:
                await asyncio.sleep(random.uniform(*RETRY_PAUSE))
            answered = await self._once(scope, replay(body, receive), send)
            if answered:
                return
        await JSONResponse({"error": UNAVAILABLE}, status_code=503)(scope, receive, send)  # before any request id

    async def _once(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Whether the app answered (or the client left, so nothing is to be answered)."""
        answered = False

        async def sending(message: Message) -> None:
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        async def receiving() -> Message:
            nonlocal answered
            message = await receive()
            answered = answered or message["type"] == "http.disconnect"
            return message

        await self.app(scope, receiving, sending)
        return answered


def proxy_middlewares() -> list[Middleware]:
    """What Ray's HTTP proxy calls on each node where deploy.PROXY_CALLBACK_ENV names this function."""
    return [Middleware(Resend)]
