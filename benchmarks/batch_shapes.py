"""Memory and speed of e5's torch batch engine under a server's mix of batch shapes.

    python benchmarks/batch_shapes.py [--seconds 80]

Embeds random batches of 1-32 questions from tests/queries.yaml for --seconds and prints the
process's resident memory every 10 s, then the time per sentence over a fixed set of batches.
The kernel caches' bounds are e5_batch.KERNEL_CACHES unless the environment sets them: torch's
own defaults are `ONEDNN_PRIMITIVE_CACHE_CAPACITY=1024 LRU_CACHE_CAPACITY=1024`.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

import yaml
from servers import resident_mib

from faqsearch.encoders.e5 import PREFIX, E5Encoder

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=80)
    args = parser.parse_args()
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
