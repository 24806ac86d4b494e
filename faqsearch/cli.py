"""Command line: parse arguments, call the library, print. No logic of its own."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from .errors import FAQSearchError

app = typer.Typer(help="Multilingual FAQ semantic search.", no_args_is_help=True, add_completion=False)
models_app = typer.Typer(help="List and download encoder models.", no_args_is_help=True)
app.add_typer(models_app, name="models")
sentiment_app = typer.Typer(help="Train and evaluate the sentiment head.", no_args_is_help=True)
app.add_typer(sentiment_app, name="sentiment")

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
ENCODER_CHOICES = "auto, laser, e5, e5-aligned, use or e5+use"


def _fail(exc: FAQSearchError):
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(exc.exit_code)


@app.command()
def build(
    faq_file: Annotated[Path, typer.Argument(help="FAQ source, e.g. faqs/en.yaml")],
    index: Annotated[Path | None, typer.Option(help="Output folder [default: indexes/<file stem>]")] = None,
    encoder: Annotated[str, typer.Option(help=ENCODER_CHOICES)] = "auto",
    index_type: Annotated[
        str, typer.Option(help="auto (exact search up to 20,000 phrasings, ivf above), flat, hnsw or ivf")
    ] = "auto",
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Fail at once if another build of this index is running [default: wait]")
    ] = False,
):
    """Embed every phrasing of a FAQ file into an index (only phrasings changed since the last build)."""
    from .build import build_index
    from .encoders import AUTO, get_encoder, resolve
    from .faqs import load_faqs
    from .index import DEFAULT_ROOT
    from .progress import stage

    started = time.perf_counter()
    try:
        with stage(f"reading {faq_file}"):
            faq = load_faqs(faq_file)
        name = resolve(encoder)
        if encoder == AUTO:
            why = "LASER model files found" if name == "laser" else "LASER not available, using the bundled encoder"
            typer.echo(f"encoder: {name} (auto: {why})", err=True)
        built = build_index(faq, get_encoder(name), index or DEFAULT_ROOT / faq_file.stem, index_type, not no_wait)
    except FAQSearchError as exc:
        _fail(exc)
    for note in built.notes:
        typer.echo(f"note: {note}", err=True)
    seconds = time.perf_counter() - started
    m = built.index.manifest
    typer.echo(
        f"built {built.index.path}: {m.entries} entries, {m.phrasings} phrasings ({m.embedded} embedded, "
        f"{m.phrasings - m.embedded} reused), encoder {m.encoder.name} ({m.encoder.dim}-d), {m.index_type.kind} index, "
        f"no match below confidence {m.calibration.threshold}, {seconds:.1f} s"
    )


@app.command()
def rollback(index: IndexChoice = None):
    """Switch an index back to its previous version (the one before the last build)."""
    from .build import build_lock
    from .index import locate_index, read_manifest
    from .versions import rollback as switch_back

    try:
        path = locate_index(index)
        with build_lock(path):
            switch_back(path)
        manifest = read_manifest(path.resolve())
    except FAQSearchError as exc:
        _fail(exc)
    typer.echo(f"{path} now serves the version built at {manifest.built_at} from {manifest.source_path}")


@app.command()
def ask(
    questions: Annotated[
        list[str] | None, typer.Argument(help="Question(s); `-` reads one per line from stdin")
    ] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Read questions from a file, one per line")] = None,
    index: IndexChoice = None,
    k: Annotated[int, typer.Option("-k", help="How many distinct entries to show")] = 1,
    min_confidence: Annotated[
        float | None, typer.Option(help="No match below this confidence, 0-1 [default: the index's, 0.5]")
    ] = None,
    sentiment: Annotated[bool, typer.Option("--sentiment", help="Also say if the customer is upset")] = False,
    sentiment_head: HeadChoice = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Only entries carrying this tag; repeat for any of several")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per question (JSON Lines)")] = False,
    strict: Strict = False,
):
    """Answer questions in any language from an index."""
    from .index import locate_index
    from .search import FAQSearch

    try:
        texts = _read_questions(questions or [], file)
        faq = FAQSearch.open(locate_index(index), sentiment_head=sentiment_head, strict=strict)
        answers = faq.ask_many(
            texts, k=k, min_confidence=min_confidence, sentiment=sentiment or bool(sentiment_head), tags=tag or ()
        )
    except FAQSearchError as exc:
        _fail(exc)
    for answer in answers:
        if as_json:
            typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
        else:
            _print_answer(answer, k, len(answers) > 1)


def _read_questions(arguments: list[str], file: Path | None) -> list[str]:
    lines: list[str] = []
    for argument in arguments:
        lines.extend(sys.stdin.read().splitlines() if argument == "-" else [argument])
    if file is not None:
        try:
            lines.extend(file.read_text(encoding="utf-8").splitlines())
        except (OSError, UnicodeDecodeError) as exc:
            raise FAQSearchError(f"cannot read questions from {file}: {exc}") from None
    questions = [line for line in lines if line.strip()]
    if not questions:
        raise FAQSearchError("no question given; pass one as an argument, `-` for stdin, or --file F")
    return questions


def _print_answer(answer, k: int, show_query: bool) -> None:
    if show_query:
        typer.echo(f"> {answer.query}")
    if answer.match is None:
        best = answer.candidates[0] if answer.candidates else None
        closest = f" (closest: {best.id}, confidence {best.confidence:.2f})" if best else ""
        typer.echo(f"no match [{answer.language}]: {answer.no_match}{closest}")
        if answer.did_you_mean:
            typer.echo("  did you mean: " + " / ".join(f"{h.id} ({h.matched_question})" for h in answer.did_you_mean))
    else:
        hit = answer.match
        typer.echo(f"{hit.id}  confidence {hit.confidence:.2f}  [query language: {answer.language}]")
        typer.echo(f"  matched: {hit.matched_question}")
        typer.echo(f"  answer ({hit.answer_language}): {hit.answer}")
    if answer.sentiment is not None:
        typer.echo(f"  sentiment: {answer.sentiment.label} ({answer.sentiment.confidence:.2f})")
    if k > 1:
        for rank, hit in enumerate(answer.candidates, 1):
            typer.echo(f"  {rank}. {hit.confidence:.2f} (score {hit.score:.3f})  {hit.id}: {hit.matched_question}")
    if show_query:
        typer.echo("")


@app.command("eval")
def eval_(
    queries: Annotated[Path, typer.Argument(help="Labelled questions, e.g. tests/queries.yaml")],
    index: IndexChoice = None,
    as_json: JSONReport = False,
    min_accuracy: Annotated[
        float | None, typer.Option(help="Exit with status 1 if overall accuracy@1 is below this")
    ] = None,
    target_rejected: Annotated[
        float | None,
        typer.Option(min=0, max=1, help="Print the threshold at which this share of `none` questions gets no match"),
    ] = None,
    strict: Strict = False,
):
    """Measure answer quality on labelled questions: per language, overall, worst confusions, and
    the no-match trade-off over the confidence threshold."""
    from .evaluation import evaluate, load_queries, threshold_for
    from .index import locate_index
    from .search import FAQSearch

    try:
        faq = FAQSearch.open(locate_index(index), strict=strict)
        report = evaluate(faq, load_queries(queries, {e.id for e in faq.index.entries}))
        target = None if target_rejected is None else threshold_for(report.outcomes, target_rejected)
        if target_rejected is not None and target is None:
            raise FAQSearchError(
                f"--target-rejected: {queries} has no question with `expected: none`; add unanswerable questions"
            )
    except FAQSearchError as exc:
        _fail(exc)
    if as_json:
        data = report.to_dict() | ({"target": asdict(target)} if target else {})
        typer.echo(json.dumps(data, ensure_ascii=False, indent=1))
    else:
        _print_report(report, faq.min_confidence)
        if target is not None:
            typer.echo(
                f"\n--target-rejected {target_rejected}: threshold {target.threshold:.4f} rejects "
                f"{pct(target.rejected).strip()}% and answers {pct(target.answered_right).strip()}% right; use it with "
                f"`faqsearch ask --min-confidence {target.threshold:.4f}` (HTTP: min_confidence)"
            )
    accuracy = report.overall.accuracy_at_1
    if min_accuracy is not None and not accuracy >= min_accuracy:
        typer.echo(f"error: accuracy@1 {accuracy:.3f} is below --min-accuracy {min_accuracy}", err=True)
        raise typer.Exit(1)


def pct(x: float) -> str:
    return "    -" if x != x else f"{100 * x:5.1f}"  # NaN: no such questions


def _print_report(report, threshold: float) -> None:
    typer.echo("language  questions  acc@1  MRR@5  answered  none  rejected")
    rows = [*report.per_language.items(), ("overall", report.overall)]
    for language, f in rows:
        typer.echo(
            f"{language:9} {f.questions:9}  {pct(f.accuracy_at_1)}  {pct(f.mrr_at_5)}  {pct(f.answered):>8}"
            f"  {f.unanswerable:4}  {pct(f.rejected):>8}"
        )
    typer.echo(
        f"\nno match: precision {pct(report.no_match_precision)}%, recall {pct(report.no_match_recall)}%; "
        f"expected calibration error {report.expected_calibration_error:.3f}"
    )
    if report.confusions:
        typer.echo("\nworst confusions (expected -> returned instead):")
        for c in report.confusions:
            typer.echo(f"  {c.count:3}  {c.expected} -> {c.returned}   e.g. {c.example!r}")
    if report.overall.unanswerable:
        typer.echo(f"\nno-match trade-off (the index's threshold: {threshold}):")
        typer.echo("threshold  none rejected  answered  answered right")
        for p in report.curve:
            typer.echo(f"{p.threshold:9.2f}  {pct(p.rejected):>13}  {pct(p.answered):>8}  {pct(p.answered_right):>14}")


@app.command()
def serve(
    index: Annotated[
        list[str] | None, typer.Option(help="Index name or folder; repeat to serve several [default: all in indexes/]")
    ] = None,
    indexes_dir: Annotated[
        Path | None,
        typer.Option(help="Serve every index under this folder by name (tenants), each opened on its first request"),
    ] = None,
    max_memory: Annotated[
        str | None,
        typer.Option(help="With --indexes-dir: memory the open indexes may take, e.g. 2GiB [default: half of RAM]"),
    ] = None,
    metrics_index: Annotated[
        list[str] | None,
        typer.Option(help="With --indexes-dir: a tenant whose metrics get their own label (repeatable; others: other)"),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to bind; anything but loopback needs $FAQSEARCH_TOKEN")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    sentiment_head: HeadChoice = None,
    unanswered_log: Annotated[
        Path | None, typer.Option(help=f"Where questions without a match are appended {UNANSWERED_LOG}")
    ] = None,
    unanswered_days: Annotated[
        int, typer.Option(min=1, help="Delete unanswered questions older than this many days")
    ] = 30,
    no_unanswered_log: Annotated[
        bool, typer.Option("--no-unanswered-log", help="Store no customer question at all")
    ] = False,
    strict: Strict = False,
):
    """Serve indexes over HTTP for chatbots (POST /ask, /indexes/NAME/ask; GET /health, /indexes, /docs, /)."""
    import uvicorn

    from .memory import parse_size
    from .serving.app import TOKEN_ENV, create_app, loopback, token_from_environment
    from .serving.tenants import Tenants
    from .unanswered import DEFAULT_LOG

    token = token_from_environment()
    try:
        if indexes_dir is not None and index:
            raise FAQSearchError("give --index or --indexes-dir, not both")
        if indexes_dir is None and (max_memory or metrics_index):
            raise FAQSearchError("--max-memory and --metrics-index go with --indexes-dir")
        try:
            bound = None if max_memory is None else parse_size(max_memory)
        except ValueError as exc:
            raise FAQSearchError(f"--max-memory: {exc}") from None
        if indexes_dir is not None:
            tenants = Tenants.folder(indexes_dir, bound, sentiment_head, strict, frozenset(metrics_index or ()))
            served = f"the indexes under {indexes_dir}"
        else:
            tenants = Tenants.listed(index, sentiment_head, strict)
            served = ", ".join(tenants.fixed)
        log = None if no_unanswered_log else unanswered_log or DEFAULT_LOG
        application = create_app(tenants, log, token, unanswered_days)
    except FAQSearchError as exc:
        _fail(exc)
    if not loopback(host) and token is None:
        typer.secho(
            f"WARNING: serving on {host} without a token: anyone who can reach this machine can query it. "
            f"Set ${TOKEN_ENV} to require `Authorization: Bearer <token>`.",
            err=True,
            fg="red",
            bold=True,
        )
    typer.echo(f"serving {served} on http://{host}:{port}/ (docs: /docs)", err=True)
    uvicorn.run(application, host=host, port=port, log_level="warning")


@app.command("unanswered")
def unanswered_(
    log: Annotated[Path | None, typer.Argument(help=f"The serve log {UNANSWERED_LOG}")] = None,
    index: Annotated[str | None, typer.Option(help="Only this index's questions")] = None,
    top: Annotated[int, typer.Option(help="Questions shown per nearest entry")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="All groups as one JSON array")] = False,
):
    """Questions that got no match, most frequent first, grouped by their nearest entry."""
    from .unanswered import DEFAULT_LOG, summarise

    try:
        groups = summarise(log or DEFAULT_LOG, index)
    except FAQSearchError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps([asdict(g) for g in groups], ensure_ascii=False, indent=1))
        return
    for group in groups:
        why = ", ".join(f"{reason} {n}" for reason, n in group.reasons.items())
        typer.echo(f"{group.count:5}  nearest: {group.nearest}  ({why})")
        for question, count in group.questions[:top]:
            typer.echo(f"{count:9}  {question}")


@sentiment_app.command("train")
def sentiment_train(
    train_file: Annotated[Path, typer.Argument(help="Training examples, text<TAB>label per line")],
    dev: Annotated[Path | None, typer.Option(help="Dev examples (same labels): picks the regularization")] = None,
    encoder: Annotated[str, typer.Option(help=f"{ENCODER_CHOICES}: the encoder of the indexes it serves")] = "auto",
    out: Annotated[Path | None, typer.Option(help="Output folder [default: sentiment/<encoder>]")] = None,
):
    """Fit a sentiment head on labelled examples in one language; it then annotates any language."""
    from . import sentiment
    from .encoders import get_encoder
    from .tsv import load_labelled

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
    from . import sentiment
    from .encoders import get_encoder
    from .tsv import load_labelled

    try:
        data = load_labelled(test_file)
        enc = get_encoder(encoder)
        report = sentiment.evaluate(sentiment.open_head(enc, head), enc, data, progress=True)
    except FAQSearchError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
        return
    o = report.overall
    typer.echo(f"{o.examples} examples  accuracy {o.accuracy:.3f}  macro-F1 {o.macro_f1:.3f}\n")
    width = max(len(label) for label in report.labels) + 2
    typer.echo(f"{'label':{width}} precision  recall     F1  support")
    for label, f in report.per_label.items():
        typer.echo(f"{label:{width}} {f.precision:9.3f} {f.recall:7.3f} {f.f1:6.3f} {f.support:8}")
    typer.echo(
        f"\nconfusion (rows: true label, columns: predicted)\n{'':{width}}"
        + "".join(f"{label[:8]:>9}" for label in report.labels)
    )
    for label, row in zip(report.labels, report.confusion, strict=True):
        typer.echo(f"{label:{width}}" + "".join(f"{n:9}" for n in row))
    if len(report.per_language) > 1:
        typer.echo("\nlanguage  examples  accuracy  macro-F1")
        for language, s in report.per_language.items():
            typer.echo(f"{language:9} {s.examples:8} {s.accuracy:9.3f} {s.macro_f1:9.3f}")


@models_app.command("list")
def models_list():
    """Show each encoder and whether it can run here (and why not)."""
    from .encoders import ENCODERS, resolve
    from .models import models_dir

    typer.echo(f"models folder: {models_dir()}  (set $FAQSEARCH_MODELS_DIR to change)")
    width = max(map(len, ENCODERS))
    for name, cls in ENCODERS.items():
        reason = cls.unavailable_reason()
        where = cls.model_files() if reason is None else None
        files = f" ({where})" if where else ""
        typer.echo(f"{name:{width}} {'available' + files if reason is None else 'unavailable: ' + reason}")
    typer.echo(f"{'auto':{width}} -> {resolve('auto')}")


@models_app.command("download")
def models_download(encoder: Annotated[str, typer.Argument(help="Only `laser` needs a download")]):
    """Download an encoder's model files into the models folder (needs internet)."""
    from .models import download_laser

    if encoder != "laser":
        _fail(FAQSearchError(f"`{encoder}` needs no download (only `laser` does); see `faqsearch models list`"))
    try:
        target = download_laser()
    except FAQSearchError as exc:
        _fail(exc)
    typer.echo(f"LASER model files are in {target}")
