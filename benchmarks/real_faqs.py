"""Real FAQs asked by people other than their authors, each question labelled with the entry it wants.

The other public sets build FAQs out of intents or translations; these are FAQs as published, one
question per answer, so a score measured on them is what a deployment of such a FAQ would see.
Nothing is copied into this repository: pass the root of each clone (or of a bare mirror, read with
`git show HEAD:...`), as `git clone https://github.com/OWNER/NAME` leaves it.

- dialoguemd-archives/covidfaq @ a493ed72e07b83cdf736684ce1cc9ee47b9bfb3f (MIT, Dialogue 2020; the
  FAQ text is the Québec government's COVID-19 FAQ). Two sets:
  quebec-covid-en: `covidfaq/data/figure8/collection2/f1571487.csv` and `collection3/f1571615.csv`,
  Figure Eight crowd workers shown an entry's answer and question who wrote "a coherent question
  that would result in the answer" (313 English entries; 3,000 of their ~3,030 questions).
  quebec-covid-fr: `covidfaq/data/fr/nlu.md` (Rasa intents: the first example is the FAQ's own
  question, the others paraphrases the chatbot's team wrote, some colloquial) with the answers of
  `covidfaq/data/fr/responses.md` (50 intents, 48 entries: two pairs share their question; 662).
- deepset-ai/COVID-QA @ fb2eb5e249618457e5359806601086c635c8eb8f (Apache-2.0). Two sets:
  `data/eval_question_similarity_{en,de}.csv` pair an FAQ question (question_1) with an annotator's
  question (question_2, similar=1; the similar=0 rows only re-pair them and are left out). The FAQ is
  the question_1s, answered from `data/faqs/faq_covidbert.csv` (CDC, WHO; en) and
  `data/faqs/faq_200322_16.tsv` + `faq_200327.tsv` (RKI, BZgA, BMAS, ...; de); 8 German
  question_1s are in no FAQ file and get a placeholder answer (en 92 entries, 239; de 106, 294).
- ML-Recipes/BERT-FAQ @ 3c184030c1819b462e29f665465ab4968657440e (MIT for the repository; StackFAQ,
  TakeLab's (Karan & Šnajder 2018), states none; StackExchange posts are CC BY-SA):
  `data/StackFAQ/stackExchange-FAQ.json`, 125 web-apps StackExchange questions with ~10 rephrasings
  each written by annotators ("*" marks a missing one; 1,249 questions).

Run: python real_faqs.py ~/covidfaq ~/COVID-QA ~/BERT-FAQ
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import yaml
from public_sets import Benchmark, _write

from faqsearch.faqs import MAX_ANSWER_CHARS
from faqsearch.search import MAX_QUESTION_CHARS

MAX_ENTRIES = 2_000
MAX_QUESTIONS = 3_000
NO_ANSWER = "(no answer in the source files)"
FIGURE8 = ("covidfaq/data/figure8/collection2/f1571487.csv", "covidfaq/data/figure8/collection3/f1571615.csv")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _read(root: Path, path: str) -> str:
    """A file of a clone, or of a bare git directory (what `fetch` or `git clone --bare` leaves)."""
    if (root / path).is_file():
        return (root / path).read_text(encoding="utf-8")
    git = ["git", "--git-dir", str(root), "show", f"HEAD:{path}"]
    return subprocess.run(git, capture_output=True, check=True, encoding="utf-8").stdout


def _has(root: Path, path: str) -> bool:
    git = ["git", "--git-dir", str(root), "cat-file", "-e", f"HEAD:{path}"]
    return (root / path).is_file() or subprocess.run(git, capture_output=True).returncode == 0


def _clean(text: str) -> str:
    """Whitespace collapsed as faqsearch reads it, and control characters it refuses dropped."""
    return " ".join(CONTROL.sub(" ", text).split())


def _rows(text: str, delimiter: str = ",") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


def _build(folder: Path, name: str, language: str, faq: dict[str, str], asked: list[tuple[str, str]]) -> Benchmark:
    """FAQ question -> answer and (question asked, FAQ question it expects) as the two YAML files.
    A question that is some entry's own, or that expects two entries, says nothing and is left out;
    so is one longer than a customer's question may be (a whole post, not a question)."""
    entries: dict[str, dict] = {}
    for question, answer in faq.items():
        key = _clean(question).casefold()
        if key and key not in entries and len(entries) < MAX_ENTRIES:
            answer = _clean(answer)[:MAX_ANSWER_CHARS] or NO_ANSWER
            entries[key] = {"id": f"q{len(entries)}", "question": _clean(question), "answer": answer}
    expects: dict[str, set[str]] = {}
    first: dict[str, str] = {}
    for question, wanted in asked:
        key, target = _clean(question).casefold(), _clean(wanted).casefold()
        if re.search(r"\w", key) and target in entries and key not in entries and len(key) <= MAX_QUESTION_CHARS:
            expects.setdefault(key, set()).add(entries[target]["id"])
            first.setdefault(key, _clean(question))
    single = {key: ids.pop() for key, ids in expects.items() if len(ids) == 1}
    queries = [{"question": first[key], "expected": id_, "language": language} for key, id_ in single.items()]
    if len(queries) > MAX_QUESTIONS:  # a sample, in file order, the same on every run
        kept = sorted(random.Random(name).sample(range(len(queries)), MAX_QUESTIONS))
        queries = [queries[i] for i in kept]
    bench = _write(folder, name, list(entries.values()), queries)
    if language != "en":  # _write says "en"
        faqs = {"language": language, "faqs": list(entries.values())}
        bench.faq.write_text(yaml.safe_dump(faqs, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return bench


def quebec(root: Path, folder: Path) -> list[Benchmark]:
    """The Québec COVID-19 FAQ: crowd questions in English, the chatbot team's in French."""
    faq: dict[str, str] = {}
    asked = []
    for path in FIGURE8:
        for row in _rows(_read(root, path)):
            written = next(v for k, v in row.items() if k.startswith("write_a_") and not k.endswith("gold"))
            faq.setdefault(row["questions"], row["answers"])
            asked.append((written, row["questions"]))
    english = _build(folder, "quebec-covid-en", "en", faq, asked)
    answers: dict[str, str] = {}
    intent = None
    for line in _read(root, "covidfaq/data/fr/responses.md").splitlines():
        if line.startswith("* "):
            intent = line[2:].strip()
        elif line.strip().startswith("- ") and intent:
            answers[intent] = line.strip()[2:]
            intent = None
    examples: dict[str, list[str]] = {}
    for line in _read(root, "covidfaq/data/fr/nlu.md").splitlines():
        if line.startswith("## intent:"):
            intent = line.split(":", 1)[1].strip()
        elif line.startswith("- ") and intent in answers:
            examples.setdefault(intent, []).append(line[2:])
    faq = {texts[0]: answers[intent] for intent, texts in examples.items()}
    asked = [(text, texts[0]) for texts in examples.values() for text in texts[1:]]
    return [english, _build(folder, "quebec-covid-fr", "fr", faq, asked)]


def deepset(root: Path, folder: Path) -> list[Benchmark]:
    """deepset's COVID-QA question pairs: the FAQ questions of the pairs, asked the other halves."""
    answer_files = {
        "en": [("data/faqs/faq_covidbert.csv", ",")],
        "de": [("data/faqs/faq_200322_16.tsv", "\t"), ("data/faqs/faq_200327.tsv", "\t")],
    }
    sets = []
    for language, files in answer_files.items():
        answers: dict[str, str] = {}
        for path, delimiter in files:
            for row in _rows(_read(root, path), delimiter):
                if row["lang"] == language:
                    answers.setdefault(_clean(row["question"]).casefold(), row["answer"])
        pairs = _rows(_read(root, f"data/eval_question_similarity_{language}.csv"))
        pairs = [(row["question_2"], row["question_1"]) for row in pairs if row["similar"] == "1"]
        faq = {wanted: answers.get(_clean(wanted).casefold(), NO_ANSWER) for _, wanted in pairs}
        sets.append(_build(folder, f"deepset-covid-{language}", language, faq, pairs))
    return sets


def stackfaq(root: Path, folder: Path) -> list[Benchmark]:
    """StackFAQ: StackExchange questions with their top answer, asked the annotators' rephrasings."""
    pairs = json.loads(_read(root, "data/StackFAQ/stackExchange-FAQ.json"))["root"]["qapair"]
    faq, asked = {}, []
    for pair in pairs:
        answer = pair["answer"] if isinstance(pair["answer"], str) else pair["answer"][0]
        faq[pair["question"]] = answer
        rephrased = pair["rephr"] if isinstance(pair["rephr"], list) else [pair["rephr"]]
        asked += [(text, pair["question"]) for text in rephrased if text]
    return [_build(folder, "stackfaq", "en", faq, asked)]


SOURCES = {  # a file only that source has -> its reader
    "covidfaq/data/figure8/README.md": quebec,
    "data/eval_question_similarity_de.csv": deepset,
    "data/StackFAQ/stackExchange-FAQ.json": stackfaq,
}


def real_faq_sets(folder: Path, sources: list[Path]) -> list[Benchmark]:
    """Every set of the sources given (clone roots or bare git directories, in any order)."""
    sets = []
    for root in sources:
        reader = next((read for marker, read in SOURCES.items() if _has(root, marker)), None)
        if reader is None:
            raise SystemExit(f"{root}: has none of {', '.join(SOURCES)}: not one of the repositories above")
        sets += reader(root, folder)
    return sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sources", nargs="+", type=Path, help="clone roots (or bare git directories)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="real-faqs-"))
    for bench in real_faq_sets(folder, args.sources):
        entries, asked = bench.entries(), bench.asked()
        question = {e["id"]: e["question"] for e in entries}
        per_entry = Counter(q["expected"] for q in asked)
        languages = Counter(q["language"] for q in asked)
        phrasings = Counter(1 + len(e.get("alternatives", [])) for e in entries)
        print(f"\n{bench.name}: {len(entries)} entries, phrasings per entry {dict(phrasings)}; {len(asked)} questions")
        print(f"  entries asked: {len(per_entry)}, questions per asked entry: {len(asked) / len(per_entry):.1f}")
        print(f"  questions per language: {dict(languages)}; files: {bench.faq} {bench.queries}")
        for q in random.Random(1).sample(asked, 3):
            print(f"  {q['question']!r} -> {question[q['expected']]!r}")


if __name__ == "__main__":
    main()
