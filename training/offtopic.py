"""Write the shipped vectors of the off-topic sample (faqsearch/offtopic.py) for encoders.

    python training/offtopic.py --encoder e5-aligned --encoder e5

Every build calibrates on the sample's 1,920 messages. Embedding them is a job for torch (~5 s
and ~400 MB on 2 cores, torch's start included), which a first build on a fresh install, a new
container or a CI run would otherwise pay before it caches them. Written as each encoder embeds
the sample on this machine (float32), so a build's calibration is the one it would compute.
Run again when the sample or an encoder's version changes (a stale file is ignored: the build
embeds the sample itself).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from faqsearch import offtopic
from faqsearch.encoders import get_encoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", action="append", required=True, help="repeatable")
    for name in parser.parse_args().encoder:
        encoder = get_encoder(name)
        offtopic.write_vectors(encoder)
        print(f"{name}: {offtopic.vectors_path(name)}", flush=True)


if __name__ == "__main__":
    main()
