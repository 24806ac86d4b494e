"""What heavy questions cost everyone else (issue #28): `faqsearch serve` over the example FAQ,
one client asking ordinary questions, alone and then beside a client that keeps sending
batches of --batch questions of 1,000 characters that tokenize worst (CJK, combining accents): the
ordinary client's latency, and how long each heavy batch took. With `--lengths DATA`, first how
long real questions are in e5's tokens (public sets in DATA, and the project's own), against
e5.MAX_TOKENS.

Usage: python benchmarks/heavy.py [--seconds 20] [--batch 8] [--lengths ../shared/data]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency import QUESTIONS
from public_sets import intent_splits
from servers import FAQSEARCH, serving

ROOT = Path(__file__).resolve().parent.parent
OWN = {"own evaluation": "queries.yaml", "own chat": "data/chat_queries.yaml", "own long": "data/queries.yaml"}
HEAVY = ["まだ荷物が届いていません。" * 77, "e\u0301" * 500, "где мой заказ " * 71, "我的订单在哪里" * 142]


def ordinary(url: str, seconds: float) -> list[float]:
    latencies, deadline = [], time.monotonic() + seconds
    with httpx.Client(base_url=url, timeout=60) as http:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            http.post("/ask", json={"question": QUESTIONS[len(latencies) % len(QUESTIONS)]}).raise_for_status()
            latencies.append(time.perf_counter() - started)
    return latencies


def hostile(url: str, stop: threading.Event, took: list[float], size: int) -> None:
    batch = [HEAVY[i % len(HEAVY)][:1000] for i in range(size)]
    with httpx.Client(base_url=url, timeout=120) as http:
        while not stop.is_set():
            started = time.perf_counter()
            http.post("/ask/batch", json={"questions": batch}).raise_for_status()
            took.append(time.perf_counter() - started)


def lengths(data: Path) -> None:
    """Token counts of real questions (as e5 reads them: prefix and specials included)."""
    from faqsearch.encoders import get_encoder
    from faqsearch.encoders.e5 import MAX_TOKENS

    splits = intent_splits(data)
    sets = {
        "banking77 test": [q for q, _ in splits["banking77"]["test"]],
        "clinc150 test and out-of-scope": [q for q, _ in splits["clinc150"]["test"] + splits["clinc150"]["oos_test"]],
        "UMSAB test tweets, 8 languages": [
            line for path in sorted((data / "umsab").glob("*/test_text.txt")) for line in path.read_text().splitlines()
        ],
        **{name: [q["question"] for q in yaml.safe_load((ROOT / "tests" / path).read_text())["queries"]]
           for name, path in OWN.items()},
    }  # fmt: skip
    count = get_encoder("e5").token_count
    print(f"| set | questions | tokens p99 | max | over {MAX_TOKENS} |\n|---|---|---|---|---|")
    for name, questions in sets.items():
        tokens = np.array([count(q) for q in questions])
        over = (tokens > MAX_TOKENS).sum()
        print(f"| {name} | {len(tokens):,} | {np.percentile(tokens, 99):.0f} | {tokens.max()} | {over} |")
    print()


def row(name: str, latencies: list[float]) -> str:
    p50, p99 = np.percentile(np.array(latencies) * 1000, [50, 99])
    return f"| {name} | {len(latencies)} | {p50:.1f} | {p99:.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--batch", type=int, default=8, help="heavy questions per request (at most 64)")
    parser.add_argument("--lengths", type=Path, metavar="DATA", help="../shared/data")
    args = parser.parse_args()
    if args.lengths:
        lengths(args.lengths)
    work = Path(tempfile.mkdtemp(prefix="faqsearch-heavy-"))
    try:
        index = work / "en"
        subprocess.run([FAQSEARCH, "build", str(ROOT / "faqs" / "en.yaml"), "--index", str(index)], check=True,
                       capture_output=True)  # fmt: skip
        with serving(["--index", str(index), "--no-unanswered-log"], work) as (_, url):
            ordinary(url, 2)  # warm-up
            alone = ordinary(url, args.seconds)
            stop, took = threading.Event(), []
            sender = threading.Thread(target=hostile, args=(url, stop, took, args.batch))
            sender.start()
            beside = ordinary(url, args.seconds)
            stop.set()
            sender.join()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("| ordinary client | requests | p50 ms | p99 ms |\n|---|---|---|---|")
    print(row("alone", alone))
    print(row(f"beside batches of {args.batch} heavy questions", beside))
    median, most = np.median(took) * 1000, max(took) * 1000
    print(f"\nheavy batches: {len(took)}, {median:.0f} ms each (median), {most:.0f} ms at most")


if __name__ == "__main__":
    main()
