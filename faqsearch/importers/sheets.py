"""Tables with a header row, from CSV, TSV or XLSX, as rows of `column -> text` with their row
numbers: what the QnA Maker and the spreadsheet importers read.

XLSX cells are read as a person sees them: a formula as its last computed value (noted), a
merged range as its value in every row it spans (noted), an error value (#N/A) as empty
(noted). A workbook with several sheets needs `sheet`.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import FAQSearchError, InputFileError
from ..inputs import read_text
from .base import Report, clean


@dataclass
class Table:
    where: str  # the file, and the sheet of a workbook
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (row number as the user sees it, column -> text)

    def column(self, *names: str) -> str | None:
        """The header's name for the first of `names` it has, ignoring case, spaces and '_'."""
        found = {_normal(c): c for c in self.header}
        return next((found[_normal(n)] for n in names if _normal(n) in found), None)


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
        return _xlsx(path, report, sheet)
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


def _xlsx(path: Path, report: Report, sheet: str | None) -> Table:
    import openpyxl

    try:
        formulas = openpyxl.load_workbook(path)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise InputFileError(str(path), f"not a readable XLSX workbook ({exc})") from None
    names = formulas.sheetnames
    if sheet is None and len(names) > 1:
        raise FAQSearchError(f"{path}: has {len(names)} sheets ({', '.join(names)}); pick one with --sheet")
    if sheet is not None and sheet not in names:
        raise FAQSearchError(f"{path}: has no sheet {sheet!r}; its sheets: {', '.join(names)}")
    where = f"{path} [{sheet or names[0]}]"
    cells = formulas[sheet or names[0]]
    values_sheet = None
    grid = [list(row) for row in cells.iter_rows()]
    if any(cell.data_type == "f" for row in grid for cell in row):
        values_sheet = openpyxl.load_workbook(path, data_only=True)[sheet or names[0]]
    values = [[_value(cell, values_sheet, where, report) for cell in row] for row in grid]
    for merged in cells.merged_cells.ranges:
        top = values[merged.min_row - 1][merged.min_col - 1]
        for r in range(merged.min_row, merged.max_row + 1):
            for c in range(merged.min_col, merged.max_col + 1):
                values[r - 1][c - 1] = top
        report.warn(where, f"cells {merged.coord} are merged; their value is used in each row they span")
    return _table(where, [(i + 1, row) for i, row in enumerate(values)])


def _value(cell, values_sheet, where: str, report: Report) -> str:
    if cell.data_type == "f":
        computed = values_sheet[cell.coordinate].value
        if computed is None:
            report.warn(f"{where} cell {cell.coordinate}", "a formula with no saved value; open and save it in Excel")
            return ""
        report.warn(f"{where} cell {cell.coordinate}", "a formula; its last computed value is used")
        return _text(computed)
    if cell.data_type == "e":
        report.warn(f"{where} cell {cell.coordinate}", f"the error value {cell.value}; read as empty")
        return ""
    return _text(cell.value)


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)
