"""Starting `faqsearch serve` as a subprocess on a free loopback port, for the benchmarks that
measure it (load.py, soak.py, tenants.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

from faqsearch import memory
from faqsearch.serving.localray import free_port

FAQSEARCH = str(Path(sys.executable).parent / "faqsearch")


def resident_mib(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory (or its peak: VmHWM), in MiB."""
    return memory.resident(pid, field) / 2**20


@contextmanager
def serving(
    args: list[str], cwd: Path, wait: float = 60, stderr: int | IO = subprocess.DEVNULL
) -> Iterator[tuple[subprocess.Popen, str]]:
    """`faqsearch serve ARGS` without a token, once its /health answers: (process, base URL)."""
    port = free_port()
    env = {**os.environ, "FAQSEARCH_TOKEN": ""}
    serve = subprocess.Popen([FAQSEARCH, "serve", "--port", str(port), *args], cwd=cwd, env=env, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if serve.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"`faqsearch serve {' '.join(args)}` did not start") from None
                time.sleep(0.1)
        yield serve, url
    finally:
        serve.terminate()
        serve.wait(timeout=30)
