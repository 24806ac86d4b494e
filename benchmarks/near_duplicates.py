"""Near-duplicate notes (issue #37): which rule for "these two entries' phrasings mean the same"
flags pairs that do, and few that do not?

Real questions labelled with what they mean, nobody here wrote them: banking77 and clinc150's
training utterances (their intent), QnA Maker's chit-chat knowledge bases (the answer a question
is given: `qna_chitchat_*.tsv`, and PersonalityChat's `Queries_Responses_*_QnAMaker.tsv` by its
`Scenario:` metadata) and, with real_faqs.py's sources, real FAQs' questions with the people's
rephrasings of them (their entry). Every pair of distinct questions of a set is a candidate: a
pair within one label is a true duplicate (one entry would answer both), a pair across labels a
false alarm (merging them would give one of them the wrong answer). Per rule: the pairs it
flags, the share of them that are true duplicates, and the pairs of labels it would tell an
author to merge wrongly (a FAQ with one entry per label, as `faqsearch build` checks one).

Similarities as the build sees them, with the default encoder: centered (the index's space: the
set's mean phrasing vector removed, re-normalized: retrieval.align) and plain (the encoder's own
cosine). `--build` also builds each set as a FAQ with one entry per label and counts the pairs of
entries its notes name, with whatever rule the faqsearch it runs has: run with the faqsearch of
commit 6264ff8 it counts the rule before issue #37 (an entry's pooled score plus the entry
classifier's vote >= 0.98, the asked phrasing's entry left out), which is not a pair similarity.

Usage: python benchmarks/near_duplicates.py ../shared/data [--chitchat FILE.tsv ...] [--real ROOT ...] [--build]
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from public_sets import intent_splits
from real_faqs import real_faq_sets

from faqsearch import load_faqs
from faqsearch.build import build_index, part_infos
from faqsearch.encoders import DEFAULT, get_encoder
from faqsearch.retrieval import Alignment, align
from faqsearch.vectorcache import encode_cached

FLOORS = (0.8, 0.95)  # centered, plain: pairs below both are flagged by no rule
BLOCK = 2048
WORD = re.compile(r"\w+")


@dataclass
class LabelledSet:
    name: str
    language: str
    texts: list[str]
    labels: list[str]


@dataclass
class Pairs:
    """The candidate pairs of one set (either similarity >= its FLOORS), as parallel arrays."""

    first: np.ndarray
    second: np.ndarray
    centered: np.ndarray
    plain: np.ndarray
    same: np.ndarray  # one label


def distinct(name: str, language: str, labelled: list[tuple[str, str]]) -> LabelledSet:
    """One text per casefolded question (a FAQ refuses a phrasing twice); a question given two
    labels says nothing and is left out."""
    labels: dict[str, set[str]] = {}
    first: dict[str, str] = {}
    for text, label in labelled:
        key = " ".join(text.split()).casefold()
        if key:
            labels.setdefault(key, set()).add(label)
            first.setdefault(key, " ".join(text.split()))
    kept = [key for key, found in labels.items() if len(found) == 1]
    return LabelledSet(name, language, [first[k] for k in kept], [next(iter(labels[k])) for k in kept])


def intent_sets(data: Path) -> list[LabelledSet]:
    splits = intent_splits(data)
    return [
        distinct("banking77 train", "en", splits["banking77"]["train"]),
        distinct("clinc150 train", "en", splits["clinc150"]["train"]),
    ]


def chitchat(path: Path) -> LabelledSet:
    """A QnA Maker chit-chat TSV: a question's label is its `Scenario:` metadata where it has
    one (PersonalityChat), else its answer (the editorial sets give one answer per meaning)."""
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")), delimiter="\t"))
    labelled = []
    for row in rows:
        scenario = [m for m in (row.get("Metadata") or "").split("|") if m.startswith("Scenario:")]
        labelled.append((row["Question"] or "", scenario[0] if scenario else row["Answer"] or ""))
    return distinct(path.stem, "en", labelled)


def real_sets(roots: list[Path]) -> list[LabelledSet]:
    """real_faqs.py's FAQs: each entry's question and the questions people asked for it."""
    found = []
    for bench in real_faq_sets(Path(tempfile.mkdtemp(prefix="near-duplicates-")), roots):
        entries = bench.entries()
        labelled = [(e["question"], e["id"]) for e in entries]
        labelled += [(q["question"], q["expected"]) for q in bench.asked()]
        found.append(distinct(bench.name, bench.asked()[0]["language"], labelled))
    return found


def pairs(labelled: LabelledSet, encoder) -> Pairs:
    """Every pair of the set's questions at either similarity >= its FLOORS, by blocks of matrix products."""
    languages = [labelled.language] * len(labelled.texts)
    plain = encode_cached(encoder, labelled.texts, languages, "near-duplicates", progress=True)
    parts = part_infos(encoder)
    centered = align(plain, languages, parts, [Alignment(plain.mean(0), {})])
    labels = np.unique(labelled.labels, return_inverse=True)[1]
    found: list[list[np.ndarray]] = [[], [], [], []]
    for start in range(0, len(plain), BLOCK):
        stop = min(start + BLOCK, len(plain))
        c = centered[start:stop] @ centered[start:].T
        p = plain[start:stop] @ plain[start:].T / len(parts)  # a fused encoder's parts are each unit
        rows, columns = np.nonzero(np.triu((c >= FLOORS[0]) | (p >= FLOORS[1]), k=1))
        for into, values in zip(
            found, (rows + start, columns + start, c[rows, columns], p[rows, columns]), strict=True
        ):
            into.append(values)
    first, second, c, p = (np.concatenate(v) for v in found)
    return Pairs(first, second, c, p, labels[first] == labels[second])


def words(text: str) -> set[str]:
    return set(WORD.findall(text.casefold()))


@dataclass
class Rule:
    name: str
    flags: Callable[[Pairs, np.ndarray, np.ndarray], np.ndarray]  # (pairs, fewest words, shared words) -> mask


RULES = [
    *(Rule(f"centered >= {t}", lambda p, n, j, t=t: p.centered >= t) for t in (0.9, 0.93, 0.95, 0.97, 0.98)),
    *(Rule(f"plain >= {t}", lambda p, n, j, t=t: p.plain >= t) for t in (0.97, 0.98, 0.99)),
    Rule("centered >= 0.95, both >= 3 words", lambda p, n, j: (p.centered >= 0.95) & (n >= 3)),
    Rule("centered >= 0.95, half the words shared", lambda p, n, j: (p.centered >= 0.95) & (j >= 0.5)),
    Rule("centered >= 0.93, plain >= 0.98", lambda p, n, j: (p.centered >= 0.93) & (p.plain >= 0.98)),
]


def measure(labelled: LabelledSet, found: Pairs) -> dict[str, tuple[int, int, int]]:
    """Rule -> (pairs flagged, of them true duplicates, label pairs flagged wrongly)."""
    vocabulary = [words(t) for t in labelled.texts]
    both = list(zip(found.first.tolist(), found.second.tolist(), strict=True))
    fewest = np.array([min(len(vocabulary[a]), len(vocabulary[b])) for a, b in both])
    shared = np.array(
        [len(vocabulary[a] & vocabulary[b]) / max(len(vocabulary[a] | vocabulary[b]), 1) for a, b in both]
    )
    results = {}
    for rule in RULES:
        flagged = rule.flags(found, fewest, shared)
        wrong = {
            tuple(sorted((labelled.labels[a], labelled.labels[b]))) for a, b in np.array(both)[flagged & ~found.same]
        }
        results[rule.name] = (int(flagged.sum()), int((flagged & found.same).sum()), len(wrong))
    return results


def build_notes(labelled: LabelledSet, encoder, folder: Path) -> int:
    """The pairs of entries `faqsearch build` says are near-duplicates, of the set written as a FAQ
    with one entry per label (every one of them a false alarm by the labels)."""
    entries: dict[str, list[str]] = {}
    for text, label in zip(labelled.texts, labelled.labels, strict=True):
        entries.setdefault(label, []).append(text)
    faq = [{"id": f"e{i}", "question": q[0], "alternatives": q[1:], "answer": f"answer {i}"} for i, q in
           enumerate(entries.values())]  # fmt: skip
    path = folder / f"{len(list(folder.iterdir()))}.yaml"
    path.write_text(yaml.safe_dump({"language": labelled.language, "faqs": faq}, allow_unicode=True), "utf-8")
    notes = build_index(load_faqs(path), encoder, folder / f"{path.stem}-index").notes
    listed = sum("have near-identical phrasings" in n for n in notes)
    more = [int(m[1]) for n in notes if (m := re.match(r"\.\.\. and (\d+) more pairs", n))]
    return listed + sum(more)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="the shared data folder (its intents/)")
    parser.add_argument("--chitchat", nargs="*", type=Path, default=[], help="QnA Maker chit-chat TSV files")
    parser.add_argument("--real", nargs="*", type=Path, default=[], help="real_faqs.py's sources (clones or mirrors)")
    parser.add_argument("--build", action="store_true", help="also build each set as a FAQ and count its notes")
    args = parser.parse_args()
    encoder = get_encoder(DEFAULT)
    sets = intent_sets(args.data) + [chitchat(p) for p in args.chitchat] + real_sets(args.real)
    folder = Path(tempfile.mkdtemp(prefix="near-duplicates-"))
    totals = {rule.name: np.zeros(3, dtype=int) for rule in RULES}
    print(
        f"encoder {encoder.name}; per rule: pairs flagged, share that are true duplicates, label pairs flagged wrongly"
    )
    for labelled in sets:
        print(f"\n{labelled.name} ({labelled.language}): {len(labelled.texts):,} questions, "
              f"{len(set(labelled.labels)):,} labels")  # fmt: skip
        if args.build:
            noted = build_notes(labelled, encoder, folder)
            print(f"  faqsearch build, one entry per label: {noted} pairs of entries noted")
        for name, (flagged, true, wrong) in measure(labelled, pairs(labelled, encoder)).items():
            totals[name] += (flagged, true, wrong)
            share = f"{100 * true / flagged:5.1f}%" if flagged else "    -"
            print(f"  {name:42s} {flagged:7,} {share} {wrong:5,}")
    print("\nall sets")
    for name, (flagged, true, wrong) in totals.items():
        print(f"  {name:42s} {flagged:7,} {100 * true / max(flagged, 1):5.1f}% {wrong:5,}")


if __name__ == "__main__":
    main()
