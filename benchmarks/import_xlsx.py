"""`faqsearch import` of a large XLSX workbook (issue #29's target: 10,000 rows in <= 10 s).

Writes a QnA Maker export of --rows rows (one question per row, three rows per QnA id, as
exports group alternate questions) and a plain spreadsheet of as many rows, then times the
whole command (`faqsearch import`, a new process: Python's start and the imports included)
on each.

Usage: python benchmarks/import_xlsx.py [--rows 10000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

FAQSEARCH = str(Path(sys.executable).parent / "faqsearch")
HEADER = ["Question", "Answer", "Source", "Metadata", "SuggestedQuestions", "IsContextOnly", "Prompts", "QnaId"]


def write(path: Path, header: list[str], rows) -> Path:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("KB")
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="faqsearch-import-"))
    answer = "Go to Settings > Billing, choose the plan, and confirm. " * 3
    sources = {
        "QnA Maker export": write(
            work / "kb.xlsx",
            HEADER,
            (
                [
                    f"How do I do thing {i} (way {i % 3})?",
                    f"{answer}{i // 3}",
                    "Editorial",
                    "category:billing",
                    "[]",
                    "false",
                    "[]",
                    i // 3,
                ]
                for i in range(args.rows)
            ),
        ),
        "spreadsheet": write(
            work / "sheet.xlsx",
            ["id", "question", "answer", "answer_es", "tags"],
            (
                [f"e{i}", f"How do I do thing {i}?", f"{answer}{i}", f"Respuesta {i}.", "billing"]
                for i in range(args.rows)
            ),
        ),
    }
    for name, path in sources.items():
        started = time.perf_counter()
        done = subprocess.run([FAQSEARCH, "import", str(path), "--out", str(work / f"{path.stem}.yaml")],
                              capture_output=True, text=True)  # fmt: skip
        seconds = time.perf_counter() - started
        print(f"{name}: {args.rows:,} rows in {seconds:.2f} s (exit {done.returncode}): {done.stdout.splitlines()[0]}")


if __name__ == "__main__":
    main()
