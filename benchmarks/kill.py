"""Kill builds at random instants and check that the index is whole after every kill.

Runs tests/build_forever.py (back-to-back builds of a 30-entry FAQ, alternating two versions, with
a stand-in encoder so a build takes a fraction of a second) and kill -9s it after a random delay,
N times. After each kill it records the last phase the build announced (computing, writing,
written, renamed, swapping, published: the point it was killed at) and opens the index, which
must succeed with all entries from one version.

Usage: python benchmarks/kill.py [--kills 100]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from test_versions import FAQ  # noqa: E402

from faqsearch.errors import IndexUnusable  # noqa: E402
from faqsearch.index import open_index  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    args = parser.parse_args()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        faqs = [folder / f"{answer}.yaml" for answer in ("one", "two")]
        for path, answer in zip(faqs, ("one", "two"), strict=True):
            path.write_text(FAQ.replace("ANSWER", answer))
        index = folder / "indexes" / "kill"
        command = [sys.executable, str(ROOT / "tests" / "build_forever.py"), *map(str, faqs), str(index)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        while not first.stdout.readline().startswith("built"):  # one version exists before any kill
            pass
        first.kill()
        first.wait()
        points: Counter[str] = Counter()
        whole = 0
        for _ in range(args.kills):
            builder = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
            time.sleep(rng.uniform(0.3, 3.0))
            builder.send_signal(signal.SIGKILL)
            phases = builder.communicate()[0].split()
            points[phases[-1] if phases else "starting"] += 1
            try:
                answers = {e.answer for e in open_index(index).entries}
                whole += answers in ({"one"}, {"two"})
            except IndexUnusable as exc:
                print(f"not whole: {exc}")
    print(f"builds killed: {args.kills}; at {len(points)} distinct points; index whole after the kill: "
          f"{whole}/{args.kills}")  # fmt: skip
    for point, count in points.most_common():
        print(f"  killed after `{point}`: {count}")


if __name__ == "__main__":
    main()
