"""`faqsearch import`: a FAQ file from a QnA Maker, QnABot, Rasa, spreadsheet or FAQPage source."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import FAQSearchError
from .common import _fail, app

FORMAT_HELP = "qnamaker, qnabot, rasa, table or faqpage [default: detected from the content]"


@app.command("import")
def import_(
    source: Annotated[Path, typer.Argument(help="The export, spreadsheet, Rasa project or HTML page")],
    format: Annotated[str | None, typer.Option("--format", help=FORMAT_HELP)] = None,
    out: Annotated[Path | None, typer.Option(help="The FAQ file to write [default: faqs/<source name>.yaml]")] = None,
    language: Annotated[
        str | None, typer.Option(help="The questions' language (ISO 639-1) [default: the source's, else detected]")
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="The sheet of an XLSX workbook with several")] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(help="A table column's role: question=NAME (repeatable), answer=, id=, tags=, answer_es=..."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the --out file if it exists")] = False,
):
    """Write a faqsearch FAQ file from a FAQ that lives elsewhere; then `faqsearch build` it."""
    from ..faqs import LANGUAGE_PATTERN, save_faqs
    from ..importers import import_faq
    from ..importers.table import ROLES

    try:
        if language is not None and not LANGUAGE_PATTERN.fullmatch(language):
            raise FAQSearchError(f"--language {language}: not an ISO 639-1 code such as `en`")
        columns: dict[str, list[str]] = {}
        for mapping in column or ():
            role, _, name = mapping.partition("=")
            if not name or not (role in ROLES or role.startswith("answer_")):
                raise FAQSearchError(f"--column {mapping}: write ROLE=NAME, ROLE one of {', '.join(ROLES)}, answer_xx")
            columns.setdefault(role, []).append(name)
        imported = import_faq(source, format, language, sheet, columns)
        target = out or Path("faqs") / f"{source.stem or 'imported'}.yaml"
        save_faqs(target, imported.language, imported.entries, force, imported.no_match, imported.default_answer)
    except FAQSearchError as exc:
        _fail(exc)
    r = imported.report
    for warning in r.summary():
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(
        f"imported {r.entries} entries ({r.phrasings} phrasings) from {source} ({r.format}); "
        f"language {r.language}, answers in {', '.join(r.languages)}; "
        f"tags: {', '.join(r.tags) or 'none'}; "
        + (f"{len(imported.no_match)} no-match question(s); " if imported.no_match else "")
        + f"{len(r.warnings)} warning(s)"
    )
    typer.echo(f"wrote {target}; next: faqsearch build {target}")
