"""Public data turned into FAQ files and labelled question files, in a temporary folder.

Nobody on this project wrote these sets, which is the point: scoring and calibration choices
are made on them together with the project's own question files.
- banking77 / clinc150 (`../shared/data/intents`): one entry per intent whose phrasings are N of
  its training utterances (N = 5, 20 or all: the first N in file order); the test utterances
  are the questions, and clinc150's 1,000 out-of-scope test queries are expected to get no match.
- tatoeba-q (`../shared/data/parallel/tatoeba-challenge`): English questions (ending in "?")
  become single-phrasing entries, their translations in LANGUAGES are the questions. Each
  English sentence falls in the `dev` or the `validation` half by a hash of its text, so a choice
  made on one half can be checked on the other.
- clinc150-N20+tatoeba-q-validation: both as one FAQ, asked both sets' questions, and the dev
  half's Tatoeba questions, whose English is not in the FAQ, expecting no match. Its
  multi-phrasing entries let the build fit its confidence for other languages (on simulated
  translations), and the Tatoeba questions check that fit on real ones, answerable or not.
- tatoeba-paraphrases (`parallel/tatoeba-challenge`): English questions that share a
  translation in some language are paraphrases of each other ("How old is she?" / "What is her
  age?"); one of each group is a single-phrasing entry, the others are its English questions and
  the entry's translations in LANGUAGES its questions in other languages (one half, as above).
- the project's own: faqs/en.yaml with tests/queries.yaml (evaluation), tests/data/chat_queries.yaml
  (chat) and tests/data/queries.yaml (long).
- general questions (no-match): sentences of parallel/ held out of faqsearch's background corpus
  (faqsearch.background.held_out), in English and GENERAL languages, all expecting no match:
  Tatoeba-Challenge questions (short, everyday) and FLORES-200 sentences (encyclopedic);
- intents with a third left out (no-match): banking77 / clinc150 whose every third intent is not
  in the FAQ, its test questions expecting no match (in-domain questions the FAQ does not cover).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from faqsearch.background import held_out
from faqsearch.publicdata import FLORES, ISO1, half

ROOT = Path(__file__).resolve().parent.parent
# Tatoeba-Challenge codes of the languages asked (ISO 639-1 by publicdata.ISO1, as the labelled
# question files use): 24 languages the encoders were trained on, from high-resource to low.
LANGUAGES = (
    "deu", "fra", "spa", "ita", "por", "rus", "tur", "jpn", "nld", "pol", "ces", "hun", "ukr", "fin", "dan", "swe",
    "ell", "ara", "heb", "bul", "ron", "hin", "cmn_Hans", "mar",
)  # fmt: skip
PER_LANGUAGE = 150  # questions per language in each half
# LANGUAGES and 13 more with >= 40 held-out questions each
GENERAL = (*LANGUAGES, "kor", "vie", "ind", "lit", "srp_Cyrl", "slv", "pes", "ben", "mkd", "nob", "isl", "tgl", "epo")
GENERAL_PER_LANGUAGE = 50
GENERAL_MAX_CHARS = 200  # as the background corpus: longer is not what a bot is asked


@dataclass(frozen=True)
class Benchmark:
    name: str
    faq: Path
    queries: Path

    def entries(self) -> list[dict]:
        """The FAQ's entries as written in its YAML."""
        return yaml.safe_load(self.faq.read_text(encoding="utf-8"))["faqs"]

    def asked(self) -> list[dict]:
        """The labelled questions as written in their YAML."""
        return yaml.safe_load(self.queries.read_text(encoding="utf-8"))["queries"]


def _write(folder: Path, name: str, entries: list[dict], queries: list[dict]) -> Benchmark:
    faq, asked = folder / f"{name}.faq.yaml", folder / f"{name}.queries.yaml"
    faq.write_text(yaml.safe_dump({"language": "en", "faqs": entries}, allow_unicode=True, sort_keys=False))
    asked.write_text(yaml.safe_dump({"queries": queries}, allow_unicode=True, sort_keys=False))
    return Benchmark(name, faq, asked)


def _id(intent: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", intent)


def _intent_entries(train: list[tuple[str, str]], n: int | None) -> list[dict]:
    by_intent: dict[str, list[str]] = {}
    for text, intent in train:
        texts = by_intent.setdefault(intent, [])
        if text.casefold() not in {t.casefold() for t in texts}:
            texts.append(text)
    entries, seen = [], set()
    for intent, texts in by_intent.items():
        texts = [t for t in texts if t.casefold() not in seen][:n]  # a phrasing may point to one entry only
        seen.update(t.casefold() for t in texts)
        entries.append({"id": _id(intent), "question": texts[0], "alternatives": texts[1:], "answer": f"({intent})"})
    return entries


def intent_splits(data: Path) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """The (utterance, intent) pairs of banking77 (splits train, test) and clinc150 (train, val,
    test, and oos_test: its out-of-scope queries), as the files under `data`/intents hold them."""
    banking = {}
    for split in ("train", "test"):
        with open(data / "intents" / "banking77" / f"{split}.csv", encoding="utf-8") as f:
            banking[split] = [(row["text"], row["category"]) for row in csv.DictReader(f)]
    clinc = json.loads((data / "intents" / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    return {"banking77": banking, "clinc150": {split: [(t, i) for t, i in clinc[split]] for split in clinc}}


def intents(data: Path, folder: Path, n: int | None) -> list[Benchmark]:
    """banking77 and clinc150 with N phrasings per intent (None: all)."""
    label = "all" if n is None else str(n)
    splits = intent_splits(data)
    banking = _write(
        folder,
        f"banking77-N{label}",
        _intent_entries(splits["banking77"]["train"], n),
        [{"question": t, "expected": _id(i), "language": "en"} for t, i in splits["banking77"]["test"]],
    )
    clinc = splits["clinc150"]
    questions = [{"question": t, "expected": _id(i), "language": "en"} for t, i in clinc["test"]]
    questions += [{"question": t, "expected": "none", "language": "en"} for t, _ in clinc["oos_test"]]
    return [banking, _write(folder, f"clinc150-N{label}", _intent_entries(clinc["train"], n), questions)]


def both_intent_sets(data: Path, folder: Path) -> Benchmark:
    """banking77 and clinc150 as one FAQ with every training utterance (227 entries, ~25k
    phrasings), asked both sets' in-scope test utterances: a real FAQ for benchmarks/scale.py."""
    sets = intents(data, folder, None)
    entries, queries = [], []
    for prefix, bench in zip(("bank", "clinc"), sets, strict=True):
        for entry in bench.entries():
            entries.append({**entry, "id": f"{prefix}-{entry['id']}"})
        for query in bench.asked():
            if query["expected"] != "none":
                queries.append({**query, "expected": f"{prefix}-{query['expected']}"})
    seen: set[str] = set()
    for entry in entries:  # a phrasing may point to one entry only, across the two sets too
        kept = [p for p in [entry["question"], *entry["alternatives"]] if p.casefold() not in seen]
        seen.update(p.casefold() for p in kept)
        entry["question"], entry["alternatives"] = kept[0], kept[1:]
    return _write(folder, "banking77+clinc150-all", entries, queries)


def tatoeba_questions(data: Path, folder: Path, which: str) -> Benchmark:
    """English questions as entries, their translations in LANGUAGES as questions (one half)."""
    pairs_dir = data / "parallel" / "tatoeba-challenge"
    entries: dict[str, str] = {}  # casefolded English -> entry id
    first: dict[str, str] = {}
    queries = []
    for code in LANGUAGES:
        language = ISO1[code]
        english = (pairs_dir / f"{code}-eng.eng").read_text(encoding="utf-8").splitlines()
        other = (pairs_dir / f"{code}-eng.{code}").read_text(encoding="utf-8").splitlines()
        taken = 0
        for en, xx in zip(english, other, strict=True):
            en, xx = en.strip(), xx.strip()
            if not en.endswith("?") or not xx or half(en.casefold()) != which or taken >= PER_LANGUAGE:
                continue
            key = en.casefold()
            if key not in entries:
                entries[key] = f"q{len(entries)}"
                first[key] = en
            queries.append({"question": xx, "expected": entries[key], "language": language})
            taken += 1
    faq = [{"id": i, "question": first[k], "answer": "(answer)"} for k, i in entries.items()]
    return _write(folder, f"tatoeba-q-{which}", faq, queries)


def _normalized(text: str) -> str:
    return re.sub(r"\W+", " ", text.casefold()).strip()


def tatoeba_paraphrases(data: Path, folder: Path, which: str) -> Benchmark:
    """English questions with a paraphrase (another English question sharing a translation in any
    Tatoeba-Challenge language) as single-phrasing entries, asked with their paraphrases and their
    translations in LANGUAGES (one half by hash of the entry's text)."""
    pairs_dir = data / "parallel" / "tatoeba-challenge"
    pairs, root = _paraphrase_groups(pairs_dir)
    english_of = {(code, _normalized(xx)): [] for code, _, xx in pairs}
    for code, en, xx in pairs:
        english_of[code, _normalized(xx)].append(en)
    members: dict[str, dict[str, None]] = {}
    for texts in english_of.values():
        for text in texts:
            members.setdefault(root(text), {})[text] = None
    entries, queries, ids = [], [], {}
    for texts in members.values():
        distinct = list({_normalized(t): t for t in texts}.values())
        if len(distinct) < 2 or half(_normalized(distinct[0])) != which:
            continue
        ids[distinct[0]] = f"p{len(entries)}"
        entries.append({"id": ids[distinct[0]], "question": distinct[0], "answer": "(answer)"})
        queries += [{"question": t, "expected": ids[distinct[0]], "language": "en"} for t in distinct[1:]]
    for code in LANGUAGES:
        english = (pairs_dir / f"{code}-eng.eng").read_text(encoding="utf-8").splitlines()
        other = (pairs_dir / f"{code}-eng.{code}").read_text(encoding="utf-8").splitlines()
        asked = {}
        for en, xx in zip(english, other, strict=True):
            if en.strip() in ids and xx.strip():
                asked.setdefault(en.strip(), xx.strip())  # one translation per entry and language
        queries += [{"question": x, "expected": ids[e], "language": ISO1[code]} for e, x in asked.items()]
    return _write(folder, f"tatoeba-paraphrases-{which}", entries, queries)


def few_with_alternatives(bench: Benchmark, folder: Path, every: int = 10) -> Benchmark:
    """`bench`'s FAQ with only the first phrasing of each entry but every `every`-th (in file
    order), which keeps all of its own: the shape of most real FAQs, asked the same questions."""
    entries = [e if i % every == 0 else {**e, "alternatives": []} for i, e in enumerate(bench.entries())]
    return _write(folder, f"{bench.name}-mixed", entries, bench.asked())


def one_phrasing(bench: Benchmark, folder: Path) -> Benchmark:
    """`bench`'s FAQ with only the first phrasing of each entry, asked the same questions."""
    entries = [{**e, "alternatives": []} for e in bench.entries()]
    return _write(folder, f"{bench.name} (one phrasing)", entries, bench.asked())


def general_questions(data: Path, folder: Path, which: str | None = None) -> dict[str, Path]:
    """Style -> a question file of general sentences held out of the background corpus, each
    language's and its English originals, all expecting no match; `which` keeps one half of them
    (by hash of the English, publicdata.half), so a choice made on "dev" is checked on "validation"."""
    pairs_dir, flores = data / "parallel" / "tatoeba-challenge", data / "parallel" / "flores200"
    flores_english = (flores / "eng_Latn.devtest").read_text(encoding="utf-8").splitlines()
    styles: dict[str, list[dict]] = {"tatoeba": [], "flores": []}
    english: dict[str, dict[str, None]] = {"tatoeba": {}, "flores": {}}
    for code in GENERAL:
        language = ISO1[code]
        en = (pairs_dir / f"{code}-eng.eng").read_text(encoding="utf-8").splitlines()
        xx = (pairs_dir / f"{code}-eng.{code}").read_text(encoding="utf-8").splitlines()
        kept = [(e.strip(), x.strip()) for e, x in zip(en, xx, strict=True) if e.strip().endswith("?") and x.strip()]
        kept = [(e, x) for e, x in kept if held_out(e) and len(x) <= GENERAL_MAX_CHARS and _in(which, e)]
        name = FLORES.get(language)
        other = (flores / f"{name}.devtest").read_text(encoding="utf-8").splitlines() if name else []
        other = other or [""] * len(flores_english)
        sentences = [
            (e.strip(), x.strip())
            for e, x in zip(flores_english, other, strict=True)
            if held_out(e.strip()) and x.strip() and len(x.strip()) <= GENERAL_MAX_CHARS and _in(which, e.strip())
        ]
        for style, rows in (("tatoeba", kept), ("flores", sentences)):
            for e, x in rows[:GENERAL_PER_LANGUAGE]:
                styles[style].append({"question": x, "expected": "none", "language": language})
                english[style][e] = None
    files = {}
    for style, queries in styles.items():
        queries += [{"question": e, "expected": "none", "language": "en"} for e in english[style]]
        files[style] = folder / f"general-{style}{'-' + which if which else ''}.queries.yaml"
        files[style].write_text(yaml.safe_dump({"queries": queries}, allow_unicode=True, sort_keys=False))
    return files


def _in(which: str | None, english: str) -> bool:
    """Whether a held-out general sentence falls in half `which` (None: either), by the second
    byte of its hash: the first already chose it as held out (background.held_out), so every one
    would fall in one half by publicdata.half."""
    second = hashlib.sha256(" ".join(english.casefold().split()).encode()).digest()[1]
    return which is None or ("dev" if second % 2 == 0 else "validation") == which


def intents_left_out(bench: Benchmark, folder: Path) -> Benchmark:
    """`bench` without every third of its intents (in file order): their questions expect no match
    (clinc150's out-of-scope queries are left out: this set is about in-domain questions)."""
    entries = bench.entries()
    out = {e["id"] for e in entries[2::3]}
    asked = [q for q in bench.asked() if q["expected"] != "none"]
    queries = [{**q, "expected": "none"} if q["expected"] in out else q for q in asked]
    return _write(folder, f"{bench.name}-third-out", [e for e in entries if e["id"] not in out], queries)


def combined(name: str, sets: list[Benchmark], folder: Path, unanswerable: Benchmark) -> Benchmark:
    """Several sets as one FAQ (their entry ids are distinct), asked all their questions, and the
    questions of `unanswerable` (whose entries are left out) expecting no match."""
    entries, queries = [], []
    for bench in sets:
        entries += bench.entries()
        queries += bench.asked()
    return _write(folder, name, entries, queries + [{**q, "expected": "none"} for q in unanswerable.asked()])


def own() -> list[Benchmark]:
    faq = ROOT / "faqs" / "en.yaml"
    return [
        Benchmark("own evaluation", faq, ROOT / "tests" / "queries.yaml"),
        Benchmark("own chat", faq, ROOT / "tests" / "data" / "chat_queries.yaml"),
        Benchmark("own long", faq, ROOT / "tests" / "data" / "queries.yaml"),
    ]


def every_set(data: Path, folder: Path) -> list[Benchmark]:
    twenty = intents(data, folder, 20)
    dev, validation = (tatoeba_questions(data, folder, half) for half in ("dev", "validation"))
    return [
        *own(),
        *intents(data, folder, 5),
        *twenty,
        dev,
        validation,
        combined("clinc150-N20+tatoeba-q-validation", [twenty[1], validation], folder, unanswerable=dev),
    ]


def _paraphrase_groups(pairs_dir: Path):
    """Every (code, English question, translation) pair of Tatoeba-Challenge, and `root`: English
    question -> its paraphrase group's (English questions sharing a translation in any language)."""
    english_of: dict[tuple[str, str], list[str]] = {}  # (language, translation) -> English questions
    pairs = []
    for english_file in sorted(pairs_dir.glob("*-eng.eng")):
        code = english_file.name.split("-")[0]
        english = english_file.read_text(encoding="utf-8").splitlines()
        other = (pairs_dir / f"{code}-eng.{code}").read_text(encoding="utf-8").splitlines()
        for en, xx in zip(english, other, strict=True):
            if en.strip().endswith("?") and xx.strip():
                english_of.setdefault((code, _normalized(xx)), []).append(en.strip())
                pairs.append((code, en.strip(), xx.strip()))
    group: dict[str, str] = {}  # union-find over English questions: paraphrases share a root

    def root(text: str) -> str:
        while group.setdefault(text, text) != text:
            text = group[text]
        return text

    for texts in english_of.values():
        for text in texts[1:]:
            group[root(text)] = root(texts[0])
    return pairs, root


def tatoeba_traffic(data: Path, folder: Path, entries: int = 600) -> Benchmark:
    """Customer traffic in many languages, from Tatoeba-Challenge: English questions that are
    paraphrases of each other (sharing a translation) form one single-phrasing entry (its first
    English question), asked with every distinct English paraphrase and every translation of any
    of them in LANGUAGES; only entries asked in some language other than English at least twice
    (where a label in that language can teach something), `entries` of them chosen by hash."""
    pairs, root = _paraphrase_groups(data / "parallel" / "tatoeba-challenge")
    asked: dict[str, dict[str, dict[str, str]]] = {}  # root -> language -> normalized -> text
    for code, en, xx in pairs:
        languages = asked.setdefault(root(en), {})
        languages.setdefault("en", {}).setdefault(_normalized(en), en)
        if code in LANGUAGES:
            languages.setdefault(ISO1[code], {}).setdefault(_normalized(xx), xx)
    roots = [r for r, by in asked.items() if any(len(t) >= 2 for lang, t in by.items() if lang != "en")]
    roots = sorted(roots, key=lambda r: hashlib.sha256(r.encode()).hexdigest())[:entries]
    faq, queries, seen = [], [], set()
    for i, r in enumerate(roots):
        faq.append({"id": f"t{i}", "question": r, "answer": "(answer)"})
        seen.add(_normalized(r))
        for language, texts in asked[r].items():
            queries += [
                {"question": t, "expected": f"t{i}", "language": language}
                for key, t in texts.items()
                if key not in seen
            ]
    return _write(folder, "tatoeba-traffic", faq, queries)
