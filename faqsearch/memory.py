"""Refusing work that would not fit in this machine's memory, before it starts (an error the
user can act on instead of an out-of-memory kill)."""

from __future__ import annotations

from .errors import FAQSearchError


def available() -> int | None:
    """Bytes of memory available to new work (MemAvailable), or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def require(need: int, what: str, fix: str) -> None:
    """Raise when `need` bytes exceed what is available: "<what> needs about X GiB ..., <fix>"."""
    free = available()
    if free is not None and need > free:
        raise FAQSearchError(
            f"{what} needs about {need / 2**30:.1f} GiB of memory, but {free / 2**30:.1f} GiB is available; {fix}"
        )
