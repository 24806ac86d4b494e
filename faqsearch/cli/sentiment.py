"""`faqsearch sentiment train|eval`: the sentiment head."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import FAQSearchError
from ..inputs import inert, inert_json
from .common import (
    ENCODER_CHOICES,
    HeadChoice,
    JSONReport,
    _fail,
    sentiment_app,
)


@sentiment_app.command("train")
def sentiment_train(
    train_file: Annotated[Path, typer.Argument(help="Training examples, text<TAB>label per line")],
    dev: Annotated[Path | None, typer.Option(help="Dev examples (same labels): picks the regularization")] = None,
    encoder: Annotated[str, typer.Option(help=f"{ENCODER_CHOICES}: the encoder of the indexes it serves")] = "auto",
    out: Annotated[Path | None, typer.Option(help="Output folder [default: sentiment/<encoder>]")] = None,
):
    """Fit a sentiment head on labelled examples in one language; it then annotates any language."""
    from .. import sentiment
    from ..encoders import get_encoder
    from ..tsv import load_labelled

    try:
        train_data = load_labelled(train_file)
        dev_data = load_labelled(dev) if dev else None
        enc = get_encoder(encoder)
        head = sentiment.train(enc, train_data, dev_data, progress=True)
        target = out or sentiment.DEFAULT_ROOT / enc.name
        head.save(target)
    except FAQSearchError as exc:
        _fail(exc)
    info = head.info
    typer.echo(f"labels: {', '.join(f'{k} {n}' for k, n in train_data.label_counts.items())}; C = {info.settings['C']}")
    for split, scores in info.figures.items():
        typer.echo(
            f"{split:5}  {scores.examples:5} examples  accuracy {scores.accuracy:.3f}  macro-F1 {scores.macro_f1:.3f}"
        )
    typer.echo(f"saved {target} (encoder {enc.name})")


@sentiment_app.command("eval")
def sentiment_eval(
    test_file: Annotated[Path, typer.Argument(help="Test examples, text<TAB>label[<TAB>language] per line")],
    head: HeadChoice = None,
    encoder: Annotated[str, typer.Option(help=ENCODER_CHOICES)] = "auto",
    as_json: JSONReport = False,
):
    """Accuracy, macro-F1, per-label figures and confusion matrix of a sentiment head."""
    from .. import sentiment
    from ..encoders import get_encoder
    from ..tsv import load_labelled

    try:
        data = load_labelled(test_file)
        enc = get_encoder(encoder)
        report = sentiment.evaluate(sentiment.open_head(enc, head), enc, data, progress=True)
    except FAQSearchError as exc:
        _fail(exc)
    if as_json:
        typer.echo(inert_json(report.to_dict(), indent=1))
        return
    o = report.overall
    typer.echo(f"{o.examples} examples  accuracy {o.accuracy:.3f}  macro-F1 {o.macro_f1:.3f}\n")
    width = max(len(label) for label in report.labels) + 2
    typer.echo(f"{'label':{width}} precision  recall     F1  support")
    for label, f in report.per_label.items():
        typer.echo(f"{inert(label):{width}} {f.precision:9.3f} {f.recall:7.3f} {f.f1:6.3f} {f.support:8}")
    typer.echo(
        f"\nconfusion (rows: true label, columns: predicted)\n{'':{width}}"
        + "".join(f"{label[:8]:>9}" for label in report.labels)
    )
    for label, row in zip(report.labels, report.confusion, strict=True):
        typer.echo(f"{inert(label):{width}}" + "".join(f"{n:9}" for n in row))
    if len(report.per_language) > 1:
        typer.echo("\nlanguage  examples  accuracy  macro-F1")
        for language, s in report.per_language.items():
            typer.echo(f"{language:9} {s.examples:8} {s.accuracy:9.3f} {s.macro_f1:9.3f}")
