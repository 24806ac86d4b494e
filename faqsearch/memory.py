"""This machine's memory: refusing work that would not fit, before it starts (an error the user
can act on instead of an out-of-memory kill), and sizes as people write them ("2GiB"); and the
cores a process may use, which the engines' and the server's thread counts follow."""

from __future__ import annotations

import ctypes
import gc
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from .errors import FAQSearchError

UNITS = {"": 1, "B": 1, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40, "KB": 10**3, "MB": 10**6, "GB": 10**9}
SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*")


def cores() -> int:
    """The cores this process may run on (its affinity where the system has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def return_freed() -> None:
    """Hand the heap's freed pages back to the system (glibc's malloc_trim; elsewhere nothing):
    glibc keeps what a process freed, and a start that makes large temporaries (e5's ONNX engine:
    ~18 MB) would otherwise hold them for the process's life, through a build's peak."""
    with suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL("libc.so.6").malloc_trim(0)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off for the block: reading a FAQ and building its index make
    millions of objects (YAML nodes, entries, dicts of phrasings) and no cycles, and each full
    collection walks every object alive: a 100,000-entry FAQ took 9.6 s to read instead of 2.0."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def available() -> int | None:
    """Bytes of memory available to new work (MemAvailable), or None where it cannot be read."""
    return _meminfo("MemAvailable:")


def total() -> int | None:
    """Bytes of memory this machine has (MemTotal), or None where it cannot be read."""
    return _meminfo("MemTotal:")


def resident(pid: int | str = "self", field: str = "VmRSS") -> int | None:
    """Bytes a process (this one by default) holds in memory now (VmRSS), or at its peak
    (`field="VmHWM"`); None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith(field + ":"))
    except (OSError, StopIteration):
        return None


def _meminfo(field: str) -> int | None:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def size_text(size: float) -> str:
    """Bytes as people read them: "512 B", "1.0 KiB", "7.2 MiB", "2.0 GiB"."""
    if size < 1024:
        return f"{size:,.0f} B"
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if size < 1024 or unit == "GiB":
            break
    return f"{size:,.1f} {unit}"


def parse_size(text: str) -> int:
    """ "2GiB", "512MiB", "1.5GB" or a number of bytes -> bytes; ValueError naming the units. Every
    size given is a memory bound, so none is refused: 0 would mean "no bound" by accident."""
    found = SIZE.fullmatch(text)
    if not found or found.group(2).upper() not in UNITS:
        raise ValueError(f"{text!r} is not a size; write it like 2GiB, 512MiB or 1.5GB")
    size = int(float(found.group(1)) * UNITS[found.group(2).upper()])
    if size < 1:
        raise ValueError(f"{text!r} is no memory at all; write a bound such as 2GiB, or leave it out for the default")
    return size


def require(need: int, what: str, fix: str) -> None:
    """Raise when `need` bytes exceed what is available: "<what> needs about X GiB ..., <fix>"."""
    free = available()
    if free is not None and need > free:
        raise FAQSearchError(
            f"{what} needs about {need / 2**30:.1f} GiB of memory, but {free / 2**30:.1f} GiB is available; {fix}"
        )
