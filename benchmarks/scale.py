"""Scale: build, open, search and memory from 1k to 1M phrasings, the encoder excluded.

Synthetic FAQs: entries of 5 phrasings, each phrasing a unit vector near its entry's random
centre (noise 1.0, so an entry's phrasings are about as close as real paraphrases in e5's centered
space), questions drawn the same way. A stand-in encoder returns those vectors for the texts,
so every step but the encoder is the product's own: the build (alignment, FAISS index of the
type `auto` picks, calibration, atomic write), the open (memory-mapped), the search and scoring.
`--real DATA` adds one real FAQ: banking77 and clinc150's training utterances together
(25k phrasings, 227 entries) with e5, asked their test utterances.

Each size runs in its own processes (build, then serve) so peak memory is per phase:
- build: the whole build_index from cached vectors, seconds and peak RSS;
- rebuild: one entry's phrasings changed, everything else reused;
- open: FAQSearch-level open of the index; serve RSS: after opening and 1,000 questions;
- p50/p99: retrieval + pooling + confidence per question (one at a time);
- recall@1: the approximate index's top phrasing against exact search over the same vectors.

Usage: python benchmarks/scale.py [--sizes 1000,10000,100000,1000000] [--real ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from faqsearch import memory
from faqsearch.encoders import Encoder
from faqsearch.faqs import FAQEntry, FAQFile

DIM, PER_ENTRY, NOISE, QUESTIONS = 384, 5, 1.0, 1000


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


class Synthetic(Encoder):
    """Returns the precomputed vector of row N for the text "p:N", a random one for any other text."""

    name, dim, version, requires, install_hint = "synthetic", DIM, "1", "numpy", ""

    def __init__(self, vectors: np.ndarray):
        self.vectors = vectors

    def _embed(self, texts: list[str], languages: list[str]) -> np.ndarray:
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            kind, _, number = text.partition(":")
            if kind == "p" and number.isdigit():
                out[i] = self.vectors[int(number)]
            else:
                out[i] = np.random.default_rng(abs(hash(text)) % 2**32).standard_normal(DIM)
        return out


def centres(n: int, seed: int = 0) -> np.ndarray:
    return unit(np.random.default_rng(seed).standard_normal((n // PER_ENTRY, DIM)).astype(np.float32))


def questions(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """QUESTIONS question vectors and the entry each was drawn from."""
    rng, centre = np.random.default_rng(seed + 1), centres(n, seed)
    asked = rng.integers(len(centre), size=QUESTIONS)
    return unit(centre[asked] + NOISE / np.sqrt(DIM) * rng.standard_normal((QUESTIONS, DIM))).astype(np.float32), asked


def phrasings(n: int, seed: int = 0) -> tuple[np.ndarray, tuple[FAQEntry, ...]]:
    rng, centre = np.random.default_rng(seed + 2), centres(n, seed)
    vectors = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):  # in blocks: 1M x 384 noise at once is another 1.5 GB
        rows = np.arange(start, min(n, start + 100_000))
        noise = NOISE / np.sqrt(DIM) * rng.standard_normal((len(rows), DIM))
        vectors[rows] = unit(centre[rows // PER_ENTRY] + noise)
    entries = tuple(
        FAQEntry(f"e{e}", f"p:{e * PER_ENTRY}", "answer", tuple(f"p:{e * PER_ENTRY + j}" for j in range(1, PER_ENTRY)))
        for e in range(len(centre))
    )
    return vectors, entries


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mib() -> float:
    return memory.resident() / 2**20


def phase_build(n: int, folder: Path, edit: bool) -> dict:
    from faqsearch.build import build_index

    vectors, entries = phrasings(n)
    if edit:  # one entry's phrasings change (new texts: the encoder gives them new vectors)
        entries = (FAQEntry("e0", "x:0", "changed", tuple(f"x:{j}" for j in range(1, PER_ENTRY))), *entries[1:])
    faq = FAQFile(folder / "synthetic.yaml", "en", entries, f"{n}-{edit}")
    started = time.perf_counter()
    built = build_index(faq, Synthetic(vectors), folder / "index")
    return {
        "seconds": time.perf_counter() - started,
        "peak_mib": peak_mib(),
        "type": built.index.manifest.index_type.kind,
        "embedded": built.index.manifest.embedded,
    }


def recall(index, vectors: np.ndarray) -> tuple[float, float]:
    """Against exact search over the same stored vectors: how often the approximate index finds
    the same top phrasing, and the product the same top answer (1.0 for a flat index)."""
    import faiss

    from faqsearch.ann import IndexType
    from faqsearch.index import EMBEDDINGS
    from faqsearch.retrieval import Retriever, index_vectors

    retriever = index.retriever
    if index.manifest.index_type.kind == "flat":
        return 1.0, 1.0
    flat = faiss.IndexFlatIP(retriever.vectors.d)
    embeddings = np.load(index.path / EMBEDDINGS, mmap_mode="r")
    for start in range(0, len(embeddings), 100_000):
        block = np.asarray(embeddings[start : start + 100_000])
        flat.add(index_vectors(block, ["en"] * len(block), retriever.parts, retriever.alignments))
    english = ["en"] * len(vectors)
    prepared = retriever.weigh(retriever.align(vectors, english), english)
    rows = float((flat.search(prepared, 1)[1][:, 0] == retriever.search(prepared, 1)[1][:, 0]).mean())
    exact = Retriever(
        flat, IndexType("flat"), retriever.parts, retriever.alignments, retriever.row_entry, retriever.classifier
    )
    answers = zip(exact.rank(vectors, english), retriever.rank(vectors, english), strict=True)
    return rows, float(np.mean([a.entries[0] == b.entries[0] for a, b in answers]))


def phase_serve(n: int, folder: Path) -> dict:
    from faqsearch.index import open_index

    asked_vectors, asked = questions(n)
    started = time.perf_counter()
    index = open_index(folder / "index")
    opened = time.perf_counter() - started
    retriever, calibration = index.retriever, index.manifest.calibration
    timings, top_rows, right = [], [], 0
    for i in range(QUESTIONS):
        started = time.perf_counter()
        ranking = retriever.rank(asked_vectors[i : i + 1], ["en"], 5)[0]
        calibration.confidence(ranking, True)
        timings.append(time.perf_counter() - started)
        top_rows.append(ranking.rows[0])
        right += int(ranking.entries[0] == asked[i])
    serving = rss_mib()
    row_recall, answer_recall = recall(index, asked_vectors)
    return {
        "open_seconds": opened,
        "p50_ms": 1000 * float(np.percentile(timings, 50)),
        "p99_ms": 1000 * float(np.percentile(timings, 99)),
        "serving_mib": serving,
        "row_recall_at_1": row_recall,
        "answer_recall_at_1": answer_recall,
        "accuracy_at_1": right / QUESTIONS,
    }


def phase_real(data: Path, folder: Path, step: str) -> dict:
    """The real FAQ (public_sets.both_intent_sets) with e5: first build, one-entry rebuild, serve."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from public_sets import Benchmark, both_intent_sets

    from faqsearch import langid, load_faqs
    from faqsearch.build import build_index
    from faqsearch.encoders import get_encoder
    from faqsearch.evaluation import load_queries
    from faqsearch.index import open_index
    from faqsearch.vectorcache import encode_cached

    name = "banking77+clinc150-all"
    bench = Benchmark(name, folder / f"{name}.faq.yaml", folder / f"{name}.queries.yaml")
    if not bench.faq.exists():  # the later steps use the files the first one wrote
        bench = both_intent_sets(data, folder)
    encoder = get_encoder("e5")
    if step in ("build", "rebuild"):
        if step == "rebuild":  # one entry's question is reworded
            bench.faq.write_text(bench.faq.read_text().replace("question: ", "question: Please, ", 1))
        started = time.perf_counter()
        faq = load_faqs(bench.faq)
        built = build_index(faq, encoder, folder / "index")
        m = built.index.manifest
        return {
            "seconds": time.perf_counter() - started,
            "peak_mib": peak_mib(),
            "type": m.index_type.kind,
            "embedded": m.embedded,
            "phrasings": m.phrasings,
        }
    queries = load_queries(bench.queries)[:QUESTIONS]
    texts = [q.question for q in queries]
    vectors = encode_cached(encoder, texts, [langid.detect(t, prior="en") for t in texts], "scale-real")
    started = time.perf_counter()
    index = open_index(folder / "index")
    opened = time.perf_counter() - started
    ids = [e.id for e in index.entries]
    timings, right = [], 0
    for i, query in enumerate(queries):
        started = time.perf_counter()
        ranking = index.retriever.rank(vectors[i : i + 1], ["en"], 5)[0]
        index.manifest.calibration.confidence(ranking, True)
        timings.append(time.perf_counter() - started)
        right += int(ids[ranking.entries[0]] == query.expected)
    return {
        "open_seconds": opened,
        "p50_ms": 1000 * float(np.percentile(timings, 50)),
        "p99_ms": 1000 * float(np.percentile(timings, 99)),
        "serving_mib": rss_mib(),
        "accuracy_at_1": right / len(queries),
        "answer_recall_at_1": recall(index, vectors)[1],
    }


def run_phase(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--phase", *args], capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--real", type=Path, metavar="DATA", help="also the real FAQ from ../shared/data")
    parser.add_argument("--phase", nargs=3, metavar=("PHASE", "N", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        phase, n, folder = args.phase
        result = {
            "build": lambda: phase_build(int(n), Path(folder), False),
            "rebuild": lambda: phase_build(int(n), Path(folder), True),
            "serve": lambda: phase_serve(int(n), Path(folder)),
        }.get(phase, lambda: phase_real(Path(n), Path(folder), phase.removeprefix("real-")))()
        print(json.dumps(result))
        return
    print("| phrasings | index | build s | build peak MiB | rebuild one entry s | open s | serve RSS MiB "
          "| p50 ms | p99 ms | recall@1 vs exact: top phrasing / answer | acc@1 |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    if args.real:
        with tempfile.TemporaryDirectory() as tmp:
            build, rebuild, serve = (
                run_phase(f"real-{step}", str(args.real), tmp) for step in ("build", "rebuild", "serve")
            )
        print(
            f"| {build['phrasings']:,} (banking77+clinc150, e5) | {build['type']} | {build['seconds']:.1f} (with "
            f"embedding) | {build['peak_mib']:.0f} | {rebuild['seconds']:.1f} ({rebuild['embedded']} embedded) "
            f"| {serve['open_seconds']:.2f} | {serve['serving_mib']:.0f} | {serve['p50_ms']:.2f} "
            f"| {serve['p99_ms']:.2f} | - / {serve['answer_recall_at_1']:.3f} | {serve['accuracy_at_1']:.3f} |",
            flush=True,
        )
    for n in (int(size) for size in args.sizes.split(",") if size):
        with tempfile.TemporaryDirectory() as tmp:
            build = run_phase("build", str(n), tmp)
            rebuild = run_phase("rebuild", str(n), tmp)
            serve = run_phase("serve", str(n), tmp)
        print(
            f"| {n:,} | {build['type']} | {build['seconds']:.1f} | {build['peak_mib']:.0f} | {rebuild['seconds']:.1f} "
            f"({rebuild['embedded']} embedded) | {serve['open_seconds']:.2f} | {serve['serving_mib']:.0f} "
            f"| {serve['p50_ms']:.2f} | {serve['p99_ms']:.2f} | {serve['row_recall_at_1']:.3f} / "
            f"{serve['answer_recall_at_1']:.3f} | {serve['accuracy_at_1']:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
