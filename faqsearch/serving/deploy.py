"""Deploying faqsearch to a Ray cluster: what a Serve config's `args` may say (Settings), and
`faqsearch cluster deploy` (send the config to the cluster's dashboard, wait until it answers).

Nothing here imports Ray: the deploy talks to Ray's documented Serve REST API
(`PUT /api/serve/applications/`), so it gives a one-line error where Ray's CLI would print a
traceback, and `faqsearch serve` never loads Ray. cluster.py holds the deployments themselves.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .. import jsonlog
from ..errors import FAQSearchError, InputFileError
from ..inputs import read_text
from ..memory import parse_size
from ..yamlfile import located

if TYPE_CHECKING:
    from .tenants import Tenants

IMPORT_PATH = "faqsearch.serving.cluster:app"
# In the environment of `ray start` on every node: Ray's HTTP proxy there then resends a request
# whose Ingress replica died under it (cluster.Resend) instead of answering a plain-text 500.
PROXY_CALLBACK_ENV = "RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH"
PROXY_CALLBACK = "faqsearch.serving.cluster:proxy_middlewares"
DEFAULT_ADDRESS = "http://127.0.0.1:8265"  # the dashboard of a head started with `ray start --head`
SERVE_API = "/api/serve/applications/"
DEPLOY_SECONDS = 600  # how long `deploy` waits for replicas (each loads an encoder)
POLL_SECONDS = 1.0
# The settings tenants.py's messages name by `faqsearch serve`'s flags, and their fields in `args`.
SERVE_FLAGS = {"--indexes-dir": "indexes_dir", "--max-memory": "max_memory"}


@dataclass(frozen=True)
class Settings:
    """The `args` of a faqsearch application in a Serve config."""

    indexes_dir: str  # the folder of tenant indexes, at this path on every node
    max_memory: str | None = None  # per Answerer replica, as `serve --max-memory` [default: half of the node's RAM]
    unanswered_log: str | None = None  # a path on each node's own disk [default: none is kept]
    unanswered_days: int = jsonlog.DEFAULT_DAYS

    @classmethod
    def from_args(cls, args: object, where: str = "args") -> Settings:
        """Settings from a config's `args`, or a one-line error naming the field."""
        if not isinstance(args, dict):
            raise FAQSearchError(f"{where}: must be a mapping with at least `indexes_dir`")
        allowed = [f.name for f in fields(cls)]
        for key, value in args.items():
            if key not in allowed:
                raise FAQSearchError(f"{where}.{key}: unknown; allowed: {', '.join(allowed)}")
            wanted = int if key == "unanswered_days" else str
            if not isinstance(value, wanted) or isinstance(value, bool):
                raise FAQSearchError(f"{where}.{key}: must be {'a whole number' if wanted is int else 'a string'}")
        if "indexes_dir" not in args:
            raise FAQSearchError(f"{where}.indexes_dir: missing; the folder of tenant indexes every node reads")
        settings = cls(**args)
        if settings.max_memory is not None:
            try:
                parse_size(settings.max_memory)
            except ValueError as exc:
                raise FAQSearchError(f"{where}.max_memory: {exc}") from None
        if settings.unanswered_days < 1:
            raise FAQSearchError(f"{where}.unanswered_days: must be at least 1")
        return settings

    def tenants(self) -> Tenants:
        """On the cluster: the indexes folder as an Answerer serves it, or a one-line error naming
        the field (`args.indexes_dir: ... is not a folder`)."""
        from .tenants import Tenants  # the server's modules: not loaded where a deploy is only sent

        bound = None if self.max_memory is None else parse_size(self.max_memory)
        with config_terms("indexes_dir"):
            return Tenants.folder(Path(self.indexes_dir), bound, None, False, frozenset())


@contextmanager
def config_terms(about: str | None = None) -> Iterator[None]:
    """The server's errors inside the block, re-raised naming the `args` field they are about."""
    try:
        yield
    except FAQSearchError as exc:
        raise FAQSearchError(in_config_terms(str(exc), about)) from None


def in_config_terms(message: str, about: str | None = None) -> str:
    """A message of the server's modules as a Serve config's reader needs it: tenants.py names
    settings by `faqsearch serve`'s flags (`--max-memory 1 MiB cannot hold...`), which on Ray are
    fields of `args` (`args.max_memory: 1 MiB cannot hold...`); one that names no field is about
    `about`."""
    for flag, field in SERVE_FLAGS.items():
        if message.startswith(flag + " "):
            message = f"args.{field}: {message.removeprefix(flag + ' ')}"
        message = message.replace(flag, f"args.{field}")
    if about is not None and not message.startswith("args."):
        message = f"args.{about}: {message}"
    return message


@dataclass(frozen=True)
class ServeConfig:
    """A Serve config file: its body, and its faqsearch applications' positions by name."""

    path: Path
    body: dict
    positions: dict[str, int]  # application name -> its index in `applications`

    def with_token(self, token: str | None) -> ServeConfig:
        """This config with `token` in the runtime_env of each faqsearch application that sets
        none: as `faqsearch serve` does, the deploy takes $FAQSEARCH_TOKEN from its environment,
        so the file need not hold the secret."""
        from .app import TOKEN_ENV

        if not token:
            return self
        body = copy.deepcopy(self.body)
        for i in self.positions.values():
            env = body["applications"][i].setdefault("runtime_env", {})
            if isinstance(env, dict) and isinstance(env.setdefault("env_vars", {}), dict):
                env["env_vars"].setdefault(TOKEN_ENV, token)
        return replace(self, body=body)

    def unprotected(self) -> str | None:
        """Why anyone who reaches the proxy could query faqsearch, if so: the proxy binds a
        non-loopback host (`http_options.host`) and no application holds a token."""
        from .app import TOKEN_ENV, loopback  # the server's modules: loaded only where a deploy checks this

        http = self.body.get("http_options")
        host = http.get("host") if isinstance(http, dict) else None
        if host is None or loopback(str(host)):
            return None  # Ray's default host is loopback
        bare = [i for i in self.positions.values() if not _token(self.body["applications"][i], TOKEN_ENV)]
        if not bare:
            return None
        fields = ", ".join(f"applications[{i}].runtime_env.env_vars.{TOKEN_ENV}" for i in bare)
        return (
            f"{self.path}: http_options.host is {host} and no token is set (${TOKEN_ENV} here, or {fields}): "
            f"anyone who can reach the proxies can query faqsearch, unless every node's environment sets it"
        )

    def failed(self, name: str, state: dict) -> FAQSearchError:
        """Ray could not run the application `name` (its details: `state`): one line naming the
        config field it is about (`applications[0].args.indexes_dir: ...`), else the application."""
        reason = _reason(state)
        where = f"{self.path}: applications[{self.positions[name]}]"
        if reason.startswith("args."):
            return FAQSearchError(f"{where}.{reason}")
        return FAQSearchError(f"{where}: Ray could not run `{name}`: {reason}")


def read_config(path: Path) -> ServeConfig:
    """A Serve config file, its faqsearch applications' args checked."""
    where = str(path)
    _, text = read_text(path, "a Ray Serve config (deploy/ray-serve.yaml is one)")
    with located(where):
        import yaml  # see yamlfile.loader

        config = yaml.safe_load(text)
    applications = config.get("applications") if isinstance(config, dict) else None
    if not isinstance(applications, list):
        raise InputFileError(where, "no `applications:` list; start from deploy/ray-serve.yaml")
    positions = {}
    for i, application in enumerate(applications):
        if isinstance(application, dict) and application.get("import_path") == IMPORT_PATH:
            Settings.from_args(application.get("args"), f"{where}: applications[{i}].args")
            positions[str(application.get("name", "default"))] = i
    if not positions:
        raise InputFileError(where, f"no application has `import_path: {IMPORT_PATH}`")
    return ServeConfig(path, config, positions)


def deploy(config: ServeConfig, address: str = DEFAULT_ADDRESS, seconds: float = DEPLOY_SECONDS) -> dict:
    """Deploy `config` to the cluster whose dashboard is at `address`, and wait until its
    faqsearch applications run: their details (status, replicas) by name."""
    _request(address, "PUT", config.body)
    deadline = time.monotonic() + seconds
    while True:
        details = applications(address)
        states = {name: details.get(name, {}) for name in config.positions}
        for name, state in states.items():
            if state.get("status") in ("DEPLOY_FAILED", "UNHEALTHY"):
                raise config.failed(name, state)
        if all(state.get("status") == "RUNNING" for state in states.values()):
            return states
        if time.monotonic() > deadline:
            waiting = ", ".join(f"{n} {s.get('status', 'not started')}" for n, s in states.items())
            raise FAQSearchError(f"still not running after {seconds:.0f} s ({waiting}); see `serve status` on the head")
        time.sleep(POLL_SECONDS)


def applications(address: str) -> dict:
    """The cluster's Serve applications by name, as Ray details them (status, deployments, replicas)."""
    return _request(address, "GET").get("applications") or {}


def proxy_nodes(address: str) -> list[str]:
    """The ids of the nodes where Ray runs an HTTP proxy."""
    return list(_request(address, "GET").get("proxies") or {})


def replicas(details: dict, deployment: str) -> list[dict]:
    """The replicas of one deployment of an application's details: state, pid, node."""
    return details.get("deployments", {}).get(deployment, {}).get("replicas", [])


def _request(address: str, method: str, body: dict | None = None) -> dict:
    import urllib.error  # here: the CLI imports this module, and urllib.request 20 ms of every command
    import urllib.request

    url = address.rstrip("/") + SERVE_API
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode() or "{}"
    except urllib.error.HTTPError as exc:
        message = _last_line(exc.read().decode(errors="replace"))
        raise FAQSearchError(f"the Ray dashboard at {address} refused the request: {message}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FAQSearchError(
            f"cannot reach a Ray cluster at {address} ({reason}): start one with `ray start --head` on the head "
            "node, pass its dashboard address (port 8265 by default) as --address, and check that the port is open"
        ) from None
    return json.loads(text)


def _reason(state: dict) -> str:
    """Why Ray could not run an application: the last line of its message, or of a deployment's
    (a replica's constructor failing), without the exception's class name."""
    messages = [state.get("message", "")]
    messages += [d.get("message", "") for d in state.get("deployments", {}).values() if d.get("status") != "HEALTHY"]
    reasons = [_last_line(m) for m in messages if m.strip()]
    return reasons[-1] if reasons else "no reason given; see `serve status` on the head"


def _last_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "no reason given; see `serve status` on the head"
    return last.split(": ", 1)[1] if last.startswith("faqsearch.errors.") else last


def _token(application: dict, variable: str) -> bool:
    """Whether the application's runtime_env sets the token variable."""
    env = application.get("runtime_env")
    variables = env.get("env_vars") if isinstance(env, dict) else None
    return isinstance(variables, dict) and bool(variables.get(variable))
