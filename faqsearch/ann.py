"""The FAISS index types an index can hold, chosen by size: exact search while it is fast,
an approximate index above that.

- `flat`: exact inner product over every phrasing (IndexFlatIP).
- `ivf`: the phrasings clustered into `nlist` = 4 sqrt(n) cells by k-means; a question scans the
  `nprobe` nearest cells, 6% of them and at least 128 (IndexIVFFlat: vectors kept whole, so only
  the choice of cells approximates).
- `hnsw`: a navigable small-world graph (IndexHNSWFlat); fast to search, slow to build (about
  100 s per 200k phrasings on 2 cores), so `auto` never picks it.

An index's background sentences (background.py) are always in a small `ivf` of their own, vectors
scalar-quantized to int8 (BACKGROUND_CODE) and cells centred on sampled sentences (no k-means):
built in ~0.1 s, searched in ~0.06 ms a question in a build's batches (a range per dimension:
0.09; benchmarks/background_codes.py), the mean of the 5 nearest cosines within ~0.002 of exact
search on average (16 probes: faster, and 0.8 points of the own evaluation set lost in other
languages: BENCHMARKS.md).

`auto` is flat up to FLAT_UP_TO phrasings and ivf above; the limits and probes were measured
with benchmarks/scale.py (BENCHMARKS.md). Files are opened memory-mapped, so several server
processes share one copy of the vectors in the page cache.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

from .errors import FAQSearchError

KINDS = ("auto", "flat", "hnsw", "ivf")
FLAT_UP_TO = 20_000  # exact search up to here: ~3 ms per question on 2 cores (BENCHMARKS.md)
MIN_APPROXIMATE = 10_000  # below this an approximate index is no faster than exact search
IVF_PROBE_SHARE, IVF_MIN_PROBES = 0.06, 128  # cells scanned: answer recall@1 >= 0.99 against exact (BENCHMARKS.md)
IVF_TRAIN_PER_CELL = 40  # k-means sample per cell (faiss wants >= 39)
IVF_ITERATIONS = 10
REUSE_CELLS_UP_TO = 0.1  # a rebuild keeps the previous cells while at most this share of phrasings changed
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 80, 128
BACKGROUND_CELLS, BACKGROUND_PROBES = 128, 32  # measured on the ~18k shipped sentences (BENCHMARKS.md)
# One int8 range for every dimension: searched in ~0.75x the time of a range per dimension (FAISS
# decodes a code with one scale instead of one per dimension), the mean of the 5 nearest within
# 0.0022 of exact search against 0.0021 (BENCHMARKS.md "Speed (issue #38)")
BACKGROUND_CODE = faiss.ScalarQuantizer.QT_8bit_uniform
BACKGROUND_BLOCK = 1024  # background sentences read at a time: their temporaries, ~6 copies of a block, stay small


@dataclass(frozen=True)
class IndexType:
    """What the manifest records: the kind and its parameters."""

    kind: str
    params: dict[str, int] = field(default_factory=dict)


def choose(kind: str, phrasings: int) -> tuple[IndexType, str | None]:
    """The index type for `kind` (one of KINDS) and `phrasings` rows, and a note when the request
    was changed (an approximate type asked for a FAQ too small to gain from it)."""
    if kind not in KINDS:
        raise FAQSearchError(f"unknown --index-type `{kind}`; choose one of: {', '.join(KINDS)}")
    note = None
    if kind == "auto":
        kind = "flat" if phrasings <= FLAT_UP_TO else "ivf"
    elif kind != "flat" and phrasings < MIN_APPROXIMATE:
        note = (
            f"--index-type {kind} needs at least {MIN_APPROXIMATE:,} phrasings to gain anything; "
            f"this FAQ has {phrasings:,}, so exact search (flat) is used instead"
        )
        kind = "flat"
    if kind == "ivf":
        nlist = max(1, min(int(4 * math.sqrt(phrasings)), phrasings // IVF_TRAIN_PER_CELL))
        nprobe = min(nlist, max(IVF_MIN_PROBES, math.ceil(nlist * IVF_PROBE_SHARE)))
        return IndexType("ivf", {"nlist": nlist, "nprobe": nprobe}), note
    if kind == "hnsw":
        return IndexType(
            "hnsw", {"M": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION, "ef_search": HNSW_EF_SEARCH}
        ), note
    return IndexType("flat"), note


def build(
    vectors: np.ndarray, index_type: IndexType, centroids: np.ndarray | None = None, seed: int = 0
) -> faiss.Index:
    """An index of `index_type` over `vectors` (rows in phrasing order), inner product metric.
    An ivf index takes the previous build's `centroids` where given (see cells), else k-means."""
    dim = vectors.shape[1]
    params = index_type.params
    if index_type.kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif index_type.kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, params["M"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params["ef_construction"]
    else:
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, params["nlist"], faiss.METRIC_INNER_PRODUCT)
        if centroids is not None:
            quantizer.add(centroids)
            index.is_trained = True
        else:
            rng = np.random.default_rng(seed)
            sample = min(len(vectors), params["nlist"] * IVF_TRAIN_PER_CELL)
            index.cp.seed, index.cp.niter = seed, IVF_ITERATIONS
            index.train(vectors[np.sort(rng.choice(len(vectors), sample, replace=False))])
    index.add(vectors)
    return index


class Rows(Protocol):
    """Vectors read by rows (an array, or rows made on demand: a build's aligned background)."""

    @property
    def shape(self) -> tuple[int, int]: ...

    def __getitem__(self, rows: slice | np.ndarray) -> np.ndarray: ...


def background(vectors: Rows, seed: int = 0) -> faiss.Index:
    """The background sentences' index (inner product), see the module's docstring. `vectors`
    are read BACKGROUND_BLOCK rows at a time, twice, so a build never holds them whole: the int8
    ranges that FAISS's training takes from every residual (its lowest and highest value per
    dimension) are gathered block by block, the same codes (tested)."""
    count, dim = vectors.shape
    cells = max(1, min(BACKGROUND_CELLS, count))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFScalarQuantizer(quantizer, dim, cells, BACKGROUND_CODE, faiss.METRIC_INNER_PRODUCT)
    if not count:
        quantizer.add(np.zeros((1, dim), dtype=np.float32))
        index.train(np.zeros((1, dim), dtype=np.float32))
        return index
    centroids = vectors[np.sort(np.random.default_rng(seed).choice(count, cells, replace=False))]
    quantizer.add(centroids)
    low, high = np.full(dim, np.inf, dtype=np.float32), np.full(dim, -np.inf, dtype=np.float32)
    for start in range(0, count, BACKGROUND_BLOCK):
        block = vectors[start : start + BACKGROUND_BLOCK]
        residuals = block - centroids[quantizer.assign(block, 1)[:, 0]]
        np.minimum(low, residuals.min(0), out=low)
        np.maximum(high, residuals.max(0), out=high)
    index.sq.train(np.stack([low, high]))  # the ranges of these two rows are the residuals' own
    index.is_trained = True
    for start in range(0, count, BACKGROUND_BLOCK):
        index.add(vectors[start : start + BACKGROUND_BLOCK])
    index.nprobe = min(BACKGROUND_PROBES, cells)
    return index


def search_parameters(index_type: IndexType, allowed: np.ndarray | None) -> faiss.SearchParameters | None:
    """The kind's query-time setting, and an optional filter: `allowed` is a packed bitmap of the
    rows that may be returned (np.packbits(..., bitorder="little"))."""
    kwargs = {} if allowed is None else {"sel": faiss.IDSelectorBitmap(allowed)}
    if index_type.kind == "ivf":
        return faiss.SearchParametersIVF(nprobe=index_type.params["nprobe"], **kwargs)
    if index_type.kind == "hnsw":
        return faiss.SearchParametersHNSW(efSearch=index_type.params["ef_search"], **kwargs)
    return faiss.SearchParameters(**kwargs) if kwargs else None


def cells(path: Path, index_type: IndexType, dim: int) -> np.ndarray | None:
    """The cell centroids of the ivf index at `path`, when it has the cells `index_type` wants:
    an edit rebuilds in seconds instead of re-running k-means."""
    try:
        stored = read(path)
        previous = faiss.extract_index_ivf(stored)  # a view into `stored`, which must stay alive
    except (RuntimeError, OSError):
        return None
    if index_type.kind != "ivf" or previous.nlist != index_type.params["nlist"] or previous.d != dim:
        return None
    return faiss.downcast_index(previous.quantizer).reconstruct_n(0, previous.nlist)


def write(index: faiss.Index, path: Path) -> None:
    """Through a Python file, so that a failed write (a full disk) raises OSError: faiss's own
    writer only prints an error at close and leaves a truncated file."""
    with open(path, "wb") as file:
        writer = faiss.PyCallbackIOWriter(file.write)
        try:
            faiss.write_index(index, writer)
        finally:
            del writer


def read(path: Path) -> faiss.Index:
    """Open memory-mapped: pages are read on demand and shared between processes."""
    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
