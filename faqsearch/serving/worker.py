"""The one thread that makes every encoder call, index open and log write of a server.

Like `ThreadPoolExecutor(max_workers=1)`, with two differences a server needs:
- its thread is a daemon, so a job stuck in native code (a hung encoder, a read from a dead
  network filesystem) cannot keep the process from exiting: SIGTERM still ends it
  (ThreadPoolExecutor joins its threads at interpreter exit, forever if one never returns);
- it says how long the job it runs has been running (`busy_for`), which /health and the
  watchdog use to tell a stuck worker from a busy one.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future


class Worker(Executor):
    def __init__(self, name: str = "faqsearch-encoder"):
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._started: float | None = None  # time.monotonic() when the current job began
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        future: Future = Future()
        self._jobs.put((future, fn, args, kwargs))
        return future

    def busy_for(self) -> float:
        """Seconds the current job has run (0 when idle)."""
        started = self._started
        return 0.0 if started is None else time.monotonic() - started

    def alive(self) -> bool:
        return self._thread.is_alive()

    def shutdown(self, wait: bool = True, *, timeout: float | None = None) -> None:
        """Stop after the jobs already queued; with `wait`, for at most `timeout` seconds (a stuck
        job is left behind: the thread is a daemon)."""
        self._jobs.put(None)
        if wait:
            self._thread.join(timeout)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, fn, args, kwargs = job
            if not future.set_running_or_notify_cancel():
                continue
            self._started = time.monotonic()
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # the caller gets it; the thread goes on to the next job
                future.set_exception(exc)
            else:
                future.set_result(result)
            finally:
                self._started = None
