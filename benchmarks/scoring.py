"""Scoring experiments on the labelled question files: each idea on and off, same vectors.

Every variant scores the example FAQ's entries for every labelled question from one set of
embeddings, so the only difference between rows is the scoring:
- nearest: an entry scores as its single nearest phrasing / mean: as its mean cosine over all
  its phrasings;
- raw / centered: cosines as the encoder gives them, or after subtracting the mean phrasing
  vector of the index (queries and phrasings alike) and re-normalizing;
- +language: the query first has its language's offset removed (the mean of the shipped
  off-topic sample in the query's detected language minus the one in the FAQ's language);
- +names: a lexical bonus for names, numbers and product codes the question shares with an entry
  (tokens of the FAQ text with a digit, an inner capital, or a capital not starting a sentence,
  weighted by how few entries mention them);
- +hubness: each entry's score minus its hubness (the mean of its 50 highest scores over the
  off-topic sample, CSLS-style), full or half, as the ranking score;
- +k directions: after the offsets, the top k principal directions of the off-topic sample's
  per-language means (directions that say which language a sentence is in) are projected out
  of queries and phrasings alike (the low-rank language subspace of Xie et al. 2022);
- +USE w: the shipped scoring with e5 and with USE, mixed (1 - w) e5 + w USE for questions
  detected in one of USE's 16 languages, e5 alone for others (how encoders/fused.py's weight
  was chosen; needs `.[use]`).

Reports accuracy@1 (overall, English, worst language, spread) and the AUC of the best score for
right answers against unanswerable questions (how well a threshold can separate them).

Usage: python benchmarks/scoring.py tests/queries.yaml [more files] [--encoder e5]
"""

from __future__ import annotations

import argparse
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np

from faqsearch import langid, load_faqs
from faqsearch.encoders import ENCODERS, get_encoder
from faqsearch.evaluation import NONE, load_queries
from faqsearch.offtopic import encode_sample

TOKEN = re.compile(r"[A-Za-z0-9]+")
SENTENCE_START = re.compile(r"(?:^|[.!?:;\"“”«»()]\s*|\n)")


def names_in(text: str) -> set[str]:
    starts = {m.end() for m in SENTENCE_START.finditer(text)}
    return {
        m.group().casefold()
        for m in TOKEN.finditer(text)
        if any(c.isdigit() for c in m.group())
        or any(c.isupper() for c in m.group()[1:])
        or (m.group()[0].isupper() and m.start() not in starts)
    }


def name_scores(entries, questions: list[str]) -> np.ndarray:
    """(questions, entries) in [0, 1]: IDF-weighted names a question shares with each entry."""
    per_entry = [names_in("\n".join((*e.phrasings, e.answer, *e.answers.values()))) for e in entries]
    mentions = Counter(n for names in per_entry for n in names)
    weights = [{n: math.log(len(entries) / mentions[n]) / math.log(len(entries)) for n in ns} for ns in per_entry]
    result = np.zeros((len(questions), len(entries)))
    for i, question in enumerate(questions):
        tokens = {t.casefold() for t in TOKEN.findall(question)}
        for j, w in enumerate(weights):
            result[i, j] = min(1.0, sum(w.get(t, 0.0) for t in tokens))
    return result


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def entry_scores(queries: np.ndarray, phrasings: np.ndarray, row_entry: np.ndarray, how: str) -> np.ndarray:
    cosines = queries @ phrasings.T
    entries = row_entry.max() + 1
    if how == "nearest":
        return np.stack([cosines[:, row_entry == e].max(1) for e in range(entries)], axis=1)
    return np.stack([cosines[:, row_entry == e].mean(1) for e in range(entries)], axis=1)


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Probability that a random right answer outscores a random unanswerable question."""
    if not len(positive) or not len(negative):
        return float("nan")
    return float(np.mean(positive[:, None] > negative[None, :]) + 0.5 * np.mean(positive[:, None] == negative[None, :]))


class Space:
    """An encoder's vectors of the FAQ's phrasings and of the shipped off-topic sample."""

    def __init__(self, encoder, faq) -> None:
        self.encoder = encoder
        texts = [p for e in faq.entries for p in e.phrasings]
        self.phrasings = encoder.encode(texts, [faq.language] * len(texts))
        self.sample = encode_sample(encoder)
        self.offsets = self.sample.language_offsets(faq.language)

    def shift(self, languages: list[str]) -> np.ndarray:
        return np.stack([self.offsets.get(x, np.zeros(self.encoder.dim)) for x in languages])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("queries", type=Path, nargs="+")
    parser.add_argument("--faq", default="faqs/en.yaml")
    parser.add_argument("--encoder", default="e5")
    parser.add_argument("--names-weight", type=float, default=0.1)
    args = parser.parse_args()
    faq = load_faqs(args.faq)
    space = Space(get_encoder(args.encoder), faq)
    use = Space(get_encoder("use"), faq) if ENCODERS["use"].unavailable_reason() is None else None
    row_entry = np.array([i for i, e in enumerate(faq.entries) for _ in e.phrasings])
    phrasings, sample, dim = space.phrasings, space.sample, space.encoder.dim
    ids = [e.id for e in faq.entries]
    for path in args.queries:
        queries = load_queries(path)
        detected = [langid.detect(q.question, prior=faq.language) for q in queries]
        labels = [q.language or d for q, d in zip(queries, detected, strict=True)]
        texts = [q.question for q in queries]
        vectors = space.encoder.encode(texts, detected)
        expected = np.array([ids.index(q.expected) if q.expected != NONE else -1 for q in queries])
        shift = space.shift(detected)
        bonus = name_scores(faq.entries, texts)
        center = phrasings.mean(0)
        off = unit(sample.vectors - space.shift(sample.languages))
        off_scores = entry_scores(unit(off - center), unit(phrasings - center), row_entry, "mean")
        hubness = -np.sort(-off_scores, axis=0)[:50].mean(0)
        codes = np.array(sample.languages)
        means = np.stack([sample.vectors[codes == x].mean(0) for x in dict.fromkeys(sample.languages)])
        directions = np.linalg.svd(means - means.mean(0), full_matrices=False)[2]
        variants = {
            "nearest, raw (plain nearest neighbour)": ("nearest", False, False, False, 0, 0),
            "mean, raw": ("mean", False, False, False, 0, 0),
            "nearest, centered": ("nearest", True, False, False, 0, 0),
            "mean, centered": ("mean", True, False, False, 0, 0),
            "mean, centered, +language (shipped)": ("mean", True, True, False, 0, 0),
            "mean, centered, +names": ("mean", True, False, True, 0, 0),
            "mean, centered, +language +names": ("mean", True, True, True, 0, 0),
            "mean, centered, +language +hubness": ("mean", True, True, False, 1, 0),
            "mean, centered, +language +half hubness": ("mean", True, True, False, 0.5, 0),
            **{
                f"mean, centered, +language +{k} directions": ("mean", True, True, False, 0, k)
                for k in (1, 4, 8, 16, 32)
            },
        }
        print(f"\n{path}: {len(queries)} questions, {args.encoder}\n")
        print("| scoring | acc@1 | en | worst language | max gap to en | AUC right vs none |")
        print("|---|---|---|---|---|---|")
        rows = {}
        for label, (how, centered, language, lexical, hub, k) in variants.items():
            q = unit(vectors - shift) if language else vectors
            p = phrasings
            if centered:
                q, p = unit(q - center), unit(p - center)
            keep = np.eye(dim) - directions[:k].T @ directions[:k]
            q, p = unit(q @ keep), unit(p @ keep)
            scores = entry_scores(unit(q), p, row_entry, how)
            if lexical:
                scores = scores + args.names_weight * bonus
            rows[label] = scores - hub * hubness
        if use is not None:
            shipped = rows["mean, centered, +language (shipped)"]
            use_center = use.phrasings.mean(0)
            use_vectors = unit(unit(use.encoder.encode(texts, detected) - use.shift(detected)) - use_center)
            use_scores = entry_scores(use_vectors, unit(use.phrasings - use_center), row_entry, "mean")
            reads = np.array([d in use.encoder.languages for d in detected])[:, None]
            for w in (0.1, 0.2, 0.25, 0.3, 0.4, 0.5):
                rows[f"shipped +USE {w}"] = np.where(reads, (1 - w) * shipped + w * use_scores, shipped)
        for label, scores in rows.items():
            report_row(label, scores, expected, labels)


def report_row(label: str, scores: np.ndarray, expected: np.ndarray, labels: list[str]) -> None:
    best = scores.argmax(1)
    top = scores.max(1)
    answerable = expected >= 0
    right = answerable & (best == expected)
    per_language = {
        lang: float(np.mean(right[[i for i, x in enumerate(labels) if x == lang and answerable[i]]]))
        for lang in sorted(set(labels))
        if any(x == lang and answerable[i] for i, x in enumerate(labels))
    }
    worst = min(per_language, key=per_language.get)
    english = per_language.get("en", float("nan"))
    print(
        f"| {label} | {right[answerable].mean():.3f} | {english:.3f} | {worst} {per_language[worst]:.3f} "
        f"| {english - per_language[worst]:.3f} | {auc(top[right], top[~answerable]):.3f} |"
    )


if __name__ == "__main__":
    main()
