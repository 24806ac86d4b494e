"""What every command shares: the app, its sub-apps, common options and the one-line error exit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import FAQSearchError
from ..inputs import inert

app = typer.Typer(help="Multilingual FAQ semantic search.", no_args_is_help=True, add_completion=False)
models_app = typer.Typer(help="List and download encoder models.", no_args_is_help=True)
app.add_typer(models_app, name="models")
sentiment_app = typer.Typer(help="Train and evaluate the sentiment head.", no_args_is_help=True)
app.add_typer(sentiment_app, name="sentiment")
cluster_app = typer.Typer(help="The service on a Ray cluster (pip install 'faqsearch[cluster]').", no_args_is_help=True)
app.add_typer(cluster_app, name="cluster")

# Options several commands share.
IndexChoice = Annotated[
    str | None, typer.Option("--index", help="Index name under indexes/ or folder [default: the only one]")
]
HeadChoice = Annotated[
    Path | None, typer.Option(help="Sentiment head folder [default: sentiment/<encoder>, else the shipped one]")
]
JSONReport = Annotated[bool, typer.Option("--json", help="The whole report as one JSON object")]
Strict = Annotated[
    bool, typer.Option("--strict", help="Refuse an index whose FAQ file changed since it was built [default: warn]")
]
UNANSWERED_LOG = "[default: indexes/unanswered.jsonl]"
QUESTION_LOG = Annotated[
    Path | None,
    typer.Option(help="Append every question asked, redacted, and its answer's ids to this file [default: none]"),
]
ENCODER_CHOICES = "auto, laser, e5, e5-aligned, use or e5+use"


def _fail(exc: FAQSearchError):
    typer.echo(f"error: {inert(str(exc))}", err=True)  # a message may quote a file's or a customer's text
    raise typer.Exit(exc.exit_code)
