"""XLSX workbooks as rows of text, read as a person sees them: a formula as its last computed
value (noted), a merged range as its value in every row it spans (noted), an error value (#N/A)
as empty (noted). A workbook with several sheets needs `sheet`.

A workbook is a zip, and 1.5 MB of it can unzip to gigabytes and stand for 5 million rows. So
before openpyxl reads a sheet (its read-only mode scans a sheet without a declared size to the
end just to open the workbook), the archive's unzipped size is checked against
MAX_UNZIPPED_BYTES, and each sheet's XML is streamed once with expat, keeping nothing, counting
its rows and cells against MAX_ROWS and MAX_CELLS. Only then is the chosen sheet read, row by
row, in openpyxl's read-only mode; the merged ranges come from that first pass (read-only mode
does not read them).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import IO
from xml.parsers import expat

from ..errors import FAQSearchError, InputFileError
from ..inputs import inert
from .base import Report

MAX_UNZIPPED_BYTES = 128 * 2**20  # 200,000 rows of benchmarks/import_xlsx.py's QnA Maker export (6 MiB a 10,000)
MAX_ROWS = 100_000  # rows of a sheet, empty ones between included (ten times the benchmark's)
MAX_CELLS = 1_000_000  # cells of a sheet, each row counted to its last cell, as openpyxl fills it
DIGITS = "0123456789"
SHEET = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"  # openpyxl's SHEET_MAIN_NS: what it reads
ROW, CELL, MERGED = (f"{SHEET}}}{tag}" for tag in ("row", "c", "mergeCell"))  # as expat names them
SPLIT = "a FAQ sheet has fewer: is this the right sheet? Else split it"


def read(path: Path, report: Report, sheet: str | None) -> tuple[str, list[tuple[int, list[str]]]]:
    """`sheet` of the workbook at `path` (its only one if None): where it is, for the messages,
    and its rows as (row number, cells as text)."""
    import openpyxl

    merged_by_sheet = _check(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise InputFileError(str(path), f"not a readable XLSX workbook ({exc})") from None
    try:
        names, shown = book.sheetnames, inert(", ".join(book.sheetnames))  # names are the file's text
        if sheet is None and len(names) > 1:
            raise FAQSearchError(f"{path}: has {len(names)} sheets ({shown}); pick one with --sheet")
        if sheet is not None and sheet not in names:
            raise FAQSearchError(f"{path}: has no sheet {sheet!r}; its sheets: {shown}")
        name = sheet or names[0]
        where = inert(f"{path} [{name}]")
        if not hasattr(book[name], "iter_rows"):
            raise FAQSearchError(f"{where}: is a chart, not a sheet of cells; pick another with --sheet")
        values, formulas = _values(book[name], where, report)
    finally:
        book.close()
    if formulas:
        _computed(path, name, formulas, values, where, report)
    _spread(merged_by_sheet.get(name, []), values, where, report)
    return where, [(i + 1, row) for i, row in enumerate(values)]


def _check(path: Path) -> dict[str, list[str]]:
    """Refuse a workbook past the bounds (see the module's docstring) before openpyxl reads a
    sheet; each sheet's merged ranges, by sheet name."""
    from openpyxl.reader.excel import ExcelReader

    try:
        with zipfile.ZipFile(path) as archive:
            unzipped = sum(item.file_size for item in archive.infolist())
        if unzipped > MAX_UNZIPPED_BYTES:
            raise InputFileError(
                str(path),
                f"unzips to {unzipped / 2**20:,.0f} MiB, over {MAX_UNZIPPED_BYTES / 2**20:.0f} MiB; "
                "save the FAQ's sheet alone, as its own workbook or as CSV",
            )
        reader = ExcelReader(path, read_only=True)
        try:
            reader.read_manifest()
            reader.read_workbook()
            parts = {s.name: r.target for s, r in reader.parser.find_sheets() if r.target in reader.valid_files}
            merged = {}
            for name, part in parts.items():
                with reader.archive.open(part) as xml:
                    merged[name] = _Extent(inert(f"{path} [{name}]")).read(xml)
            return merged
        finally:
            reader.archive.close()
    except (FAQSearchError, MemoryError):
        raise
    except Exception as exc:  # a damaged zip or XML: openpyxl and zipfile raise many kinds
        raise InputFileError(str(path), f"not a readable XLSX workbook ({exc})") from None


class _Extent:
    """One sheet's XML streamed with expat, keeping nothing: refused past MAX_ROWS rows or
    MAX_CELLS cells as soon as it gets there; its merged ranges (`A1:B2`) collected. One call
    per element start (none per end): a million cells are counted in about a second."""

    def __init__(self, where: str):
        from openpyxl.utils.cell import column_index_from_string

        self.where, self.row, self.column, self.cells, self.merged = where, 0, 0, 0, []
        self._column_index = column_index_from_string

    def read(self, xml: IO[bytes]) -> list[str]:
        parser = expat.ParserCreate(namespace_separator="}")
        parser.StartElementHandler = self.start
        parser.ParseFile(xml)
        return self.merged

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == CELL:  # numbered as openpyxl does: its `r`, else the next
            ref = attrs.get("r", "").rstrip(DIGITS)
            self.column = self._column_index(ref) if ref else self.column + 1
            if self.cells + self.column > MAX_CELLS:
                raise InputFileError(self.where, f"has over {MAX_CELLS:,} cells; {SPLIT}")
        elif name == ROW:
            self.cells += max(self.column, 1)  # the row before, as openpyxl fills it: to its last cell
            self.row, self.column = (int(attrs["r"]) if "r" in attrs else self.row + 1), 0
            if self.row > MAX_ROWS:
                raise InputFileError(self.where, f"has over {MAX_ROWS:,} rows; {SPLIT}")
        elif name == MERGED:
            self.merged.append(attrs.get("ref", ""))


def _values(cells, where: str, report: Report) -> tuple[list[list[str]], dict[int, list[int]]]:
    """The sheet's rows as text, and where its formulas are (row index -> column indexes)."""
    cells.reset_dimensions()  # rows as stored, never padded to a declared size that may be wrong
    values, formulas = [], {}
    for r, row in enumerate(cells.iter_rows()):
        texts = []
        for c, cell in enumerate(row):
            if cell.data_type == "f":
                formulas.setdefault(r, []).append(c)
                texts.append("")
            elif cell.data_type == "e":
                report.warn(f"{where} cell {cell.coordinate}", f"the error value {cell.value}; read as empty")
                texts.append("")
            else:
                texts.append(_text(cell.value))
        values.append(texts)
    return values, formulas


def _computed(
    path: Path, name: str, formulas: dict[int, list[int]], values: list[list[str]], where: str, report: Report
) -> None:
    """Each formula's last computed value (saved by the program that computed it), in place."""
    import openpyxl
    from openpyxl.utils.cell import get_column_letter

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        computed = book[name]
        computed.reset_dimensions()
        for r, row in enumerate(computed.iter_rows(values_only=True)):
            for c in formulas.get(r, ()):
                value = row[c] if c < len(row) else None
                cell = f"{where} cell {get_column_letter(c + 1)}{r + 1}"
                if value is None:
                    report.warn(cell, "a formula with no saved value; open and save it in Excel")
                else:
                    report.warn(cell, "a formula; its last computed value is used")
                    values[r][c] = _text(value)
    finally:
        book.close()


def _spread(merged: list[str], values: list[list[str]], where: str, report: Report) -> None:
    """A merged range's value in each of its cells that the sheet has, in place; the cells filled
    count against MAX_CELLS (a range may claim the whole sheet, 17 billion cells)."""
    from openpyxl.worksheet.cell_range import CellRange

    width, filled = max(map(len, values), default=0), 0
    for ref in merged:
        try:
            span = CellRange(ref)
        except (ValueError, TypeError):
            report.warn(where, f"a merged range {ref!r} that is not a range; ignored")
            continue
        if span.min_row > len(values) or span.min_col > width:
            continue
        top_row = values[span.min_row - 1]
        top = top_row[span.min_col - 1] if span.min_col <= len(top_row) else ""
        last_col = min(span.max_col, width)
        for row in values[span.min_row - 1 : span.max_row]:
            row.extend([""] * (last_col - len(row)))
            row[span.min_col - 1 : last_col] = [top] * (last_col - span.min_col + 1)
            filled += last_col - span.min_col + 1
            if filled > MAX_CELLS:
                raise InputFileError(where, f"its merged ranges span over {MAX_CELLS:,} cells; {SPLIT}")
        report.warn(where, f"cells {span.coord} are merged; their value is used in each row they span")


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)
