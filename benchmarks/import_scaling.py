"""Import stays linear in its input (issue #37): each source format, written with what real files
have (multi-line Markdown answers, follow-up prompts and buttons, synonyms, `@id` references,
out-of-scope intents), imported at N and 4N entries; a linear importer takes about 4x as long.

The time is `import_faq` in this process (the FAQ file is not written): the importer and
base.finish, the part whose cost grows with the source.

Usage: python benchmarks/import_scaling.py [--entries 2000]
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from faqsearch.importers import import_faq

ANSWER = "Steps:\n\n1. Open **Settings** > Billing.\n2. See [our help](https://example.com/help/{i}).\n\n- item {i}"
QNA_HEADER = ["Question", "Answer", "Source", "Metadata", "SuggestedQuestions", "IsContextOnly", "Prompts", "QnaId"]


def _question(i: int, variant: int = 0) -> str:
    return f"How do I change setting number {i} in way {variant}?"


def qnamaker(folder: Path, n: int) -> Path:
    """A QnA Maker TSV: three rows per QnA, `\\n`-escaped answers, a prompt to the next QnA."""
    path = folder / "kb.tsv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, delimiter="\t", lineterminator="\n")
        writer.writerow(QNA_HEADER)
        for i in range(1, n + 1):
            prompts = json.dumps([{"DisplayOrder": 0, "QnaId": i % n + 1, "DisplayText": f"Next {i}", "Qna": None}])
            answer = ANSWER.format(i=i).replace("\n", "\\n")
            for v in range(3):
                writer.writerow([_question(i, v), answer, "Editorial", "topic:x", "[]", "false", prompts, i])
    return path


def azure(folder: Path, n: int) -> Path:
    """An Azure Language Studio export folder: QnAs.tsv, Synonyms.tsv, Settings.tsv."""
    project = folder / "project"
    project.mkdir()
    qnamaker(folder, n).rename(project / "QnAs.tsv")
    (project / "Synonyms.tsv").write_text('Synonyms\n"setting","option","preference"\n', encoding="utf-8")
    (project / "Settings.tsv").write_text("Key\tValue\nLanguage\tEnglish\nDefaultAnswerForKB\tNo idea\n", "utf-8")
    return project


def qnabot(folder: Path, n: int) -> Path:
    """A QnABot export: Markdown answers, a button and `next` to the next item, client filters."""
    items = [
        {
            "qid": f"Q.{i}",
            "q": [_question(i, v) for v in range(3)],
            "a": ANSWER.format(i=i),
            "alt": {"markdown": ANSWER.format(i=i), "ssml": "<speak>x</speak>"},
            "r": {"buttons": [{"text": f"Next {i}", "value": f"QID::Q.{i % n + 1}"}]},
            "next": f"Q.{(i + 1) % n + 1}",
            "clientFilterValues": "web",
            "type": "qna",
        }
        for i in range(1, n + 1)
    ]
    path = folder / "qnabot.json"
    path.write_text(json.dumps({"qna": items}), encoding="utf-8")
    return path


def rasa(folder: Path, n: int) -> Path:
    """A Rasa project: faq/ intents with multi-line responses and buttons, one out_of_scope intent."""
    project = folder / "rasa"
    (project / "data").mkdir(parents=True)
    nlu = ["version: '3.1'", "nlu:"]
    responses = ["version: '3.1'", "responses:"]
    for i in range(1, n + 1):
        nlu += [f"- intent: faq/ask_{i}", "  examples: |"] + [f"    - {_question(i, v)}" for v in range(3)]
        responses += [f"  utter_faq/ask_{i}:", "  - text: |"]
        responses += [f"      {line}" for line in ANSWER.format(i=i).split("\n")]
        responses += ["    buttons:", f"    - title: Next {i}", f"      payload: /faq/ask_{i % n + 1}"]
    nlu += ["- intent: out_of_scope/other", "  examples: |"] + [f"    - tell me joke {i}" for i in range(n // 10)]
    (project / "data" / "nlu.yml").write_text("\n".join(nlu) + "\n", encoding="utf-8")
    (project / "domain.yml").write_text("\n".join(responses) + "\n", encoding="utf-8")
    (project / "config.yml").write_text("language: en\n", encoding="utf-8")
    return project


def table(folder: Path, n: int) -> Path:
    """A spreadsheet: questions in two columns, a quoted multi-line answer, a category."""
    path = folder / "faq.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["question", "question 2", "answer", "category"])
        for i in range(1, n + 1):
            writer.writerow([_question(i), _question(i, 1), ANSWER.format(i=i), "Shipping, returns"])
    return path


def faqpage(folder: Path, n: int) -> Path:
    """A Yoast-style page: `@graph` with the FAQPage's questions as `@id` references, HTML answers."""
    html_answer = "<p>Steps:</p><ol><li>Open <strong>Settings</strong></li><li>See <a href='/h/{i}'>help</a></li></ol>"
    graph = [{"@type": ["WebPage", "FAQPage"], "@id": "p", "mainEntity": [{"@id": f"q{i}"} for i in range(n)]}]
    graph += [
        {"@type": "Question", "@id": f"q{i}", "name": _question(i), "acceptedAnswer": {"text": html_answer.format(i=i)}}
        for i in range(n)
    ]
    path = folder / "page.html"
    script = json.dumps({"@context": "https://schema.org", "@graph": graph})
    path.write_text(f'<html lang="en"><head><script type="application/ld+json">{script}</script></head></html>')
    return path


FORMATS: dict[str, Callable[[Path, int], Path]] = {
    "qnamaker": qnamaker,
    "azure": azure,
    "qnabot": qnabot,
    "rasa": rasa,
    "table": table,
    "faqpage": faqpage,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=2000)
    args = parser.parse_args()
    print(f"{'format':<10} {'entries':>8} {'seconds':>8} {'entries':>8} {'seconds':>8} {'ratio':>6}  related")
    for name, write in FORMATS.items():
        row = []
        for n in (args.entries, 4 * args.entries):
            with tempfile.TemporaryDirectory() as folder:
                source = write(Path(folder), n)
                started = time.perf_counter()
                imported = import_faq(source, format=name, language="en")
                row.append((len(imported.entries), time.perf_counter() - started, imported))
        (n1, t1, _), (n4, t4, last) = row
        related = sum(len(e.related) for e in last.entries)
        print(f"{name:<10} {n1:>8} {t1:>8.2f} {n4:>8} {t4:>8.2f} {t4 / t1:>6.1f}  {related}")


if __name__ == "__main__":
    main()
