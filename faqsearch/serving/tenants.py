"""Which indexes a server answers for, by name, and which of them are open.

Two ways to name them:
- a fixed list (`faqsearch serve --index A --index B`): all opened at start and kept open;
- a folder of tenants (`--indexes-dir DIR`): every index folder directly under DIR, by its name,
  opened on its first request (on the worker thread) and kept in a least-recently-used set whose
  memory keeps the server's under `max_memory`: the open indexes may take what the server did
  not hold once its first index was open and warmed up (`set_budget`), and opening one past
  that closes the least recently asked first.
  An index added under DIR answers on its first request; one rebuilt or rolled back (a new
  manifest) is swapped in by the reload loop, requests in flight finishing on the version they
  started with; one removed is closed and gets 404.
An open index is charged the size of its files (its FAISS files are memory-mapped: what their
pages take once all were touched) plus OBJECT_BYTES_PER_ENTRIES_BYTE times its entries file (the
Python objects of its entries and phrasings).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import memory
from ..errors import FAQSearchError, IndexUnusable
from ..index import (
    ENTRIES,
    MANIFEST,
    Manifest,
    broken_link,
    list_indexes,
    locate_index,
    manifest_stamp,
    read_manifest,
    source_changed,
)
from ..search import FAQSearch
from .metrics import Metrics
from .requests import BadRequest

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")  # no path characters, no hidden folders (builds in progress)
OBJECT_BYTES_PER_ENTRIES_BYTE = 4
MEMORY_SHARE = 0.5  # --max-memory's default: this share of the machine's memory
PAGE = 100  # names per GET /indexes page, by default
MAX_PAGE = 1000
OTHER = "other"  # the metrics label of every tenant not named with --metrics-index
logger = logging.getLogger(__name__)
_unreadable: set[str] = set()  # entries under a tenants folder already warned about


@dataclass
class ServedIndex:
    """One index by name, swapped for its rebuilt version when its manifest changes."""

    name: str
    path: Path
    sentiment_head: Path | None
    strict: bool = False  # refuse (keep the old one) instead of serving an index whose FAQ changed
    faq: FAQSearch = field(init=False)
    stamp: tuple = field(init=False)
    cost: int = field(init=False)  # bytes charged against max_memory
    warned: tuple = field(init=False, default=())  # the manifest an unexpected error was logged for

    def __post_init__(self) -> None:
        self.stamp = manifest_stamp(self.path)
        self.faq = FAQSearch.open(self.path, self.sentiment_head, self.strict)
        self.cost = index_cost(self.faq.index.path)

    def reload_if_rebuilt(self, metrics: Metrics, label: str) -> bool:
        stamp = manifest_stamp(self.path)
        if not stamp or stamp == self.stamp:
            return False
        try:
            faq = FAQSearch.open(self.path, self.sentiment_head, self.strict)
        except Exception as exc:  # mid-rename, broken or unexpected: keep serving the old one, try again later
            if stamp != self.warned:  # counted and, if unexpected, logged once per manifest
                metrics.reload_failures.labels(label).inc()
                if not isinstance(exc, FAQSearchError):
                    logger.warning("cannot open the rebuilt index %s; still serving the old one: %r", self.path, exc)
                self.warned = stamp
            return False
        self.faq, self.stamp = faq, stamp
        self.cost = index_cost(faq.index.path)
        metrics.reloads.labels(label).inc()
        return True

    def describe(self) -> dict:
        m = self.faq.index.manifest
        return summary(self.name, self.path, m, opened=True) | {
            "index_type": asdict(m.index_type),
            "tags": sorted(self.faq.index.tags),
            "stale": self.stale,
        }

    @property
    def stale(self) -> bool:
        """The FAQ file changed since this index was built (it still serves; rebuild it)."""
        return source_changed(self.faq.index.manifest)


class Tenants:
    """The served indexes by name (see the module's docstring). `get` and `reload` run on the
    server's worker thread; `check`, `page` and `health` on its event loop, and read only."""

    def __init__(
        self,
        fixed: dict[str, Path] | None = None,
        root: Path | None = None,
        max_memory: int | None = None,
        sentiment_head: Path | None = None,
        strict: bool = False,
        labelled: frozenset[str] = frozenset(),
    ):
        self.fixed, self.root, self.max_memory = fixed or {}, root, max_memory
        self.sentiment_head, self.strict, self.labelled = sentiment_head, strict, labelled
        self.open: OrderedDict[str, ServedIndex] = OrderedDict()  # least recently asked first
        self.used = 0
        self.budget = max_memory  # of the open indexes (set_budget: max_memory less the server's own)
        self.lock = threading.Lock()  # the worker changes `open` while the event loop reads it

    @classmethod
    def listed(cls, names: list[str] | None, sentiment_head: Path | None, strict: bool) -> Tenants:
        """The indexes named (names or folders; all under indexes/ when None), or a one-line error."""
        paths = [locate_index(name) for name in names] if names else list_indexes()
        if not paths:
            raise FAQSearchError("no index under indexes/; build one with `faqsearch build faqs/en.yaml`")
        found = [p.name for p in paths]
        if len(set(found)) < len(found):
            raise FAQSearchError(f"two served indexes share a folder name ({', '.join(found)}); rename one")
        return cls(dict(zip(found, paths, strict=True)), sentiment_head=sentiment_head, strict=strict)

    @classmethod
    def folder(
        cls, root: Path, max_memory: int | None, sentiment_head: Path | None, strict: bool, labelled: frozenset[str]
    ) -> Tenants:
        """Every index under `root`, or a one-line error: no such folder, no index in it, or a
        `max_memory` that cannot hold its first index."""
        if not root.is_dir():
            raise FAQSearchError(f"--indexes-dir {root} is not a folder; build an index there first")
        tenants = cls(None, root, max_memory or default_max_memory(), sentiment_head, strict, labelled)
        [first] = tenants.first()
        need = index_cost(root / first)
        if tenants.max_memory is not None and need > tenants.max_memory:
            raise FAQSearchError(
                f"--max-memory {memory.size_text(tenants.max_memory)} cannot hold even one index ({first} needs "
                f"{memory.size_text(need)}); raise it"
            )
        return tenants

    def check(self, name: str | None) -> str:
        """The name a request asks for, or BadRequest: 400 for a bad name (or none, where
        several are served), 404 for one that is not served."""
        if self.root is None:
            if name is None and len(self.fixed) == 1:
                return next(iter(self.fixed))
            if name is None:
                raise BadRequest(400, f"several indexes are served ({', '.join(self.fixed)}); name one in `index`")
            if name not in self.fixed:
                raise BadRequest(404, f"no index `{name[:128]}` is served; GET /indexes lists them")
            return name
        if name is None:
            raise BadRequest(400, "name the index: `index` in the body, or POST /indexes/{name}/ask")
        if not NAME.fullmatch(name):
            raise BadRequest(
                400,
                f"{name[:128]!r} is not an index name: letters, digits, '.', '_' and '-', starting with a letter "
                "or digit, at most 128 characters",
            )
        if not (self.root / name / MANIFEST).is_file():
            broken = broken_link(self.root / name)
            if broken:
                raise BadRequest(503, broken)
            raise BadRequest(404, f"no index `{name}` under {self.root}; GET /indexes lists them")
        return name

    def first(self) -> list[str]:
        """The first index under the folder by name (what a server warms up with), or why none."""
        names = sorted(_folders(self.root))
        for name in names:
            if (self.root / name / MANIFEST).is_file():
                return [name]
        broken = [why for name in names if (why := broken_link(self.root / name))]
        raise FAQSearchError(
            f"{self.root} holds no index (a folder with {MANIFEST}); build one there with "
            f"`faqsearch build FAQ.yaml --index {self.root}/NAME`" + "".join(f"; {why}" for why in broken[:3])
        )

    def get(self, name: str) -> ServedIndex:
        """The open index `name`, opened now if it is not (closing the least recently asked ones
        past max_memory); raises FAQSearchError (IndexUnusable) for one that cannot serve. An
        open index whose mapped files changed under it is closed, not read (index.check_mapped):
        its requests get a 503, its next request opens it again, or says why it cannot."""
        with self.lock:
            served = self.open.get(name)
            if served is not None:
                self.open.move_to_end(name)
        if served is not None:
            try:
                served.faq.index.check_mapped()
            except IndexUnusable:
                self._close(served)
                raise
            return served
        served = ServedIndex(name, self.fixed.get(name) or self.root / name, self.sentiment_head, self.strict)
        if self.budget is not None and served.cost > self.budget:
            raise TooLarge(name, served.cost, self.budget)
        with self.lock:
            self.open[name] = served
            self.used += served.cost
            self._fit()
        return served

    def set_budget(self) -> None:
        """With a memory bound and the first index open and warmed up: what the open indexes may
        take is the bound less what the process holds besides them (the encoder, the runtime)."""
        if self.max_memory is None or self.root is None:
            return
        base = (memory.resident() or 0) - self.used
        self.budget = self.max_memory - base
        if self.budget < self.used:
            raise FAQSearchError(
                f"--max-memory {memory.size_text(self.max_memory)} cannot hold the server "
                f"({memory.size_text(base)} with its encoder) and one index ({memory.size_text(self.used)}); raise it"
            )

    def _close(self, served: ServedIndex) -> None:
        with self.lock:
            if self.open.get(served.name) is served:
                del self.open[served.name]
                self.used -= served.cost

    def _fit(self) -> None:
        while self.budget is not None and self.used > self.budget and len(self.open) > 1:
            _, closed = self.open.popitem(last=False)
            self.used -= closed.cost

    def reload(self, metrics: Metrics) -> None:
        """Swap in rebuilt versions of the open indexes; close the ones removed from the folder."""
        with self.lock:
            served = list(self.open.values())
        for one in served:
            if self.root is not None and not (one.path / MANIFEST).exists():
                self._close(one)
                continue
            before = one.cost
            if one.reload_if_rebuilt(metrics, self.label(one.name)):
                with self.lock:
                    self.used += one.cost - before
                    self._fit()

    def label(self, name: str) -> str:
        """The metrics label of an index: its name where the set of names is bounded (a fixed
        list, or tenants named with --metrics-index), else OTHER."""
        return name if self.root is None or name in self.labelled else OTHER

    def snapshot(self) -> list[ServedIndex]:
        with self.lock:
            return list(self.open.values())

    def page(self, after: str | None, limit: int) -> list[dict]:
        """Up to `limit` served indexes by name, after `after`: open ones described whole, the
        others from their manifest alone (nothing is opened to be listed)."""
        names = sorted(self.fixed) if self.root is None else sorted(_folders(self.root))
        listed = []
        for name in names:
            if len(listed) >= limit:
                break
            if after is not None and name <= after:
                continue
            served = self.open.get(name)
            listed.append(served.describe() if served else self._summary(name))
        return listed

    def _summary(self, name: str) -> dict:
        path = self.fixed.get(name) or self.root / name
        try:
            return summary(name, path, read_manifest(path), opened=False)
        except (FAQSearchError, OSError, ValueError) as exc:
            return {"name": name, "path": str(path), "open": False, "error": str(exc)}


def summary(name: str, path: Path, m: Manifest, opened: bool) -> dict:
    """What GET /indexes says of an index from its manifest alone."""
    return {
        "name": name,
        "path": str(path),
        "open": opened,
        "language": m.language,
        "encoder": asdict(m.encoder),
        "entries": m.entries,
        "phrasings": m.phrasings,
        "built_at": m.built_at,
    }


def index_cost(path: Path) -> int:
    """The memory an open index is charged: its files' sizes, plus its entries' Python objects."""
    sizes = {p.name: p.stat().st_size for p in path.resolve().iterdir() if p.is_file()}
    return sum(sizes.values()) + OBJECT_BYTES_PER_ENTRIES_BYTE * sizes.get(ENTRIES, 0)


def default_max_memory() -> int | None:
    machine = memory.total()
    return None if machine is None else int(MEMORY_SHARE * machine)


class TooLarge(IndexUnusable):
    def __init__(self, name: str, cost: int, bound: int):
        super().__init__(
            f"index `{name}` needs {memory.size_text(cost)}, more than the {memory.size_text(bound)} "
            "--max-memory leaves for indexes; raise --max-memory"
        )


def _folders(root: Path) -> list[str]:
    """The names under `root` that can be index names (not whether each holds an index): folders,
    and links to none (listed and asked with what is wrong: index.broken_link). An entry that
    cannot even be looked at (a loop of links) is left out, with a warning naming it once."""
    names = []
    with os.scandir(root) as entries:
        for entry in entries:
            if not NAME.fullmatch(entry.name):
                continue
            try:
                if entry.is_dir() or (entry.is_symlink() and not os.path.exists(entry.path)):
                    names.append(entry.name)
            except OSError as exc:
                if entry.path not in _unreadable:
                    _unreadable.add(entry.path)
                    logger.warning("skipping %s: %s", entry.path, exc.strerror)
    return names
