"""How the background index codes its vectors (issue #38): search time against precision.

The example FAQ (faqs/en.yaml) is built once; the questions its confidence fit measured against
the background (its phrasings, the off-topic sample, simulated translations, background
sentences: ~4,500) and the aligned background corpus are taken from that build. The same cells
(ann.background's) are then filled with each FAISS code and searched for the 5 nearest of every
question, the codes alternated `--rounds` times. Reported: the fastest search of all questions,
each question's mean cosine of its 5 nearest against exact search over every sentence (what
retrieval.BACKGROUND_NEAREST measures), how often the nearest sentence is exact search's, and
the index's size (each index of a FAQ holds one). Then the same for other numbers of cells and
probes with the shipped code, and the seconds each takes to build.

Usage: python benchmarks/background_codes.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from faqsearch import ann, load_faqs, retrieval
from faqsearch.build import build_index
from faqsearch.encoders import AUTO, get_encoder, resolve

EXAMPLE = Path(__file__).resolve().parent.parent / "faqs" / "en.yaml"
CODES = {
    "int8, a range per dimension": faiss.ScalarQuantizer.QT_8bit,
    "int8, one range (shipped)": faiss.ScalarQuantizer.QT_8bit_uniform,
    "float16": faiss.ScalarQuantizer.QT_fp16,
    "6 bits": faiss.ScalarQuantizer.QT_6bit,
    "4 bits, one range": faiss.ScalarQuantizer.QT_4bit_uniform,
}
LAYOUTS = ((128, 32), (128, 24), (256, 48), (256, 64), (512, 64), (512, 96), (1024, 128))  # the first is shipped


def example_questions() -> tuple[np.ndarray, np.ndarray, faiss.Index]:
    """The example build's background questions, its aligned corpus and its background index."""
    asked, corpus = [], []
    measure, make = retrieval.Retriever.near_background, ann.background

    def spy_measure(self, prepared, ignore=None):
        asked.append(prepared.copy())
        return measure(self, prepared, ignore)

    def spy_make(vectors, seed=0):
        corpus.append(vectors[0 : vectors.shape[0]])
        return make(vectors, seed)

    retrieval.Retriever.near_background, ann.background = spy_measure, spy_make
    try:
        with tempfile.TemporaryDirectory() as folder:
            built = build_index(load_faqs(EXAMPLE), get_encoder(resolve(AUTO)), Path(folder) / "en")
    finally:
        retrieval.Retriever.near_background, ann.background = measure, make
    return np.vstack(asked), corpus[-1], built.index.retriever.background


def coded(index: faiss.Index, vectors: np.ndarray, code: int) -> faiss.Index:
    """`index`'s cells filled with `vectors` in `code`."""
    ivf = faiss.extract_index_ivf(index)
    quantizer = faiss.IndexFlatIP(index.d)
    quantizer.add(faiss.downcast_index(ivf.quantizer).reconstruct_n(0, ivf.nlist))
    other = faiss.IndexIVFScalarQuantizer(quantizer, index.d, ivf.nlist, code, faiss.METRIC_INNER_PRODUCT)
    other.train(vectors)
    other.add(vectors)
    other.nprobe = ivf.nprobe
    return other


def layout(corpus: np.ndarray, cells: int, probes: int) -> tuple[faiss.Index, float]:
    """ann.background's own index of `corpus` with `cells` cells searched `probes` at a time, and
    the seconds it took to build (a build makes one per FAQ)."""
    shipped = ann.BACKGROUND_CELLS, ann.BACKGROUND_PROBES
    ann.BACKGROUND_CELLS, ann.BACKGROUND_PROBES = cells, probes
    try:
        started = time.perf_counter()
        return ann.background(corpus), time.perf_counter() - started
    finally:
        ann.BACKGROUND_CELLS, ann.BACKGROUND_PROBES = shipped


def report(title: str, indexes: dict[str, faiss.Index], questions: np.ndarray, exact: faiss.Index, rounds: int) -> None:
    """One table: each index's fastest search of all `questions` and its error against `exact`."""
    cosines, nearest = exact.search(questions, retrieval.BACKGROUND_NEAREST)
    seconds = {name: [] for name in indexes}
    for _ in range(rounds):
        for name, index in indexes.items():
            started = time.perf_counter()
            index.search(questions, retrieval.BACKGROUND_NEAREST)
            seconds[name].append(time.perf_counter() - started)
    print(f"\n| {title} | search s (fastest) | mean of 5 nearest, mean / p99 error | nearest as exact | size MB |")
    print("|---|---:|---|---:|---:|")
    for name, index in indexes.items():
        found, rows = index.search(questions, retrieval.BACKGROUND_NEAREST)
        error = np.abs(found.mean(1) - cosines.mean(1))
        size = faiss.serialize_index(index).nbytes / 1e6
        print(
            f"| {name} | {min(seconds[name]):.3f} | {error.mean():.4f} / {np.quantile(error, 0.99):.4f} "
            f"| {np.mean(rows[:, 0] == nearest[:, 0]):.3f} | {size:.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    questions, corpus, built = example_questions()
    exact = faiss.IndexFlatIP(corpus.shape[1])
    exact.add(corpus)
    print(f"{len(questions):,} questions, {corpus.shape[0]:,} background sentences")
    codes = {name: coded(built, corpus, code) for name, code in CODES.items()}
    report(f"code ({ann.BACKGROUND_CELLS} cells, {ann.BACKGROUND_PROBES} probes)", codes, questions, exact, rounds)
    layouts, build = {}, {}
    for cells, probes in LAYOUTS:
        name = f"{cells} cells, {probes} probes ({probes / cells:.1%} scanned)"
        layouts[name], build[name] = layout(corpus, cells, probes)
    report("cells, probes (shipped code)", layouts, questions, exact, rounds)
    print("\nbuilding each: " + ", ".join(f"{name.split(' (')[0]} {seconds:.3f} s" for name, seconds in build.items()))


if __name__ == "__main__":
    main()
