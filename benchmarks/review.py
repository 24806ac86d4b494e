"""Learning from customers (issue #36): what labelling logged questions gains, per label spent.

Customer traffic is simulated from public data nobody here wrote, and the owner by the true
labels. Each set's questions are split by a hash of their text into a log (what customers asked,
up to LOG_PER_LANGUAGE per language) and a test half (held out, up to as many). Labels are chosen
from the log, per language, by:
- random: any logged questions;
- lowest confidence: the ones the index is least sure of;
- review: `faqsearch review`'s choice (faqsearch/review.py), each label also covering its group;
- review+confident: the same, plus every question answered with confidence >= review.CONFIDENT
  accepted with the entry it was answered with, unchecked (wrong ones included);
- `--choices "review+confident, language unrecorded"`: the same labels, every phrasing read as
  if in the FAQ's language (what recording each phrasing's language is worth);
then written into the FAQ (phrasings in their language, `none` as no_match), the FAQ rebuilt and
the test half asked. "everything" labels every logged question. Printed: accuracy@1 and
answered-right (mean over languages with >= MIN_TEST test questions) per labels spent, the share
of everything's gain each reaches, the precision of the suggested labels, of questions answered
with confidence >= review.CONFIDENT (what adding them automatically would add), and of the bot's
feedback, with customers who say "helped" when it did not, or the reverse, FEEDBACK_NOISE of the time.

Sets: banking77 and clinc150 (English; FAQ of their first 3 training utterances per intent; clinc
with its out-of-scope queries), tatoeba-traffic (one English question per entry, asked in 24
languages: public_sets.tatoeba_traffic), and the project's own evaluation questions (14 languages).

Usage: python benchmarks/review.py ../shared/data [--encoder e5-aligned] [--only NAME] [--set review.SPREAD=1]
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from no_match import CachedEncoder, arguments
from public_sets import Benchmark, intents, own, tatoeba_traffic

from faqsearch import load_faqs, review
from faqsearch.build import build_index
from faqsearch.encoders import get_encoder
from faqsearch.evaluation import NONE, LabelledQuery, evaluate
from faqsearch.faqs import FAQFile
from faqsearch.publicdata import half
from faqsearch.search import FAQSearch

LOG_PER_LANGUAGE = 300
MIN_TEST = 20
BUDGETS = (10, 30, 100)
CHOICES = ("random", "lowest", "review", "review+confident")  # and review+confident, language unrecorded
FEEDBACK_NOISE = 0.1

Label = tuple[str, str, str]  # question, language, entry id or none


def traffic(bench: Benchmark) -> tuple[list[LabelledQuery], list[LabelledQuery]]:
    """(log, test): the set's questions split by a hash of their text, capped per language."""
    log, test = [], []
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for q in bench.asked():
        side = "log" if half(" ".join(q["question"].casefold().split())) == "dev" else "test"
        language = q.get("language") or "en"
        if counts[side, language] < LOG_PER_LANGUAGE:
            counts[side, language] += 1
            (log if side == "log" else test).append(LabelledQuery(q["question"], q["expected"], language))
    return log, test


def with_labels(faq: FAQFile, labels: list[Label]) -> FAQFile:
    """`faq` with the labelled questions as phrasings of their entries and `none` ones as no_match."""
    known = {p.casefold() for e in faq.entries for p in e.phrasings} | {t.casefold() for t, _ in faq.no_match}
    added: dict[str, list[tuple[str, str]]] = defaultdict(list)
    no_match = list(faq.no_match)
    for text, language, entry in labels:
        if text.casefold() in known:
            continue
        known.add(text.casefold())
        (no_match.append((text, language)) if entry == NONE else added[entry].append((text, language)))
    entries = tuple(
        dataclasses.replace(
            e,
            alternatives=(*e.alternatives, *(t for t, _ in added[e.id])),
            languages=e.languages | {t: lang for t, lang in added[e.id] if lang != faq.language},
        )
        for e in faq.entries
    )
    return dataclasses.replace(faq, entries=entries, no_match=tuple(no_match))


def measure(search: FAQSearch, test: list[LabelledQuery]) -> tuple[float, float]:
    """Accuracy@1 and answered-right, each the mean over languages with MIN_TEST test questions."""
    report = evaluate(search, test)
    figures = [f for f in report.per_language.values() if f.answerable >= MIN_TEST]
    return float(np.mean([f.accuracy_at_1 for f in figures])), float(np.mean([f.answered_correctly for f in figures]))


def per_language(labels: list[tuple[float, Label]], budget: int) -> list[Label]:
    """The `budget` lowest-keyed labels of each language."""
    chosen, taken = [], defaultdict(int)
    for _, label in sorted(labels, key=lambda kl: kl[0]):
        if taken[label[1]] < budget:
            taken[label[1]] += 1
            chosen.append(label)
    return chosen


def simulate(bench: Benchmark, encoder, folder: Path, budgets: list[int], names: list[str]) -> None:
    faq = load_faqs(bench.faq)
    log, test = traffic(bench)
    built = build_index(faq, encoder, folder / "base")
    search = FAQSearch(built.index, encoder)
    answers = search.ask_many([q.question for q in log], k=3)
    truth = {" ".join(q.question.split()): q.expected for q in log}
    known = {p.casefold() for e in faq.entries for p in e.phrasings}
    fresh = [(q, a) for q, a in zip(log, answers, strict=True) if q.question.casefold() not in known]
    labelled = [(q.question, a.language, q.expected) for q, a in fresh]
    rng = np.random.default_rng(0)
    feedback = [_feedback(a, q.expected, rng) for q, a in fresh]
    base = measure(search, test)
    everything = measure(_rebuilt(faq, labelled, encoder, folder / "all"), test)
    print(f"\n### {bench.name}: {len(log)} logged, {len(test)} test questions, {len(faq.entries)} entries")
    print(f"nothing: accuracy@1 {base[0]:.3f}, answered right {base[1]:.3f}")
    print(f"everything ({len(labelled)} labels): accuracy@1 {everything[0]:.3f}, answered right {everything[1]:.3f}\n")
    print("| choice | labels per language | labels | accuracy@1 | answered right | share of the gain |")
    print("|---|---|---|---|---|---|")
    gain = everything[0] - base[0]
    for budget in budgets:
        keys = {
            "random": lambda: [rng.random() for _ in labelled],
            "lowest": lambda: [review.best_confidence(a) for _, a in fresh],
        }
        for name in names:
            if name.startswith("review"):
                labels = _reviewed(search, fresh, feedback, truth, budget, known)
                labels += _confident(fresh) if "confident" in name else []
                if name.endswith("unrecorded"):  # every phrasing read as the FAQ's language
                    labels = [(text, faq.language, entry) for text, _, entry in labels]
            else:
                labels = per_language(list(zip(keys[name](), labelled, strict=True)), budget)
            acc, right = measure(_rebuilt(faq, labels, encoder, folder / f"{name}-{budget}"), test)
            share = (acc - base[0]) / gain if gain > 0 else float("nan")
            print(f"| {name} | {budget} | {len(labels)} | {acc:.3f} | {right:.3f} | {share:.2f} |", flush=True)
    _precisions(search, fresh, feedback, known)


def _confident(fresh) -> list[Label]:
    """The questions answered with confidence >= review.CONFIDENT, labelled with the entry they
    were answered with (unchecked: what accepting them all at once adds, wrong ones included)."""
    return [
        (q.question, a.language, a.match.id)
        for q, a in fresh
        if a.match is not None and a.match.confidence >= review.CONFIDENT
    ]


def _reviewed(search, fresh, feedback, truth, budget, known) -> list[Label]:
    """review.choose's items labelled by their true label, each covering its group."""
    logged = [review.Logged(q.question, a.language, 1, f) for (q, a), f in zip(fresh, feedback, strict=True)]
    chosen = review.choose(search, logged, budget, known)
    labels = []
    for item in chosen.items:
        entry = truth[item.question]
        labels += [(item.question, item.language, entry), *((t, lang, entry) for t, lang in item.covers)]
    return labels


def _feedback(answer, expected: str, rng: np.random.Generator) -> str | None:
    """What a simulated customer tells the bot, as the label it suggests: the answered entry when
    it "helped" (truthfully, but FEEDBACK_NOISE of the time the reverse), the did-you-mean entry
    chosen (only the right one), else nothing."""
    if answer.match is not None:
        helped = (answer.match.id == expected) != (rng.random() < FEEDBACK_NOISE)
        return answer.match.id if helped else None
    offered = [h.id for h in answer.did_you_mean]
    return expected if expected in offered else None


def _precisions(search, fresh, feedback, known) -> None:
    confident = [(q, a) for q, a in fresh if a.match is not None and a.match.confidence >= review.CONFIDENT]
    right = sum(a.match.id == q.expected for q, a in confident)
    given = [(q, f) for (q, _), f in zip(fresh, feedback, strict=True) if f is not None]
    logged = [review.Logged(q.question, a.language, 1, f) for (q, a), f in zip(fresh, feedback, strict=True)]
    items = review.choose(search, logged, 30, known).items
    truth = {" ".join(q.question.split()): q.expected for q, _ in fresh}
    print(
        f"\nprecision: answered with confidence >= {review.CONFIDENT}: {right / max(len(confident), 1):.3f} "
        f"({len(confident)} questions); "
        f"bot feedback: {sum(q.expected == f for q, f in given) / max(len(given), 1):.3f} "
        f"({len(given)}); suggested labels of 30 per language: "
        f"{sum(truth[i.question] == i.suggested for i in items) / max(len(items), 1):.3f} ({len(items)})"
    )


def _rebuilt(faq: FAQFile, labels: list[Label], encoder, folder: Path) -> FAQSearch:
    return FAQSearch(build_index(with_labels(faq, labels), encoder, folder).index, encoder)


def sets(data: Path, folder: Path) -> list[Benchmark]:
    return [*intents(data, folder, 3), tatoeba_traffic(data, folder, 1500), own()[0]]


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=BUDGETS, help="labels per language")
    parser.add_argument("--choices", nargs="+", default=CHOICES, help=f"of {CHOICES}")
    args = parser.parse_args()
    encoder = CachedEncoder(get_encoder(args.encoder))
    print(f"encoder {args.encoder}; settings: {', '.join(args.set) or 'as shipped'}")
    with tempfile.TemporaryDirectory() as tmp:
        for bench in sets(args.data, Path(tmp)):
            if not args.only or args.only in bench.name:
                simulate(bench, encoder, Path(tmp) / bench.name.replace(" ", "_"), args.budgets, args.choices)


if __name__ == "__main__":
    main()
