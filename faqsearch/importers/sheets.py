"""Tables with a header row, from CSV, TSV or XLSX (xlsx.py), as rows of `column -> text` with
their row numbers: what the QnA Maker and the spreadsheet importers read. Reading costs time in
proportion to the text (a workbook's, once unzipped, is bounded in xlsx.py).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ..errors import FAQSearchError, InputFileError
from ..inputs import inert
from . import xlsx
from .base import Report, clean
from .source import read_source

DELIMITERS = {"\t": "tab", ",": "comma", ";": "semicolon"}
# What a file given as a table may be instead (its start), and the importer for it.
OTHER_FORMATS = {
    "JSON": (re.compile(r"\s*(?:\{|\[\s*[\[{\"\d\]-])"), "for a QnABot export use --format qnabot"),
    "HTML or XML": (re.compile(r"\s*<"), "for a web page's FAQ use --format faqpage"),
    "YAML": (re.compile(r"---|%YAML|[A-Za-z_][\w-]*:(?:\s|$)"), "for Rasa NLU data use --format rasa"),
}


@dataclass
class Table:
    where: str  # the file, and the sheet of a workbook
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (row number as the user sees it, column -> text)

    def column(self, *names: str) -> str | None:
        """The header's name for the first of `names` it has, ignoring case, spaces and '_'."""
        return next((self._normal_names[_normal(n)] for n in names if _normal(n) in self._normal_names), None)

    def columns(self) -> str:
        """The header, for a message: a control character in a workbook's cell shown as its escape."""
        return inert(", ".join(self.header))

    @cached_property
    def _normal_names(self) -> dict[str, str]:  # made once: a table may have 100,000 columns
        return {_normal(c): c for c in self.header}


def _normal(name: str) -> str:
    return name.casefold().replace(" ", "").replace("_", "")


def is_xlsx(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return "xl/workbook.xml" in archive.namelist()


def read_table(path: Path, report: Report, sheet: str | None = None) -> Table:
    """The table at `path`: an XLSX workbook (`sheet` of it), or delimited text (tab, comma or
    semicolon); a file in another format (JSON, HTML, YAML) is refused, naming it and its importer."""
    if is_xlsx(path):
        return _table(*xlsx.read(path, report, sheet), report)
    text = read_source(path, "a table with a header row (CSV, TSV or XLSX)", report)
    first = text.split("\n", 1)[0]
    delimiter = max("\t,;", key=first.count)
    for kind, (looks, fix) in OTHER_FORMATS.items():
        if looks.match(text) and (kind != "YAML" or first.count(delimiter) == 0):
            raise FAQSearchError(f"{path}: looks like {kind}, not a table (CSV, TSV or XLSX); {fix}")
    return parse_table(str(path), text, report, delimiter)


def parse_table(where: str, text: str, report: Report, delimiter: str) -> Table:
    """The table in delimited `text` (fields in double quotes may hold delimiters and line breaks)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records = []
    try:
        for record in reader:
            records.append((reader.line_num, record))
    except csv.Error as exc:
        raise InputFileError(where, f"not a readable table: {exc}", line=reader.line_num) from None
    return _table(where, records, report, delimiter)


def _table(where: str, records: list[tuple[int, list]], report: Report, delimiter: str | None = None) -> Table:
    """The header and rows of `records` (delimited text split on `delimiter`, else a workbook's).
    A row shorter than the header has its missing cells empty, as spreadsheets save it. A longer
    one means something else in each: in a workbook, values in columns the header does not name
    (they get a name, `column 6`, and are reported unless mapped); in text, a delimiter inside a
    field that is not quoted, which shifts every field after it: that row is skipped and named
    (unless the extra fields are empty, as trailing delimiters leave them)."""
    records = [(n, [str(v).strip() for v in values]) for n, values in records if any(clean(v) for v in values)]
    if not records:
        raise FAQSearchError(f"{where}: is empty; a table needs a header row and rows")
    (_, header), rows = records[0], records[1:]
    if delimiter is None:
        width = max((i + 1 for _, values in rows for i, value in enumerate(values) if value), default=0)
        header = header + [""] * (width - len(header))
    named = [clean(h) or f"column {i + 1}" for i, h in enumerate(header)]
    kept = []
    for number, values in rows:
        if any(values[len(named) :]):
            report.warn(
                f"{where}:row {number}",
                f"{len(values)} fields where the header has {len(named)}: a {DELIMITERS.get(delimiter)} inside a "
                "field splits it unless the field is in double quotes; skipped: put that field in double quotes",
            )
            continue
        kept.append((number, dict(zip(named, values, strict=False))))
    return Table(where, named, kept)
