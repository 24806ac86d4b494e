"""Write the shipped background corpus (faqsearch/background.py) from public parallel data.

    python training/background.py ../shared/data/parallel --encoder e5-aligned --encoder e5

The corpus: for each language faqsearch detects, up to --per-language Tatoeba-Challenge
sentences (short, everyday, many questions) and --flores FLORES-200 sentences (encyclopedic),
plus English ones; never a sentence whose English side is held out (background.held_out), so
benchmarks ask general questions the corpus has never seen. One English sentence lends at most
GROUP translations, so the corpus covers many meanings rather than one meaning in many languages.
Writes faqsearch/data/background/corpus.npz, then each --encoder's vectors (int8) beside it;
e5 embeds the ~20k sentences in about 2 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from faqsearch import background
from faqsearch.encoders import get_encoder
from faqsearch.publicdata import CODES, FLORES
from training import parallel

GROUP = 3  # at most this many sentences per English source (itself or its translations)
MAX_CHARS = 200  # longer sentences are not questions a bot gets, and cost the encoder most


def _usable(text: str, english: str) -> bool:
    return bool(text) and len(text) <= MAX_CHARS and not background.held_out(english)


def select(root: Path, per_language: int, flores: int, english: int, seed: int) -> list[tuple[str, str, str]]:
    """(text, ISO 639-1 language, its English source) of the corpus, in a fixed order."""
    rng = random.Random(seed)
    used: dict[str, int] = {}
    rows: list[tuple[str, str, str]] = []

    def take(candidates: list[tuple[str, str, str]], quota: int) -> None:
        rng.shuffle(candidates)
        for text, language, en in candidates:
            if quota == 0:
                break
            key = en.casefold()
            if used.get(key, 0) < GROUP:
                used[key] = used.get(key, 0) + 1
                rows.append((text, language, en))
                quota -= 1

    pairs = parallel.read(root)
    for language, codes in CODES.items():
        found = [(p.text, language, p.english) for code in codes.split() for p in pairs.get(code, [])]
        found = [row for row in dict.fromkeys(found) if _usable(row[0], row[2])]
        before = len(rows)
        take([row for row in found if row[2].endswith("?")], per_language // 2)  # what a bot is asked
        take(found, per_language - (len(rows) - before))
    sources = sorted({p.english for ps in pairs.values() for p in ps if _usable(p.english, p.english)})
    take([(en, "en", en) for en in sources if en.endswith("?")], english // 2)
    take([(en, "en", en) for en in sources], english - sum(r[1] == "en" for r in rows))
    folder = root / "flores200"
    flores_english = (folder / "eng_Latn.devtest").read_text(encoding="utf-8").splitlines()
    for language, name in [*FLORES.items(), ("en", "eng_Latn")]:
        texts = (folder / f"{name}.devtest").read_text(encoding="utf-8").splitlines()
        found = [(t.strip(), language, e.strip()) for t, e in zip(texts, flores_english, strict=True)]
        take([row for row in found if _usable(row[0], row[2])], flores)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parallel", type=parallel.folder, help="../shared/data/parallel")
    parser.add_argument("--encoder", action="append", default=[], help="repeatable: write its vectors too")
    parser.add_argument("--per-language", type=int, default=250)
    parser.add_argument("--flores", type=int, default=20, help="FLORES-200 sentences per language")
    parser.add_argument("--english", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = select(args.parallel, args.per_language, args.flores, args.english, args.seed)
    texts, languages = [r[0] for r in rows], [r[1] for r in rows]
    group_of: dict[str, int] = {}
    groups = np.array([group_of.setdefault(r[2].casefold(), len(group_of)) for r in rows], dtype=np.int32)
    background.write_corpus(texts, languages, groups, vars(args) | {"parallel": None})
    print(f"{len(texts)} sentences in {len(set(languages))} languages, {len(group_of)} English sources", flush=True)
    corpus = background.corpus()
    for name in args.encoder:
        encoder = get_encoder(name)
        vectors = encoder.encode(corpus.texts, corpus.languages)
        background.write_vectors(encoder, corpus, vectors)
        stored = background.load(encoder).vectors[:]  # every row, as float32
        print(f"{name}: worst cosine to the unquantized vector {np.min((stored * vectors).sum(1)):.4f}", flush=True)


if __name__ == "__main__":
    main()
