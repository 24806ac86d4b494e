"""`faqsearch review`: what customers asked that is most worth a label, and writing labels into
the FAQ (then rebuilding its index)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..errors import FAQSearchError
from ..inputs import inert, inert_json
from .common import IndexChoice, _fail, app


@app.command()
def review(
    path: Annotated[Path, typer.Argument(help="The question log; with --apply, the FAQ file to write labels into")],
    index: IndexChoice = None,
    per_language: Annotated[int, typer.Option(min=1, max=1000, help="Questions listed per language")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="The whole review as one JSON object")] = False,
    out: Annotated[
        Path | None, typer.Option(help="Write the listed questions with their suggested labels to this label file")
    ] = None,
    interactive: Annotated[
        bool, typer.Option("--interactive", "-i", help="Label them here, a key per choice; written to --out")
    ] = False,
    apply: Annotated[
        Path | None, typer.Option(help="A label file to write into the FAQ file PATH, then rebuild its index")
    ] = None,
):
    """List the logged questions most worth a label (uncertain, near-duplicates grouped, every
    language), and new entry suggestions; or, with --apply, write labels into the FAQ and rebuild."""
    if apply is not None:
        _apply(apply, path, index)
        return
    from ..index import locate_index
    from ..labels import line
    from ..review import choose_from_log
    from ..search import FAQSearch

    target = out or Path("labels.jsonl")
    try:
        folder = locate_index(index)
        chosen, notes = choose_from_log(path, FAQSearch.open(folder), folder.name, per_language)
        if interactive:
            from .terminal import label_interactively

            labels = label_interactively(chosen.items)
            if chosen.confident and typer.confirm(_accept_question(chosen), default=True):
                labels += _accepted(chosen)
        else:
            labels = [line(i.question, i.language, i.suggested, i.covers) for i in chosen.items] + _accepted(chosen)
        if out is not None or interactive:
            target.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in labels), encoding="utf-8")
    except FAQSearchError as exc:
        _fail(exc)
    except OSError as exc:
        _fail(FAQSearchError(f"cannot write {target} ({exc.strerror or exc}); choose a writable --out"))
    for note in notes:
        typer.echo(f"note: {inert(note)}", err=True)
    if as_json:
        typer.echo(inert_json(chosen.to_dict() | {"notes": notes}, indent=1))
    elif not interactive:
        _print(chosen)
    if out is not None or interactive:
        typer.echo(f"{len(labels)} labels written to {target}; apply them with `faqsearch review --apply`")


def _accepted(chosen) -> list[dict]:
    """Label file lines accepting the confidently answered questions with the entry they got."""
    from ..labels import line

    return [line(q, lang, entry) for q, lang, entry in chosen.confident]


def _accept_question(chosen) -> str:
    from ..review import CONFIDENT

    return f"also accept the {len(chosen.confident)} questions answered with confidence >= {CONFIDENT} as phrasings?"


def _print(chosen) -> None:
    if not chosen.items:
        typer.echo("nothing to review: every logged question is in the FAQ or answered with confidence")
    for item in chosen.items:
        candidates = ", ".join(f"{i} {c:.2f}" for i, c in item.candidates) or "-"
        typer.echo(f"[{item.language}] {inert(item.question)}")
        typer.echo(
            f"    stands for {item.represents}; {item.reason}; suggested: {item.suggested}; candidates: {candidates}"
        )
        if item.covers:
            shown = "; ".join(f"{inert(t)} ({lang})" for t, lang in item.covers[:3])
            more = f" and {len(item.covers) - 3} more" if len(item.covers) > 3 else ""
            typer.echo(f"    also covers: {shown}{more}")
    if chosen.new_entries:
        typer.echo("\nnew entry suggestions (asked, and near no entry):")
        for group in chosen.new_entries:
            languages = ", ".join(f"{lang} {n}" for lang, n in group.languages.items())
            typer.echo(f"  {group.count} questions ({languages}), e.g. " + " / ".join(map(inert, group.examples)))
    if chosen.left_out:
        typer.echo("\nleft out: " + "; ".join(f"{why}: {n}" for why, n in chosen.left_out.items()))
    if chosen.confident:
        typer.echo(
            f"{len(chosen.confident)} questions answered with confidence go into --out with the entry they got, "
            "to accept as phrasings (delete a line to refuse one)"
        )


def _apply(labels_path: Path, faq_path: Path, index: str | None) -> None:
    from ..build import build_index
    from ..encoders import get_encoder, resolve
    from ..faqs import load_faqs
    from ..index import DEFAULT_ROOT, index_folder, read_manifest
    from ..labels import apply, load_labels

    try:
        faq = load_faqs(faq_path)
        labels = load_labels(labels_path, faq)
        applied = apply(faq, labels)
        directory = DEFAULT_ROOT / faq_path.stem if index is None else index_folder(index)
        try:
            name = read_manifest(directory.resolve()).encoder.name  # the encoder it was built with
        except (FAQSearchError, OSError):
            name = resolve("auto")
        built = build_index(load_faqs(faq_path), get_encoder(name), directory)
    except FAQSearchError as exc:
        _fail(exc)
    m = built.index.manifest
    typer.echo(
        f"wrote {applied.phrasings} phrasings, {applied.no_match} no-match questions and "
        f"{len(applied.new_entries)} new entries into {inert(str(faq_path))}; rebuilt {inert(str(built.index.path))} "
        f"({m.embedded} embedded, {m.phrasings - m.embedded} reused)"
    )
    typer.echo(f"confidence: {m.calibration.basis()}")
