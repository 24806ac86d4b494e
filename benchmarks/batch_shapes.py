"""Memory and speed of e5's torch batch engine under a server's mix of batch shapes.

    python benchmarks/batch_shapes.py [--seconds 80] [--width-step N] [--row-step N]

Embeds random batches of 1-32 questions from tests/queries.yaml for --seconds and prints the
process's resident memory every 10 s, then the time per sentence over a fixed set of batches.
--width-step and --row-step replace e5_batch's WIDTH_STEP and ROW_STEP (1 and 1: every batch
runs at its exact shape). oneDNN's cache bounds are environment variables
(ONEDNN_PRIMITIVE_CACHE_CAPACITY, LRU_CACHE_CAPACITY): set them on the command line.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

import yaml
from servers import resident_mib

from faqsearch.encoders import e5_batch
from faqsearch.encoders.e5 import PREFIX, E5Encoder

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=80)
    parser.add_argument("--width-step", type=int, default=e5_batch.WIDTH_STEP)
    parser.add_argument("--row-step", type=int, default=e5_batch.ROW_STEP)
    args = parser.parse_args()
    e5_batch.WIDTH_STEP, e5_batch.ROW_STEP = args.width_step, args.row_step
    questions = [
        PREFIX + q["question"] for q in yaml.safe_load((ROOT / "tests" / "queries.yaml").read_text())["queries"]
    ]
    engine = E5Encoder().batch_engine()
    rng = random.Random(0)
    started, shown = time.monotonic(), 0.0
    while (elapsed := time.monotonic() - started) < args.seconds:
        engine.embed(rng.sample(questions, rng.randint(1, 32)))
        if elapsed >= shown:
            print(f"{elapsed:4.0f} s: {resident_mib(os.getpid()):6.0f} MiB", flush=True)
            shown += 10
    batches = [rng.sample(questions, rng.randint(1, 32)) for _ in range(150)]
    clock = time.perf_counter()
    for batch in batches:
        engine.embed(batch)
    sentences = sum(map(len, batches))
    print(f"{1000 * (time.perf_counter() - clock) / sentences:.2f} ms per sentence over {sentences} sentences")


if __name__ == "__main__":
    main()
