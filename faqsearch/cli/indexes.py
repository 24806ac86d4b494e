"""`faqsearch build` and `faqsearch rollback`: making and switching index versions."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from ..errors import FAQSearchError
from ..inputs import inert
from .common import (
    ENCODER_CHOICES,
    IndexChoice,
    _fail,
    app,
)


@app.command()
def build(
    faq_file: Annotated[Path, typer.Argument(help="FAQ source, e.g. faqs/en.yaml")],
    index: Annotated[str | None, typer.Option(help="Output folder [default: indexes/<file stem>]")] = None,
    encoder: Annotated[str, typer.Option(help=ENCODER_CHOICES)] = "auto",
    index_type: Annotated[
        str, typer.Option(help="auto (exact search up to 20,000 phrasings, ivf above), flat, hnsw or ivf")
    ] = "auto",
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Fail at once if another build of this index is running [default: wait]")
    ] = False,
    profile: Annotated[bool, typer.Option("--profile", help="Print the seconds each stage of the build took")] = False,
):
    """Embed every phrasing of a FAQ file into an index (only phrasings changed since the last build)."""
    from ..build import build_index
    from ..encoders import AUTO, get_encoder, resolve
    from ..faqs import load_faqs
    from ..index import DEFAULT_ROOT, index_folder
    from ..progress import Timings

    started, timings = time.perf_counter(), Timings()
    try:
        directory = DEFAULT_ROOT / faq_file.stem if index is None else index_folder(index)
        with timings.stage("read", f"reading {faq_file}"):
            faq = load_faqs(faq_file)
        name = resolve(encoder)
        if encoder == AUTO:
            why = "LASER model files found" if name == "laser" else "LASER not available, using the bundled encoder"
            typer.echo(f"encoder: {name} (auto: {why})", err=True)
        with timings.stage("embed"):  # loading the encoder is part of embedding
            chosen = get_encoder(name)
        built = build_index(faq, chosen, directory, index_type, not no_wait, timings)
    except FAQSearchError as exc:
        _fail(exc)
    for note in built.notes:
        typer.echo(f"note: {inert(note)}", err=True)  # may quote the FAQ's phrasings
    seconds = time.perf_counter() - started
    m = built.index.manifest
    typer.echo(
        f"built {inert(str(built.index.path))}: {m.entries} entries, {m.phrasings} phrasings ({m.embedded} embedded, "
        f"{m.phrasings - m.embedded} reused), encoder {m.encoder.name} ({m.encoder.dim}-d), {m.index_type.kind} index, "
        f"no match below confidence {m.calibration.threshold}, {seconds:.1f} s"
    )
    typer.echo(f"confidence: {m.calibration.basis()}")
    if profile:
        typer.echo("where the time went:")
        for line in built.timings.lines():
            typer.echo(f"  {line}")


@app.command()
def rollback(index: IndexChoice = None):
    """Switch an index back to its previous version (the one before the last build)."""
    from ..build import build_lock
    from ..index import index_folder, locate_index, read_manifest
    from ..versions import rollback as switch_back

    try:
        if index is not None:
            index_folder(index)  # '' or '/': refused before anything is looked up or locked
        path = locate_index(index)
        with build_lock(path):
            switch_back(path)
        manifest = read_manifest(path.resolve())
    except FAQSearchError as exc:
        _fail(exc)
    typer.echo(inert(f"{path} now serves the version built at {manifest.built_at} from {manifest.source_path}"))
