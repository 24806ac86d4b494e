"""`faqsearch models list|download`: encoder model files."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import FAQSearchError
from ..inputs import inert
from .common import (
    _fail,
    models_app,
)


@models_app.command("list")
def models_list():
    """Show each encoder and whether it can run here (and why not)."""
    from ..encoders import ENCODERS, resolve
    from ..models import models_dir

    # The paths below come from the environment ($FAQSEARCH_MODELS_DIR, $XDG_CACHE_HOME, $HOME).
    typer.echo(inert(f"models folder: {models_dir()}  (set $FAQSEARCH_MODELS_DIR to change)"))
    width = max(map(len, ENCODERS))
    for name, cls in ENCODERS.items():
        reason = cls.unavailable_reason()
        where = cls.model_files() if reason is None else None
        files = f" ({where})" if where else ""
        typer.echo(inert(f"{name:{width}} {'available' + files if reason is None else 'unavailable: ' + reason}"))
    typer.echo(f"{'auto':{width}} -> {resolve('auto')}")


@models_app.command("download")
def models_download(encoder: Annotated[str, typer.Argument(help="Only `laser` needs a download")]):
    """Download an encoder's model files into the models folder (needs internet)."""
    from ..models import download_laser

    if encoder != "laser":
        _fail(FAQSearchError(f"`{encoder}` needs no download (only `laser` does); see `faqsearch models list`"))
    try:
        target = download_laser()
    except FAQSearchError as exc:
        _fail(exc)
    typer.echo(inert(f"LASER model files are in {target}"))
