"""Bounded load test of `faqsearch serve` on loopback: 1, 8 and 32 concurrent clients.

    python benchmarks/load.py --requests 600 --seconds 30

Builds faqs/en.yaml into a temporary folder, starts `faqsearch serve` there as a subprocess,
and for each client count sends POST /ask (questions from tests/queries.yaml, in 14 languages)
until --requests have been answered or --seconds have passed, then stops by itself. Prints
requests/s, p50 and p99 latency and the error count per level, and the server's peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import FAQSEARCH, resident_mib, serving

ROOT = Path(__file__).resolve().parent.parent


async def level(
    url: str, questions: list[str], clients: int, requests: int, seconds: float, tenants: list[str] = ()
) -> dict:
    """Send questions from `clients` at once (to POST /ask, or to the tenants in turn)."""
    latencies, errors, sent = [], 0, 0
    deadline = time.perf_counter() + seconds

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors, sent
        while sent < requests and time.perf_counter() < deadline:
            question = questions[sent % len(questions)]
            path = f"/indexes/{tenants[sent % len(tenants)]}/ask" if tenants else "/ask"
            sent += 1
            started = time.perf_counter()
            try:
                response = await http.post(path, json={"question": question})
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - started)
            errors += not ok

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "clients": clients,
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": 1000 * latencies[len(latencies) // 2],
        "p99": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=600, help="per client count")
    parser.add_argument("--seconds", type=float, default=30, help="at most, per client count")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()
    questions = [q["question"] for q in yaml.safe_load((ROOT / "tests" / "queries.yaml").read_text())["queries"]]
    work = Path(tempfile.mkdtemp(prefix="faqsearch-load-"))
    shutil.copytree(ROOT / "faqs", work / "faqs")
    try:
        subprocess.run([FAQSEARCH, "build", "faqs/en.yaml"], cwd=work, check=True, capture_output=True)
        with serving([], work) as (serve, url):
            asyncio.run(level(url, questions, 4, 40, 10))  # warm-up
            print("clients  requests   req/s   p50 ms   p99 ms  p99/p50  errors")
            rows = [asyncio.run(level(url, questions, n, args.requests, args.seconds)) for n in args.clients]
            for r in rows:
                print(
                    f"{r['clients']:7} {r['requests']:9} {r['rps']:7.1f} {r['p50']:8.1f} {r['p99']:8.1f} "
                    f"{r['p99'] / r['p50']:8.2f} {r['errors']:7}"
                )
            print(f"throughput at {rows[-1]['clients']} clients / 1 client: {rows[-1]['rps'] / rows[0]['rps']:.2f}x")
            print(f"server peak memory (VmHWM): {resident_mib(serve.pid, 'VmHWM'):.0f} MiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
