"""`faqsearch import`: a FAQ from where it already lives, as a faqsearch FAQ file.

One module per source format (`qnamaker`, `azure`, `qnabot`, `rasa`, `table`, `faqpage`), each reading
its source into base.Drafts; `base.finish` makes them valid entries; faqs.save_faqs writes the
file. Without `format`, the format is detected from the content where that is unambiguous, and
a source in none of them gets an error saying why each did not fit; a source in a format but
broken (invalid JSON, nesting past base.MAX_DEPTH, a workbook past its bounds) gets that error.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..errors import FAQSearchError
from ..inputs import require_file
from . import azure, faqpage, qnabot, qnamaker, rasa, table
from .base import KNOWN, LANGUAGES, Imported, NotThisFormat, Report, finish
from .sheets import Table, is_xlsx, read_table
from .source import read_source

FORMATS = tuple(module.NAME for module in (qnamaker, azure, qnabot, rasa, table, faqpage))


def import_faq(
    source: Path,
    format: str | None = None,
    language: str | None = None,
    sheet: str | None = None,
    columns: dict[str, list[str]] | None = None,
) -> Imported:
    """The FAQ entries of `source` and the report of what was read and what was not mapped."""
    if format is not None and format not in FORMATS:
        raise FAQSearchError(f"--format {format}: unknown; choose one of {', '.join(FORMATS)}")
    if language is not None and language not in LANGUAGES:
        raise FAQSearchError(f"--language {language}: not a language faqsearch knows; use one of its {KNOWN}")
    if not source.is_dir():
        require_file(source, f"a FAQ to import ({', '.join(FORMATS)})")
        if not zipfile.is_zipfile(source):  # a workbook or an Azure export zip is read as one; other text: not
            # UTF-8, or a control character (but cp1252's, repaired): said once, at its line
            read_source(source, f"a FAQ to import ({', '.join(FORMATS)})")
    if sheet is not None and not is_xlsx(source):
        raise FAQSearchError(f"{source}: --sheet goes with an XLSX workbook; this is not one")
    if columns and format not in (None, "table"):
        raise FAQSearchError(f"--column goes with --format table, not {format}")
    report = Report(str(source), format or ("table" if columns else ""))
    found = None
    if not report.format:
        report.format, found = detect(source, sheet, report)
    if found is None and report.format in ("qnamaker", "table"):
        found = read_table(source, report, sheet)
    try:
        drafts, declared, default_answer = _read(source, report, found, columns or {}, language)
    except NotThisFormat as exc:
        raise FAQSearchError(f"{source}: not in the {report.format} format: {exc}") from None
    if declared is not None and declared not in LANGUAGES:
        report.warn(str(source), f"declares the language {declared[:20]!r}, not one faqsearch knows; detected instead")
        declared = None
    imported = finish(drafts, report, language or declared)
    imported.default_answer = default_answer
    return imported


def _read(
    source: Path, report: Report, found: Table | None, columns: dict, language: str | None
) -> tuple[list, str | None, str | None]:
    """The drafts of `source` read as report.format (a table already read: `found`; `language`
    the one asked for, which a table's per-language columns need), the language the source
    declares and its default answer (if any)."""
    chosen = report.format
    if chosen == "azure":
        return azure.read(source, report)
    if chosen == "qnamaker":
        return qnamaker.read(found, report), None, None
    if chosen == "table":
        return table.read(found, report, columns, language), report.language or None, None
    if chosen == "qnabot":
        return qnabot.read(source, report), None, None
    if chosen == "rasa":
        return (*rasa.read(source, report), None)
    return (*faqpage.parse(source, report), None)


def detect(source: Path, sheet: str | None, report: Report) -> tuple[str, Table | None]:
    """The one format `source` is in (and its table, for a tabular one, read once), or an error
    naming each format tried and why it did not fit."""
    why: dict[str, str] = {}
    workbook = is_xlsx(source)  # a table or nothing: its errors (several sheets, no such sheet) are the user's to fix
    if source.is_dir() or (zipfile.is_zipfile(source) and not workbook):
        try:
            azure.fits(source)
            return "azure", None
        except NotThisFormat as exc:
            why["azure"] = str(exc)
        if not source.is_dir():
            raise FAQSearchError(f"{source}: a zip, and not a question answering project export: {why['azure']}")
        try:
            rasa.fits(source)
            return "rasa", None
        except NotThisFormat as exc:
            raise FAQSearchError(
                f"{source}: a folder, and not a Rasa project ({exc}) nor a question answering export ({why['azure']})"
            ) from None
    checks = {
        "qnabot": lambda: qnabot.fits(source),
        "rasa": lambda: rasa.fits(source),
        "faqpage": lambda: faqpage.fits(source),
    }
    for name, check in () if workbook else checks.items():
        try:
            check()
            return name, None
        except NotThisFormat as exc:  # any other error: in this format, but broken; said as is
            why[name] = str(exc)
    try:
        found = read_table(source, report, sheet)
    except FAQSearchError as exc:
        if workbook:
            raise
        why["table"] = str(exc).removeprefix(f"{source}: ")
    else:
        try:
            qnamaker.fits(found)
            return "qnamaker", found
        except NotThisFormat as exc:
            why["qnamaker"] = str(exc)
        try:
            table.fits(found)
            return "table", found
        except NotThisFormat as exc:
            why["table"] = str(exc)
    tried = "; ".join(f"{name}: {reason}" for name, reason in why.items())
    raise FAQSearchError(f"{source}: not a FAQ format faqsearch imports ({tried}); name one with --format")
