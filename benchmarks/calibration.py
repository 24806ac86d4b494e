"""How the confidence is calibrated: feature sets and example weightings compared on public sets
and the project's own, each fitted at build time as the product does (calibration.sample).

For every variant and set: expected calibration error of the first candidate's confidence, the
shares answered right and rejected at the default threshold (0.5), and the best share answered
right at any threshold that rejects >= 0.85 of the unanswerable questions.

Usage: python benchmarks/calibration.py ../shared/data [--encoder e5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from public_sets import every_set
from retrieval import curve

from faqsearch import calibration, load_faqs
from faqsearch.build import build_index
from faqsearch.encoders import get_encoder
from faqsearch.evaluation import evaluate, load_queries
from faqsearch.search import FAQSearch
from faqsearch.vectorcache import encode_cached

SETS = ("own evaluation", "own chat", "own long", "clinc150-N20", "banking77-N20", "tatoeba-q-dev")
SPREAD_FLOOR = 0.01
PRODUCT_FEATURES = calibration.features


def local(ranking) -> np.ndarray:
    """Score and margin in units of the spread of the retrieved cosines, the score above their mean."""
    base = PRODUCT_FEATURES(ranking)
    spread = max(float(ranking.retrieved.std()), SPREAD_FLOOR) if len(ranking.retrieved) else SPREAD_FLOOR
    mean = float(ranking.retrieved.mean()) if len(ranking.retrieved) else 0.0
    return np.stack([(base[:, 0] - mean) / spread, base[:, 1] / spread], axis=1)


# name -> (feature function or None for the product's, share of weight on answerable questions)
VARIANTS = {
    "score, margin; 70% answerable": (None, 0.7),
    "score, margin; 80% answerable": (None, 0.8),
    "score, margin; 90% answerable": (None, 0.9),
    "local z, margin; 80% answerable": (local, 0.8),
}


class CachedEncoder:
    """The encoder, with question vectors cached on disk: variants differ only in calibration."""

    def __init__(self, encoder):
        self.encoder = encoder

    def __getattr__(self, name):
        return getattr(self.encoder, name)

    def encode(self, texts, languages):
        return encode_cached(self.encoder, texts, languages, "bench-questions")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--encoder", default="e5")
    args = parser.parse_args()
    encoder = get_encoder(args.encoder)
    print("| variant | set | ECE | answered right @0.5 | rejected @0.5 | best right with >= 0.85 rejected |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for bench in every_set(args.data, Path(tmp)):
            if bench.name not in SETS:
                continue
            faq = load_faqs(bench.faq)
            queries = load_queries(bench.queries)
            folder = Path(tmp) / "indexes" / bench.name.replace(" ", "-")
            for name, (features, share) in VARIANTS.items():
                calibration.features, calibration.ANSWERABLE_SHARE = features or PRODUCT_FEATURES, share
                built = build_index(faq, encoder, folder)  # re-embeds nothing after the first variant
                report = evaluate(FAQSearch(built.index, CachedEncoder(encoder)), queries)
                o = report.overall
                best = max((right for _, rejected, _, right in curve(report) if rejected >= 0.85), default=float("nan"))
                rejected = "-" if not o.unanswerable else f"{o.rejected:.3f}"
                print(
                    f"| {name} | {bench.name} | {report.expected_calibration_error:.3f} | {o.answered_correctly:.3f} "
                    f"| {rejected} | {best:.3f} |",
                    flush=True,
                )
            calibration.features = PRODUCT_FEATURES


if __name__ == "__main__":
    main()
