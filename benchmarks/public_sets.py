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
- the project's own: faqs/en.yaml with tests/queries.yaml (evaluation), tests/data/chat_queries.yaml
  (chat) and tests/data/queries.yaml (long).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# Tatoeba-Challenge code -> ISO 639-1 (what the labelled question files use): 24 languages the
# encoders were trained on, from high-resource to low.
LANGUAGES = {
    "deu": "de", "fra": "fr", "spa": "es", "ita": "it", "por": "pt", "rus": "ru", "tur": "tr", "jpn": "ja",
    "nld": "nl", "pol": "pl", "ces": "cs", "hun": "hu", "ukr": "uk", "fin": "fi", "dan": "da", "swe": "sv",
    "ell": "el", "ara": "ar", "heb": "he", "bul": "bg", "ron": "ro", "hin": "hi", "cmn_Hans": "zh", "mar": "mr",
}  # fmt: skip
PER_LANGUAGE = 150  # questions per language in each half


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


def intents(data: Path, folder: Path, n: int | None) -> list[Benchmark]:
    """banking77 and clinc150 with N phrasings per intent (None: all)."""
    label = "all" if n is None else str(n)
    with open(data / "intents" / "banking77" / "train.csv", encoding="utf-8") as f:
        train = [(row["text"], row["category"]) for row in csv.DictReader(f)]
    with open(data / "intents" / "banking77" / "test.csv", encoding="utf-8") as f:
        test = [(row["text"], row["category"]) for row in csv.DictReader(f)]
    banking = _write(
        folder,
        f"banking77-N{label}",
        _intent_entries(train, n),
        [{"question": t, "expected": _id(i), "language": "en"} for t, i in test],
    )
    clinc = json.loads((data / "intents" / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
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


def half(text: str) -> str:
    return "dev" if hashlib.sha256(text.encode()).digest()[0] % 2 == 0 else "validation"


def tatoeba_questions(data: Path, folder: Path, which: str) -> Benchmark:
    """English questions as entries, their translations in LANGUAGES as questions (one half)."""
    pairs_dir = data / "parallel" / "tatoeba-challenge"
    entries: dict[str, str] = {}  # casefolded English -> entry id
    first: dict[str, str] = {}
    queries = []
    for code, language in LANGUAGES.items():
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
