"""What a rebuild's kept confidence fit costs the answers (rebuild.REFIT_AFTER), on public data.

A rebuild of a FAQ of more than calibration.SAMPLE phrasings keeps the previous confidence fit
(and updates the background nearness) while the phrasings changed since that fit are at most
REFIT_AFTER of them, as rebuild.kept_fit counts them: every (text, language, entry) of the old
FAQ or the new one that the other lacks, so a phrasing added or removed counts 1 and one reworded
or moved counts 2. Each public FAQ of more than 2,000 phrasings that public_sets.py makes
(banking77 and clinc150 with every training utterance, clinc150-N20) is built, edited as much as
that count allows, rebuilt into the same folder (the kept fit, checked kept: the rebuilt index's
calibration is the first build's with `changed` = the count) and built fresh into another (the
fresh fit), and both are asked the set's test questions (clinc150's out-of-scope ones expecting
no match) and the general questions held out of the background corpus (public_sets.
general_questions, validation half, 38 languages: all expecting no match; the nearness the kept
fit updates decides them) at the index's default threshold. The edits:
- reworded: phrasings chosen at random replaced in place by real utterances of the same intent
  that the FAQ does not hold and that are no test question (clinc150: its unused training
  utterances, then validation ones; banking77, which has no others: a reserve of training
  utterances chosen at random, left out of both builds' FAQ);
- added entry: an intent chosen at random left out of the first build and added at the end in the
  rebuild with as many of its phrasings as the count allows (the kept fit never saw it); its
  figures are also given on that intent's test questions alone.
Each edit is made --repeats times (other phrasings, another intent), each time with another seed
of the confidence fit's sample (calibration.sample's seed + the repeat, the same for the first
build and the fresh one), and the repeats' questions are pooled: a single fit's sample moves the
figures by points (--noise measures how much), more than 1% of edits may.
Figures: answered right and answered wrong (shares of the answerable questions), rejected (share
of the unanswerable ones), ECE (all questions of the row), kept fit / fresh fit, and the largest
gap between the two in points. `--noise` adds a third fit, the fresh build with yet another
sample seed, and the largest gap between it and the fresh fit: what two equally fresh fits differ
by. A confidence model whose weights or bias exceed DIVERGED has diverged (some samples make the
fit's Newton steps run away); where any run's fit did, a second row pools only the runs whose
compared fits did not. A second table gives each run: the count against what kept_fit allows,
whether the fit was kept, build seconds, the general questions rejected by the first build before
the edit and by each fit after it, and each fit's largest weight.
Every phrasing a FAQ may hold is embedded once (vectorcache.encode_cached) and looked up by text,
so no build embeds again; question vectors are cached as no_match.py caches them.

Usage: python benchmarks/kept_fit.py ../shared/data [--refit-after 0.005] [--repeats 3] [--only clinc] [--noise]
"""

from __future__ import annotations

import sys
import tempfile
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from no_match import CachedEncoder, _f, arguments
from public_sets import Benchmark, _id, _write, general_questions, intent_splits, intents

from faqsearch import calibration, load_faqs, rebuild
from faqsearch.build import build_index
from faqsearch.confidence import Calibration
from faqsearch.encoders import get_encoder
from faqsearch.evaluation import Figures, Outcome, evaluate, load_queries, reliability
from faqsearch.search import FAQSearch
from faqsearch.vectorcache import encode_cached

FITS = ("kept", "fresh", "other sample")  # the last with --noise only
OTHER = 1000  # --noise: the other fresh fit's sample seed, beyond the repeats'
# A confidence model with a weight or bias larger than this in absolute value has diverged (the
# fits seen are within +-10; a diverged one reached thousands): such runs are also shown apart
DIVERGED = 100


class PhrasingTable:
    """The encoder, with every phrasing a benchmark FAQ may hold embedded once and looked up by
    text: builds of FAQs that differ by a few phrasings embed nothing again (texts it lacks, and
    any not in English, go to the encoder)."""

    def __init__(self, encoder, texts: list[str]):
        self.encoder = encoder
        self.rows = {read_back(text): row for row, text in enumerate(texts)}
        self.vectors = encode_cached(encoder, texts, ["en"] * len(texts), "kept-fit-phrasings", progress=True)
        self.missed = 0

    def __getattr__(self, name):
        return getattr(self.encoder, name)

    def encode(self, texts, languages):
        pairs = zip(texts, languages, strict=True)
        rows = np.array([self.rows.get(read_back(t), -1) if lang == "en" else -1 for t, lang in pairs], int)
        vectors = self.vectors[np.maximum(rows, 0)] if len(rows) else np.zeros((0, self.dim), dtype=np.float32)
        missing = np.flatnonzero(rows < 0)
        if len(missing):
            self.missed += len(missing)
            vectors[missing] = self.encoder.encode([texts[i] for i in missing], [languages[i] for i in missing])
        return vectors


def utterances(data: Path) -> dict[str, dict[str, list[str]]]:
    """Set ("banking77", "clinc150") -> entry id -> the intent's utterances that are not test
    questions: training ones in file order, then (clinc150) validation ones."""
    splits = intent_splits(data)
    found: dict[str, dict[str, list[str]]] = {"banking77": {}, "clinc150": {}}
    for name, pairs in (
        ("banking77", splits["banking77"]["train"]),
        ("clinc150", [*splits["clinc150"]["train"], *splits["clinc150"]["val"]]),
    ):
        for text, intent in pairs:
            found[name].setdefault(_id(intent), []).append(text)
    return found


def yaml_queries(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["queries"]


def phrasings(entries: list[dict]) -> list[str]:
    return [text for entry in entries for text in [entry["question"], *entry["alternatives"]]]


def with_phrasings(entry: dict, texts: list[str]) -> dict:
    return {**entry, "question": texts[0], "alternatives": texts[1:]}


def read_back(text: str) -> str:
    """A phrasing as a FAQ file reads it back (yamlfile.Checker.string: whitespace collapsed)."""
    return " ".join(text.split())


def changed(before: list[dict], after: list[dict]) -> int:
    """rebuild.kept_fit's count of the phrasings changed between two FAQs (all in English)."""
    rows = [
        {(read_back(t), e["id"]) for e in faq for t in [e["question"], *e["alternatives"]]} for faq in (before, after)
    ]
    return len(rows[0] ^ rows[1])


@dataclass(frozen=True)
class Edit:
    """A FAQ before and after an edit, and the entry the edit added (None: reworded)."""

    name: str
    before: list[dict]
    after: list[dict]
    added: str | None = None


def reworded(bench: Benchmark, spare: dict[str, list[str]], asked: set[str], rng: np.random.Generator) -> Edit:
    """`bench`'s FAQ with as many phrasings as a kept fit allows replaced in place by unused real
    utterances of their intent (a reserve of its own phrasings left out of both FAQs where the set
    has none to spare)."""
    entries = [with_phrasings(e, [e["question"], *e["alternatives"]]) for e in bench.entries()]
    seen = {read_back(t).casefold() for t in phrasings(entries)} | asked
    unused: dict[str, list[str]] = {}
    for entry in entries:
        texts = []
        for text in spare.get(entry["id"], []):
            if read_back(text).casefold() not in seen:
                texts.append(text)
                seen.add(read_back(text).casefold())
        unused[entry["id"]] = [texts[i] for i in rng.permutation(len(texts))]
    size = len(phrasings(entries))
    if sum(map(len, unused.values())) < int(rebuild.REFIT_AFTER * size / 2):  # banking77: a reserve
        rows = [(i, j) for i, e in enumerate(entries) for j in range(1, 1 + len(e["alternatives"]))]
        reserve = {rows[r] for r in rng.permutation(len(rows))[: int(rebuild.REFIT_AFTER * size / 2)]}
        for i, entry in enumerate(entries):
            texts = [entry["question"], *entry["alternatives"]]
            unused[entry["id"]] += [t for j, t in enumerate(texts) if (i, j) in reserve]
            entries[i] = with_phrasings(entry, [t for j, t in enumerate(texts) if (i, j) not in reserve])
    count = int(rebuild.REFIT_AFTER * len(phrasings(entries)) / 2)  # each rewording counts 2
    after = [[e["question"], *e["alternatives"]] for e in entries]
    rows = [(i, j) for i, texts in enumerate(after) for j in range(len(texts))]
    done = 0
    for r in rng.permutation(len(rows)):
        i, j = rows[r]
        if done == count:
            break
        if unused[entries[i]["id"]]:
            after[i][j] = unused[entries[i]["id"]].pop()
            done += 1
    return Edit("reworded", entries, [with_phrasings(e, t) for e, t in zip(entries, after, strict=True)])


def added_entry(bench: Benchmark, left_out: str) -> Edit:
    """`bench`'s FAQ without the entry `left_out`, and with it added at the end with as many of its
    first phrasings as a kept fit allows."""
    entries = bench.entries()
    before = [e for e in entries if e["id"] != left_out]
    entry = next(e for e in entries if e["id"] == left_out)
    texts, size = [entry["question"], *entry["alternatives"]], len(phrasings(before))
    count = min(len(texts), int(rebuild.REFIT_AFTER * size / (1 - rebuild.REFIT_AFTER)) + 1)
    while count > rebuild.REFIT_AFTER * (size + count):  # kept_fit's test, exactly
        count -= 1
    return Edit(f"added entry `{left_out}`", before, [*before, with_phrasings(entry, texts[:count])], left_out)


@contextmanager
def sample_seed(offset: int):
    """calibration.sample drawing with its seed + `offset` (the build's and the fit's draws alike)."""
    original = calibration.sample
    calibration.sample = lambda phrasings, seed=0: original(phrasings, seed + offset)
    try:
        yield
    finally:
        calibration.sample = original


@dataclass
class Run:
    """One edit's builds: the kept fit's rebuild, the fresh fit's build(s), and whether it was kept."""

    edit: Edit
    changed: int
    allowed: float
    kept: str  # how the rebuild's calibration compares with the first build's
    seconds: dict[str, float]  # first, rebuild (kept), fresh
    outcomes: dict[str, dict[str, list[Outcome]]]  # fit -> question set -> outcomes ("first": general only)
    weights: dict[str, float]  # fit -> the largest weight of its confidence models, in absolute value

    def sane(self, *fits: str) -> bool:
        """Whether none of these fits diverged (DIVERGED)."""
        return all(self.weights[fit] <= DIVERGED for fit in fits)


def run_edit(
    edit: Edit, seed: int, bench: Benchmark, general: Path, table, questions, folder: Path, noise: bool
) -> Run:
    """Build `edit.before` (asked the general questions before the edit), rebuild `edit.after`
    into the same folder and build it fresh into another, every confidence fit drawing its sample
    with calibration.sample's seed + `seed` (with --noise, once more with another seed); ask each
    the questions."""
    slug = f"{bench.name}-{seed}-{edit.added or 'reworded'}"
    faqs = [
        _write(folder, f"{slug}-{when}", faq, []).faq for when, faq in (("before", edit.before), ("after", edit.after))
    ]
    seconds, built, outcomes = {}, {}, {}
    steps = [("first", faqs[0], "kept", seed), ("kept", faqs[1], "kept", seed), ("fresh", faqs[1], "fresh", seed)]
    for label, faq, where, offset in steps + ([("other sample", faqs[1], "other", seed + OTHER)] if noise else []):
        started = time.perf_counter()
        with sample_seed(offset):
            built[label] = build_index(load_faqs(faq), table, folder / "indexes" / slug / where)
        seconds[label] = time.perf_counter() - started
        asked = {"general": general} if label == "first" else {"test": bench.queries, "general": general}
        search = FAQSearch(built[label].index, questions)
        ids = {e.id for e in search.index.entries}
        outcomes[label] = {kind: evaluate(search, load_queries(path, ids)).outcomes for kind, path in asked.items()}
    count = changed(edit.before, edit.after)
    first, kept, fresh = (built[k].index.manifest.calibration for k in ("first", "kept", "fresh"))
    if kept == replace(first, changed=count) and count > 0:
        verdict = f"yes (changed {kept.changed})"
    elif kept == replace(first, changed=kept.changed):
        verdict = f"kept, but changed {kept.changed} != {count}"
    else:
        verdict = "NO: refitted"
    if fresh.changed != 0 or fresh == replace(first, changed=0):
        verdict += "; fresh fit NOT fresh"
    weights = {label: largest_weight(b.index.manifest.calibration) for label, b in built.items()}
    return Run(edit, count, rebuild.REFIT_AFTER * len(phrasings(edit.after)), verdict, seconds, outcomes, weights)


def largest_weight(fit: Calibration) -> float:
    return max(abs(w) for model in (fit.same_language, fit.other_languages) for w in [*model.weights, model.bias])


def figures(outcomes: list[Outcome]) -> list[float]:
    """answered right, answered wrong, rejected, ECE."""
    f = Figures.of(outcomes)
    answerable = [o for o in outcomes if o.answerable]
    wrong = float(np.mean([o.matched and not o.correct for o in answerable])) if answerable else float("nan")
    return [f.answered_correctly, wrong, f.rejected, reliability(outcomes)[1] if outcomes else float("nan")]


def questions_of(run: Run, group: str, fit: str) -> list[Outcome]:
    """The outcomes of one group of questions ("test", "added", "general") under one fit."""
    asked = run.outcomes[fit]["general" if group == "general" else "test"]
    return [o for o in asked if o.query.expected == run.edit.added] if group == "added" else asked


def row(name: str, edit: str, group: str, runs: list[Run], sane: bool = False) -> str:
    """One line of the table: each figure under every fit, the largest kept-fresh gap in points,
    and (--noise) the largest fresh-other sample one. `sane`: kept and fresh pooled over the runs
    where neither they nor the first build diverged, fresh and other sample over those where
    neither of them did (the edit's name says how many of each)."""
    fits = [fit for fit in FITS if fit in runs[0].outcomes]
    pair = [run for run in runs if not sane or run.sane("first", "kept", "fresh")]
    noise = [run for run in runs if not sane or run.sane("fresh", "other sample")] if len(fits) > 2 else []
    if sane:
        edit += f", without a diverged fit: x{len(pair)}" + (f" (other sample x{len(noise)})" if len(fits) > 2 else "")
    per_fit = {fit: figures([o for run in pair for o in questions_of(run, group, fit)]) for fit in fits[:2]}
    nan = [float("nan")] * 4
    other = figures([o for run in noise for o in questions_of(run, group, "other sample")]) if noise else nan
    fresh = figures([o for run in noise for o in questions_of(run, group, "fresh")]) if noise else nan
    per_fit |= {"other sample": other} if len(fits) > 2 else {}
    cells = [" / ".join(_f(per_fit[fit][k]) for fit in fits) for k in range(4)]
    gaps = [gap(per_fit["kept"], per_fit["fresh"])] + ([gap(fresh, other)] if len(fits) > 2 else [])
    asked = sum(len(questions_of(run, group, "kept")) for run in pair)
    return f"| {name} | {edit} | {GROUPS[group]} | {asked} | {' | '.join(cells)} | {' | '.join(gaps)} |"


def gap(a: list[float], b: list[float]) -> str:
    """The largest difference between two fits' figures, in points (ECE included)."""
    gaps = [abs(x - y) * 100 for x, y in zip(a, b, strict=True) if x == x and y == y]
    return f"{max(gaps):.1f}" if gaps else "-"


GROUPS = {"test": "test", "added": "added intent's test", "general": "general (no match)"}


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--refit-after", type=float, help="set faqsearch.rebuild.REFIT_AFTER (default: as shipped)")
    parser.add_argument("--repeats", type=int, default=3, help="each edit this many times (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise", action="store_true", help="also a fresh fit with another calibration sample")
    args = parser.parse_args()
    if args.refit_after is not None:
        rebuild.REFIT_AFTER = args.refit_after
    started = time.perf_counter()
    encoder = get_encoder(args.encoder)
    settings = ", ".join(args.set) or "as shipped"
    print(f"encoder {args.encoder}; REFIT_AFTER {rebuild.REFIT_AFTER}; settings: {settings}; seed {args.seed}\n")
    spare = utterances(args.data)
    everything = list(dict.fromkeys(t for by_intent in spare.values() for ts in by_intent.values() for t in ts))
    table, questions = PhrasingTable(encoder, everything), CachedEncoder(encoder)
    shown = [fit for fit in FITS if args.noise or fit != "other sample"]
    header = (
        f"| set | edit | questions | asked | answered right ({' / '.join(shown)}) | answered wrong | rejected | ECE "
    )
    header += "| largest gap kept-fresh, points |" + (" fresh-other sample |" if args.noise else "")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    details = [
        "| set | edit | sample seed | phrasings after | changed / allowed | kept? | first build s | rebuild s "
        f"| fresh build s | general rejected (first / {' / '.join(shown)}) | largest weight (the same fits) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        general = general_questions(args.data, folder, "validation")
        general_file = folder / "general.queries.yaml"
        asked_general = [q for path in general.values() for q in yaml_queries(path)]
        general_file.write_text(yaml.safe_dump({"queries": asked_general}, allow_unicode=True, sort_keys=False))
        for bench in [*intents(args.data, folder, None), intents(args.data, folder, 20)[1]]:
            if (args.only and args.only not in bench.name) or len(phrasings(bench.entries())) <= calibration.SAMPLE:
                continue
            source = spare[bench.name.split("-")[0]]
            asked = {read_back(q["question"]).casefold() for q in bench.asked()}
            rng = np.random.default_rng([args.seed, zlib.crc32(bench.name.encode())])
            ids = [e["id"] for e in bench.entries()]
            left_out = [ids[i] for i in rng.choice(len(ids), args.repeats, replace=False)]
            edits = {
                "reworded": [reworded(bench, source, asked, rng) for _ in range(args.repeats)],
                "added entry": [added_entry(bench, entry) for entry in left_out],
            }
            for name, group in edits.items():
                runs = [
                    run_edit(edit, seed, bench, general_file, table, questions, folder, args.noise)
                    for seed, edit in enumerate(group)
                ]
                for seed, run in enumerate(runs):
                    rejected = " / ".join(_f(Figures.of(run.outcomes[fit]["general"]).rejected) for fit in run.outcomes)
                    details.append(
                        f"| {bench.name} | {run.edit.name} | +{seed} | {len(phrasings(run.edit.after)):,} "
                        f"| {run.changed} / {run.allowed:.1f} | {run.kept} | {run.seconds['first']:.1f} "
                        f"| {run.seconds['kept']:.1f} | {run.seconds['fresh']:.1f} | {rejected} "
                        f"| {' / '.join(f'{w:.1f}' for w in run.weights.values())} |"
                    )
                    print(details[-1], file=sys.stderr, flush=True)
                diverged = not all(run.sane(*run.weights) for run in runs)
                for kind in ("test", "added", "general") if group[0].added else ("test", "general"):
                    lines.append(row(bench.name, f"{name}, x{len(runs)}", kind, runs))
                    if diverged:
                        lines.append(row(bench.name, f"{name}, x{len(runs)}", kind, runs, sane=True))
                    print(lines[-1], file=sys.stderr, flush=True)
    print("\n".join(lines))
    print()
    print("\n".join(details))
    print(f"\nphrasings not in the table (embedded again): {table.missed}; {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
