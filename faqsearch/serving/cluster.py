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
A replica that dies (or is replaced) under a request costs that request a retry on another
replica (RETRIES), not an error; Ray starts a replacement.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from ray import serve
from ray.exceptions import ActorUnavailableError, RayActorError
from ray.serve.handle import DeploymentHandle

from .. import unanswered
from ..memory import parse_size
from .app import build_app, token_from_environment
from .deploy import Settings
from .metrics import Metrics
from .requests import BadRequest, Options
from .service import Service
from .tenants import Tenants

MAX_ONGOING = 64  # requests a replica takes at once: the Answerer batches them into encoder calls
MODELS_PER_REPLICA = 1000  # tenant names Ray remembers per Answerer replica, for routing only
RETRIES = 3  # asks of another replica after one died under the request
RETRY_PAUSE = (0.05, 0.2)  # seconds, jittered: Ray's router drops a dead replica within this


@serve.deployment(max_ongoing_requests=MAX_ONGOING, ray_actor_options={"num_cpus": 1})
class Answerer:
    """One encoder and the open indexes of one replica."""

    async def __init__(self, settings: Settings):
        bound = None if settings.max_memory is None else parse_size(settings.max_memory)
        tenants = Tenants.folder(Path(settings.indexes_dir), bound, None, False, frozenset())
        log = settings.unanswered_log
        self.service = Service(tenants, None if log is None else unanswered.Log(Path(log), settings.unanswered_days))
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
            return {"status": exc.status, "error": exc.message}


class Remote:
    """app.py's Answering over Answerer replicas: the Ingress checks names itself, and asks."""

    def __init__(self, answerer: DeploymentHandle, tenants: Tenants):
        self.answerer, self.tenants, self.metrics = answerer, tenants, Metrics()

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def health(self) -> dict:
        return {"status": "ok"}  # Ray's proxy routes here only once the application is running

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
                    raise BadRequest(503, "no answering replica is available now; retry shortly") from None
                await asyncio.sleep(random.uniform(*RETRY_PAUSE))
        if "error" in result:
            raise BadRequest(result["status"], result["error"])
        return result["answers"]


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
    settings.check_indexes()
    return Ingress.bind(Answerer.bind(settings), settings)
