"""A Ray cluster on this machine, its head and worker nodes as separate processes: to try the
Ray Serve deployment before a real cluster, and what its tests and benchmarks run on.

Each node is `ray start --block`, so stopping it (SIGTERM) takes down exactly the Ray processes
it started, never another cluster's on the same machine.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ..errors import FAQSearchError
from . import deploy

START_SECONDS = 120


class LocalCluster:
    """`with LocalCluster(nodes=2) as cluster:` a head plus nodes-1 workers, `cpus` each, their
    processes (the replicas among them) started with this environment plus `env`, and each node's
    HTTP proxy resending as README "Deploying" says every node's should (deploy.PROXY_CALLBACK)."""

    def __init__(self, nodes: int = 2, cpus: int = 1, log_dir: Path | None = None, env: dict[str, str] | None = None):
        self.nodes, self.cpus, self.log_dir = nodes, cpus, log_dir
        self.env = os.environ | {
            "RAY_USAGE_STATS_ENABLED": "0",
            # Ray drains a node on SIGTERM for up to 30 s, for its replicas to move elsewhere; here
            # every node stops at once, and a head still draining at __exit__'s deadline is killed,
            # leaving its agents behind.
            "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0",
            deploy.PROXY_CALLBACK_ENV: deploy.PROXY_CALLBACK,
        }
        self.env |= env or {}
        self.port, self.dashboard_port = free_port(), free_port()
        self.address = f"http://127.0.0.1:{self.dashboard_port}"  # the dashboard: deploy's --address
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> LocalCluster:
        try:
            self._start(["--head", f"--port={self.port}", f"--dashboard-port={self.dashboard_port}"])
            self._wait(lambda: _answers(self.address), "the head's dashboard")
            for _ in range(self.nodes - 1):
                self._start([f"--address=127.0.0.1:{self.port}"])
            self._wait(lambda: len(self.alive_nodes()) == self.nodes, f"{self.nodes} nodes")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

    def alive_nodes(self) -> list[str]:
        """The ids of the nodes Ray counts alive (from `ray list nodes`)."""
        listed = subprocess.run(
            [_ray(), "list", "nodes", f"--address=127.0.0.1:{self.port}", "--filter", "state=ALIVE", "--format=json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        return [] if listed.returncode else [node["node_id"] for node in json.loads(listed.stdout)]

    def _start(self, options: list[str]) -> None:
        log = subprocess.DEVNULL
        if self.log_dir is not None:
            log = open(self.log_dir / f"node{len(self.processes)}.log", "wb")  # noqa: SIM115 (the node's lifetime)
        command = [_ray(), "start", "--block", f"--num-cpus={self.cpus}", "--object-store-memory=100000000", *options]
        self.processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env))

    def _wait(self, ready, what: str) -> None:
        deadline = time.monotonic() + START_SECONDS
        while not ready():
            stopped = [p for p in self.processes if p.poll() is not None]
            if stopped or time.monotonic() > deadline:
                raise FAQSearchError(f"a local Ray cluster did not start ({what} not ready); see `ray start` output")
            time.sleep(0.5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(address: str) -> bool:
    try:
        deploy.applications(address)
        return True
    except FAQSearchError:
        return False


def _ray() -> str:
    return str(Path(sys.executable).parent / "ray")
