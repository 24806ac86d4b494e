"""Tables with a header row, from CSV, TSV or XLSX (xlsx.py), as rows of `column -> text` with
their row numbers: what the QnA Maker and the spreadsheet importers read. Reading costs time in
proportion to the text (a workbook's, once unzipped, is bounded in xlsx.py).
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ..errors import FAQSearchError, InputFileError
from ..inputs import inert, read_text
from . import xlsx
from .base import Report, clean


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
    semicolon)."""
    if is_xlsx(path):
        return _table(*xlsx.read(path, report, sheet))
    _, text = read_text(path, "a table with a header row (CSV, TSV or XLSX)")
    first = text.split("\n", 1)[0]
    delimiter = max("\t,;", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records = []
    try:
        for record in reader:
            records.append((reader.line_num, record))
    except csv.Error as exc:
        raise InputFileError(str(path), f"not a readable table: {exc}", line=reader.line_num) from None
    return _table(str(path), records)


def _table(where: str, records: list[tuple[int, list]]) -> Table:
    records = [(n, [str(v).strip() for v in values]) for n, values in records if any(clean(v) for v in values)]
    if not records:
        raise FAQSearchError(f"{where}: is empty; a table needs a header row and rows")
    (_, header), rows = records[0], records[1:]
    named = [clean(h) or f"column {i + 1}" for i, h in enumerate(header)]
    return Table(where, named, [(n, dict(zip(named, values, strict=False))) for n, values in rows])
