"""Deploying faqsearch to a Ray cluster: what a Serve config's `args` may say (Settings), and
`faqsearch cluster deploy` (send the config to the cluster's dashboard, wait until it answers).

Nothing here imports Ray: the deploy talks to Ray's documented Serve REST API
(`PUT /api/serve/applications/`), so it gives a one-line error where Ray's CLI would print a
traceback, and `faqsearch serve` never loads Ray. cluster.py holds the deployments themselves.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from .. import unanswered
from ..errors import FAQSearchError, InputFileError
from ..inputs import read_text
from ..memory import parse_size
from ..yamlfile import located

IMPORT_PATH = "faqsearch.serving.cluster:app"
DEFAULT_ADDRESS = "http://127.0.0.1:8265"  # the dashboard of a head started with `ray start --head`
SERVE_API = "/api/serve/applications/"
DEPLOY_SECONDS = 600  # how long `deploy` waits for replicas (each loads an encoder)
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Settings:
    """The `args` of a faqsearch application in a Serve config."""

    indexes_dir: str  # the folder of tenant indexes, at this path on every node
    max_memory: str | None = None  # per Answerer replica, as `serve --max-memory` [default: half of the node's RAM]
    unanswered_log: str | None = None  # a path on each node's own disk [default: none is kept]
    unanswered_days: int = unanswered.DEFAULT_DAYS

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

    def check_indexes(self) -> None:
        """On the cluster: the folder is there and holds an index (one-line error otherwise)."""
        from .tenants import Tenants  # the server's modules: not loaded where a deploy is only sent

        Tenants.folder(Path(self.indexes_dir), None, None, False, frozenset())


def read_config(path: Path) -> tuple[dict, list[str]]:
    """A Serve config file and the names of its faqsearch applications, their args checked."""
    where = str(path)
    _, text = read_text(path, "a Ray Serve config (deploy/ray-serve.yaml is one)")
    with located(where):
        config = yaml.safe_load(text)
    applications = config.get("applications") if isinstance(config, dict) else None
    if not isinstance(applications, list):
        raise InputFileError(where, "no `applications:` list; start from deploy/ray-serve.yaml")
    names = []
    for i, application in enumerate(applications):
        if isinstance(application, dict) and application.get("import_path") == IMPORT_PATH:
            Settings.from_args(application.get("args"), f"{where}: applications[{i}].args")
            names.append(str(application.get("name", "default")))
    if not names:
        raise InputFileError(where, f"no application has `import_path: {IMPORT_PATH}`")
    return config, names


def deploy(path: Path, address: str = DEFAULT_ADDRESS, seconds: float = DEPLOY_SECONDS) -> dict:
    """Deploy the config at `path` to the cluster whose dashboard is at `address`, and wait until
    its faqsearch applications run: their details (status, replicas) by name."""
    config, names = read_config(path)
    _request(address, "PUT", config)
    deadline = time.monotonic() + seconds
    while True:
        details = applications(address)
        states = {name: details.get(name, {}) for name in names}
        for name, state in states.items():
            if state.get("status") in ("DEPLOY_FAILED", "UNHEALTHY"):
                raise FAQSearchError(f"Ray could not run `{name}`: {_last_line(state.get('message', ''))}")
        if all(state.get("status") == "RUNNING" for state in states.values()):
            return states
        if time.monotonic() > deadline:
            waiting = ", ".join(f"{n} {s.get('status', 'not started')}" for n, s in states.items())
            raise FAQSearchError(f"still not running after {seconds:.0f} s ({waiting}); see `serve status` on the head")
        time.sleep(POLL_SECONDS)


def applications(address: str) -> dict:
    """The cluster's Serve applications by name, as Ray details them (status, deployments, replicas)."""
    return _request(address, "GET").get("applications") or {}


def replicas(details: dict, deployment: str) -> list[dict]:
    """The replicas of one deployment of an application's details: state, pid, node."""
    return details.get("deployments", {}).get(deployment, {}).get("replicas", [])


def _request(address: str, method: str, body: dict | None = None) -> dict:
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


def _last_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no reason given; see `serve status` on the head"
