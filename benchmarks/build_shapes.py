"""FAQ shapes a build must survive (issue #35, "bad input"): one entry, two, entries that all
share one answer, and 50,000 entries of one phrasing each, against the example FAQ. For each:
the build's time per phrasing, what it says its confidence rests on (and any note about it),
and whether a paraphrase of an entry is answered by it.

Each is built twice through the CLI (`faqsearch build --index ...` in a fresh process, the second
time after a change to one entry so the vectors are reused), as a user would; the large FAQ's
entries are English sentences of Tatoeba-Challenge (`parallel/tatoeba-challenge/*-eng.eng`).

Usage: python benchmarks/build_shapes.py ../shared/data [--large 50000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import FAQSEARCH

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    ("How do I get a refund?", "I want my money back"),
    ("How long does shipping take?", "when will my parcel arrive"),
    ("How do I reset my password?", "I can't log in, forgot the password"),
    ("Can I pay with PayPal?", "do you take paypal"),
    ("How do I cancel my subscription?", "stop my plan please"),
    ("Do you ship abroad?", "can you deliver to Canada"),
    ("How do I change my email address?", "update my e-mail"),
    ("How do I delete my account?", "remove my account for good"),
]


def shapes(data: Path, large: int) -> dict[str, tuple[list[dict], str, str]]:
    """Name -> (entries, a paraphrase, the entry id it should get)."""

    def entries(n: int, shared: bool = False) -> list[dict]:
        return [
            {"id": f"e{i}", "question": q, "answer": "Please write to support." if shared else f"Answer {i}."}
            for i, (q, _) in enumerate(QUESTIONS[:n])
        ]

    sentences: dict[str, None] = {}
    for path in sorted((data / "parallel" / "tatoeba-challenge").glob("*-eng.eng")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if len(sentences) >= large - len(QUESTIONS):
                break
            if line.strip() and line.strip().casefold() not in sentences:
                sentences[line.strip().casefold()] = None
    many = entries(len(QUESTIONS)) + [
        {"id": f"t{i}", "question": s, "answer": "(answer)"} for i, s in enumerate(sentences)
    ]
    paraphrase = (QUESTIONS[0][1], "e0")
    return {
        "one entry": (entries(1), *paraphrase),
        "two entries": (entries(2), *paraphrase),
        "8 entries sharing one answer": (entries(8, shared=True), QUESTIONS[3][1], "e3"),
        f"{len(many):,} one-phrasing entries": (many, *paraphrase),
    }


def faqsearch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([FAQSEARCH, *args], capture_output=True, text=True, check=False)


def build(faq: Path, index: Path) -> tuple[float, str, list[str]]:
    started = time.perf_counter()
    result = faqsearch("build", str(faq), "--index", str(index))
    seconds = time.perf_counter() - started
    if result.returncode:
        raise SystemExit(f"build of {faq} failed: {result.stderr}")
    basis = next(line for line in result.stdout.splitlines() if line.startswith("confidence: "))
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    return seconds, basis.removeprefix("confidence: "), notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="../shared/data")
    parser.add_argument("--large", type=int, default=50_000)
    args = parser.parse_args()
    print("| FAQ | phrasings | build s | ms per phrasing | confidence rests on | note | paraphrase answered |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        example = ROOT / "faqs" / "en.yaml"
        cases = {"example FAQ (faqs/en.yaml)": (example, "I forgot my password", "reset-password")}
        for name, (entries, question, expected) in shapes(args.data, args.large).items():
            path = Path(tmp) / f"{len(cases)}.yaml"
            path.write_text(yaml.safe_dump({"language": "en", "faqs": entries}, allow_unicode=True))
            cases[name] = (path, question, expected)
        for name, (path, question, expected) in cases.items():
            index = Path(tmp) / "indexes" / path.stem
            seconds, basis, notes = build(path, index)
            phrasings = sum(1 + len(e.get("alternatives") or []) for e in yaml.safe_load(path.read_text())["faqs"])
            answer = json.loads(faqsearch("ask", "--json", "--index", str(index), question).stdout)
            match = answer["match"]
            got = f"{match['id']} ({match['matched_question']!r}, {match['confidence']})" if match else "no match"
            if not match:
                got += f" ({answer['no_match']}; closest {answer['candidates'][0]['id']})"
            note = "; ".join(n.removeprefix("note: ") for n in notes)
            note = (note[:300] + " ...") if len(note) > 300 else note or "-"
            print(
                f"| {name} | {phrasings:,} | {seconds:.1f} | {1000 * seconds / phrasings:.1f} | {basis} | {note} "
                f"| {question!r} -> {got}{' (right)' if match and match['id'] == expected else ''} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
