"""Speed of the core engine, per available encoder.

- warm in-process `FAQSearch.ask` latency (p50/p99) for one question, beside the bare encoder
  call for the same question; their ratio is faqsearch's own overhead (target <= 1.10);
- cold `faqsearch ask` as a one-shot process (wall time, median of runs);
- `build` throughput in phrasings embedded per second, for the example FAQ, in this process
  (the encoder loaded), and a one-shot `faqsearch build` into a fresh folder, as a user runs it
  (wall time, imports and the encoder's load included).

Usage: python benchmarks/latency.py [--faq faqs/en.yaml] [--runs 300] [--encoder e5 ...]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from faqsearch import FAQSearch, load_faqs
from faqsearch.build import build_index
from faqsearch.encoders import ENCODERS, get_encoder

QUESTIONS = ["¿cómo cancelo mi suscripción?", "Wie setze ich mein Passwort zurück?", "where is my parcel"]


def percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(np.array(samples) * 1000, q))


def warm_latency(faq: FAQSearch, question: str, runs: int) -> tuple[list[float], list[float]]:
    """Alternate the bare encoder call and the full ask, so both see the same machine state."""
    encoder = faq.encoder
    language = faq.ask(question).language
    for _ in range(20):
        encoder.encode([question], [language])
        faq.ask(question)
    bare, full = [], []
    for _ in range(runs):
        started = time.perf_counter()
        encoder.encode([question], [language])
        bare.append(time.perf_counter() - started)
        started = time.perf_counter()
        faq.ask(question)
        full.append(time.perf_counter() - started)
    return bare, full


# Runs one `faqsearch ask` and prints its peak memory. A small parent of its own, because the
# kernel counts a child's memory before exec in its peak, and this benchmark's process is large.
PEAK = (
    "import os, subprocess, sys; p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL); "
    "_, status, usage = os.wait4(p.pid, 0); assert status == 0, status; print(usage.ru_maxrss / 1024)"
)


def one_shot(arguments: list[str], runs: int = 5) -> tuple[float, float]:
    """Median wall time (s) and peak resident memory (MiB) of a one-shot `faqsearch` command
    (`{run}` in its arguments: the run's number)."""
    times, peaks = [], []
    faqsearch = str(Path(sys.executable).parent / "faqsearch")
    for run in range(runs):
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", PEAK, faqsearch, *(a.format(run=run) for a in arguments)],
            check=True,
            capture_output=True,
            text=True,
        )
        times.append(time.perf_counter() - started)
        peaks.append(float(out.stdout))
    return statistics.median(times), statistics.median(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faq", default="faqs/en.yaml")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--encoder", action="append", choices=sorted(ENCODERS), help="default: every one")
    args = parser.parse_args()
    source = load_faqs(args.faq)
    phrasings = sum(len(e.phrasings) for e in source.entries)
    print(f"{args.faq}: {len(source.entries)} entries, {phrasings} phrasings; {args.runs} warm runs per question\n")
    print("| encoder | question | bare encoder p50 / p99 ms | ask p50 / p99 ms | ask/encoder (p50) |")
    print("|---|---|---|---|---|")
    summary = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, cls in ENCODERS.items():
            if args.encoder and name not in args.encoder:
                continue
            if cls.unavailable_reason():
                print(f"| {name} | not available here: {cls.unavailable_reason()} | | | |")
                continue
            encoder = get_encoder(name)
            builds = []
            for i in range(3):  # each into a new folder: a rebuild would reuse the vectors
                started = time.perf_counter()
                build_index(source, encoder, Path(tmp) / f"{name}-{i}")
                builds.append(time.perf_counter() - started)
            faq = FAQSearch.open(Path(tmp) / f"{name}-0")
            ratios = []
            for question in QUESTIONS:
                bare, full = warm_latency(faq, question, args.runs)
                ratio = statistics.median(full) / statistics.median(bare)
                ratios.append(ratio)
                print(
                    f"| {name} | {question} | {percentile(bare, 50):.2f} / {percentile(bare, 99):.2f} "
                    f"| {percentile(full, 50):.2f} / {percentile(full, 99):.2f} | {ratio:.3f} |"
                )
            cold, peak = one_shot(["ask", "--index", str(Path(tmp) / f"{name}-0"), QUESTIONS[0]])
            fresh = str(Path(tmp) / f"{name}-fresh-{{run}}")
            build, _ = one_shot(["build", args.faq, "--index", fresh, "--encoder", name], runs=3)
            summary.append((name, phrasings / statistics.median(builds), cold, peak, build))
    print(
        "\n| encoder | build throughput in process (phrasings/s, median of 3) | one-shot `ask`: s / peak MiB "
        "(median of 5) | one-shot `build`, fresh folder: s (median of 3) |"
    )
    print("|---|---|---|---|")
    for name, throughput, cold, peak, build in summary:
        print(f"| {name} | {throughput:.0f} | {cold:.2f} / {peak:.0f} | {build:.2f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
