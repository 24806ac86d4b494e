"""Soak test of `faqsearch serve` on loopback: clients asking while the FAQ is edited and rebuilt.

    python benchmarks/soak.py --minutes 10 --clients 32

Builds faqs/en.yaml in a temporary folder and serves it. For --minutes, --clients concurrent
clients POST /ask (questions from tests/queries.yaml) while the FAQ file is edited every 20 s
(a comment line is added: the index turns stale) and `faqsearch build` runs every 15 s.
Then it prints: requests and failed
requests, the server's memory after a minute of warm-up and at the end, the builds run against
the reloads the server counted, and its /metrics counts against the clients' own. Bounded in
time, loopback only; it stops the server itself.
"""

from __future__ import annotations

import argparse
import asyncio
import re
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


async def soak(url: str, work: Path, pid: int, args) -> dict:
    questions = [q["question"] for q in yaml.safe_load((ROOT / "tests" / "queries.yaml").read_text())["queries"]]
    deadline = time.monotonic() + 60 * args.minutes
    counts = {"ok": 0, "failed": 0, "builds": 0, "build_failures": 0, "edits": 0}
    memory = {}

    async def client(http: httpx.AsyncClient, start: int) -> None:
        i = start
        while time.monotonic() < deadline:
            try:
                response = await http.post("/ask", json={"question": questions[i % len(questions)]})
                counts["ok" if response.status_code == 200 else "failed"] += 1
            except httpx.HTTPError:
                counts["failed"] += 1
            i += 1

    async def every(seconds: float, action) -> None:
        while time.monotonic() + seconds < deadline:
            await asyncio.sleep(seconds)
            await action()

    async def edit() -> None:
        counts["edits"] += 1
        with open(work / "faqs" / "en.yaml", "a", encoding="utf-8") as faq:
            faq.write(f"# edit {counts['edits']}\n")

    async def build() -> None:
        process = await asyncio.create_subprocess_exec(
            FAQSEARCH, "build", "faqs/en.yaml", cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        counts["builds" if await process.wait() == 0 else "build_failures"] += 1

    async def warm_memory() -> None:
        await asyncio.sleep(60)
        memory["after warm-up"] = resident_mib(pid)

    limits = httpx.Limits(max_connections=args.clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
        await asyncio.gather(
            *(client(http, 97 * c) for c in range(args.clients)),
            every(20, edit),
            every(15, build),
            warm_memory(),
        )
        await asyncio.sleep(3)  # the last rebuild is picked up within a second
        memory["at the end"] = resident_mib(pid)
        metrics = (await http.get("/metrics")).text
    return {**counts, **memory, "metrics": metrics}


def metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(f"{name}{{{wanted}}}" if labels else name) + r" ([0-9.e+]+)"
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="faqsearch-soak-"))
    shutil.copytree(ROOT / "faqs", work / "faqs")
    try:
        subprocess.run([FAQSEARCH, "build", "faqs/en.yaml"], cwd=work, check=True, capture_output=True)
        with serving([], work) as (serve, url):
            result = asyncio.run(soak(url, work, serve.pid, args))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = result.pop("metrics")
    served = metric(text, "faqsearch_requests_total", endpoint="/ask", status="200")
    answers = sum(float(v) for v in re.findall(r"faqsearch_answers_total\{[^}]*\} ([0-9.e+]+)", text))
    reloads = metric(text, "faqsearch_reloads_total", index="en")
    growth = 100 * (result["at the end"] / result["after warm-up"] - 1)
    print(f"{args.minutes:g} minutes, {args.clients} clients on loopback")
    print(f"requests answered: {result['ok']}, failed: {result['failed']}")
    print(f"server memory: {result['after warm-up']:.0f} MiB after warm-up, {result['at the end']:.0f} MiB at the end "
          f"({growth:+.1f}%)")  # fmt: skip
    print(f"FAQ edits: {result['edits']}; builds: {result['builds']} (failed: {result['build_failures']}); "
          f"reloads counted by the server: {reloads:.0f}")  # fmt: skip
    print(f"/metrics: /ask 200s {served:.0f} (clients counted {result['ok']}), answers {answers:.0f}")


if __name__ == "__main__":
    main()
