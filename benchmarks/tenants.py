"""Many tenants on one server (issue #28): `faqsearch serve --indexes-dir` over N tenant indexes
of the example FAQ's size, asked Zipf-like, beside a one-index server asked the same questions.

- The example FAQ is built once; each tenant is a copy of that index (its background.faiss and
  embeddings.npy hard-linked, 7.6 of its 8.5 MB, so that 10,000 tenants fit this disk: the
  server still charges each tenant every byte, and maps each tenant's files on its own).
- One client sends --requests questions (the example questions of benchmarks/latency.py, in
  turn), tenant i (1-based) chosen with probability proportional to 1 / i^--zipf.
- "cold" is a tenant's first request (the server opens its index), "warm" every later one; the
  server's resident memory is sampled every 50 ms.

Usage: python benchmarks/tenants.py [--tenants 10000] [--requests 4000] [--max-memory 2GiB]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency import QUESTIONS
from servers import FAQSEARCH, resident_mib, serving

from faqsearch.memory import parse_size

ROOT = Path(__file__).resolve().parent.parent
LINKED = {"background.faiss", "embeddings.npy"}


def make_tenants(built: Path, root: Path, count: int) -> list[str]:
    version = built.resolve()
    names = [f"t{i:05d}" for i in range(count)]
    for name in names:
        folder = root / name
        folder.mkdir(parents=True)
        for file in version.iterdir():
            (os.link if file.name in LINKED else shutil.copyfile)(file, folder / file.name)
    return names


def example_tenants(work: Path, count: int) -> list[str]:
    """The example FAQ built in `work`, then copied as `count` tenants under work/tenants."""
    subprocess.run(
        [FAQSEARCH, "build", str(ROOT / "faqs" / "en.yaml"), "--index", str(work / "built")],
        check=True,
        capture_output=True,
    )
    return make_tenants(work / "built", work / "tenants", count)


def ms(samples: list[float], q: float) -> float:
    return float(np.percentile(np.array(samples) * 1000, q)) if samples else float("nan")


def ask(url: str, path: str, picks: list[str]) -> tuple[list[float], list[float], int]:
    """(cold latencies, warm latencies, errors) of one request per pick, in order."""
    cold, warm, errors, seen = [], [], 0, set()
    with httpx.Client(base_url=url, timeout=60) as http:
        for i, name in enumerate(picks):
            started = time.perf_counter()
            response = http.post(path.format(name=name), json={"question": QUESTIONS[i % len(QUESTIONS)]})
            (warm if name in seen else cold).append(time.perf_counter() - started)
            errors += response.status_code != 200
            seen.add(name)
    return cold, warm, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=4_000)
    parser.add_argument("--zipf", type=float, default=1.0)
    parser.add_argument("--max-memory", default="2GiB")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="faqsearch-tenants-"))
    try:
        started = time.perf_counter()
        names = example_tenants(work, args.tenants)
        print(f"{args.tenants:,} tenants written in {time.perf_counter() - started:.0f} s")
        weights = 1 / np.arange(1, len(names) + 1) ** args.zipf
        rng = np.random.default_rng(0)
        picks = [names[i] for i in rng.choice(len(names), size=args.requests, p=weights / weights.sum())]
        with serving(["--index", str(work / "tenants" / names[0])], work) as (_, url):
            _, one_index, _ = ask(url, "/ask", [names[0]] * min(args.requests, 1000))
        bound = ["--indexes-dir", str(work / "tenants"), "--max-memory", args.max_memory, "--no-unanswered-log"]
        with serving(bound, work) as (serve, url):
            peak, done = [resident_mib(serve.pid)], threading.Event()

            def sample() -> None:
                while not done.wait(0.05):
                    peak.append(resident_mib(serve.pid))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.perf_counter()
            cold, warm, errors = ask(url, "/indexes/{name}/ask", picks)
            elapsed = time.perf_counter() - started
            done.set()
            sampler.join()
            open_now = httpx.get(f"{url}/health").json()["indexes"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bound_mib = parse_size(args.max_memory) / 2**20
    print(f"{args.requests:,} requests over {len(set(picks)):,} tenants (Zipf {args.zipf}) in {elapsed:.0f} s\n")
    rows = [
        (f"cold tenant (first ask) p50 / p99 ms, {len(cold):,} requests", f"{ms(cold, 50):.1f} / {ms(cold, 99):.1f}",
         "p50 <= 50"),
        (f"warm tenant p50 / p99 ms, {len(warm):,} requests", f"{ms(warm, 50):.1f} / {ms(warm, 99):.1f}",
         f"p50 within 10% of one index ({ms(one_index, 50):.1f}: {ms(warm, 50) / ms(one_index, 50) - 1:+.0%})"),
        (f"server resident memory, max of {len(peak):,} samples", f"{max(peak):,.0f} MiB ({open_now} open at the end)",
         f"never above --max-memory {bound_mib:,.0f} MiB"),
        ("errors", str(errors), "0"),
    ]  # fmt: skip
    print("| figure | measured | goal |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
