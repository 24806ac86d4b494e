"""`faqsearch ask` and `faqsearch eval`: answers, and how good they are on labelled questions."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from ..errors import FAQSearchError
from ..inputs import inert, inert_json, inert_lines, read_stdin, read_text
from .common import (
    QUESTION_LOG,
    HeadChoice,
    IndexChoice,
    JSONReport,
    Strict,
    _fail,
    app,
)


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
    question_log: QUESTION_LOG = None,
    strict: Strict = False,
):
    """Answer questions in any language from an index."""
    from ..index import locate_index
    from ..search import FAQSearch

    try:
        texts = _read_questions(questions or [], file)
        path = locate_index(index)
        faq = FAQSearch.open(path, sentiment_head=sentiment_head, strict=strict)
        answers = faq.ask_many(
            texts, k=k, min_confidence=min_confidence, sentiment=sentiment or bool(sentiment_head), tags=tag or ()
        )
    except FAQSearchError as exc:
        _fail(exc)
    if question_log is not None:
        _log_questions(question_log, path.name, faq.index.manifest.built_at, answers)
    for answer in answers:
        if as_json:
            typer.echo(inert_json(answer.to_dict()))
        else:
            _print_answer(answer, k, len(answers) > 1)


def _log_questions(log: Path, index: str, version: str, answers: list) -> None:
    """Append the answers to the question log as one request; a log that cannot be written costs
    a warning, never the answers."""
    import uuid

    from ..questionlog import Log

    try:
        Log(log).questions(uuid.uuid4().hex, index, version, answers)
    except Exception as exc:
        typer.echo(f"warning: cannot append to the question log {inert(str(log))}: {inert(repr(exc))}", err=True)


def _read_questions(arguments: list[str], file: Path | None) -> list[str]:
    """The questions of the arguments, of stdin for `-` and of --file, in that order; stdin and
    the file are read as every input is (inputs.py): bounded, UTF-8, no control characters."""
    what = "questions (one per line)"
    lines: list[str] = []
    for argument in arguments:
        lines.extend(read_stdin(what).splitlines() if argument == "-" else [argument])
    if file is not None:
        lines.extend(read_text(file, f"a file of {what}")[1].splitlines())
    questions = [line for line in lines if line.strip()]
    if not questions:
        raise FAQSearchError("no question given; pass one as an argument, `-` for stdin, or --file F")
    return questions


def _print_answer(answer, k: int, show_query: bool) -> None:
    """An answer as lines of text; the question, phrasings and answer came from outside (inert)."""
    if show_query:
        typer.echo(f"> {inert(answer.query)}")
    if answer.match is None:
        best = answer.candidates[0] if answer.candidates else None
        closest = f" (closest: {best.id}, confidence {best.confidence:.2f})" if best else ""
        typer.echo(f"no match [{answer.language}]: {answer.no_match}{closest}")
        if answer.did_you_mean:
            typer.echo(
                "  did you mean: " + " / ".join(f"{h.id} ({inert(h.matched_question)})" for h in answer.did_you_mean)
            )
        if answer.default_answer:
            typer.echo(f"  default answer: {inert_lines(answer.default_answer, '    ')}")
    else:
        hit = answer.match
        typer.echo(f"{hit.id}  confidence {hit.confidence:.2f}  [query language: {answer.language}]")
        typer.echo(f"  matched: {inert(hit.matched_question)}")
        typer.echo(f"  answer ({hit.answer_language}): {inert_lines(hit.answer, '    ')}")
        for related in hit.related:
            typer.echo(f"  related: {related.id} ({inert(related.text)})")
    if answer.sentiment is not None:
        typer.echo(f"  sentiment: {answer.sentiment.label} ({answer.sentiment.confidence:.2f})")
    if k > 1:
        for rank, hit in enumerate(answer.candidates, 1):
            typer.echo(
                f"  {rank}. {hit.confidence:.2f} (score {hit.score:.3f})  {hit.id}: {inert(hit.matched_question)}"
            )
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
    compare: Annotated[
        str | None,
        typer.Option(help="Also ask `previous` (the index's version before its last build) or another index: gains"),
    ] = None,
    strict: Strict = False,
):
    """Measure answer quality on labelled questions: per language, overall, worst confusions, and
    the no-match trade-off over the confidence threshold; with --compare, each language's gains."""
    from ..evaluation import evaluate, gains, load_queries, threshold_for
    from ..index import locate_index
    from ..search import FAQSearch

    try:
        path = locate_index(index)
        faq = FAQSearch.open(path, strict=strict)
        report = evaluate(faq, load_queries(queries, {e.id for e in faq.index.entries}))
        against = None if compare is None else _compared(path, compare)
        before = None if against is None else evaluate(FAQSearch.open(against), load_queries(queries))
        target = None if target_rejected is None else threshold_for(report.outcomes, target_rejected)
        if target_rejected is not None and target is None:
            raise FAQSearchError(
                f"--target-rejected: {queries} has no question with `expected: none`; add unanswerable questions"
            )
    except FAQSearchError as exc:
        _fail(exc)
    changed = [] if before is None else gains(before, report)
    if as_json:
        data = report.to_dict() | ({"target": asdict(target)} if target else {})
        data |= {"compared_with": str(against), "gains": [asdict(g) for g in changed]} if before else {}
        typer.echo(inert_json(data, indent=1))
    else:
        _print_report(report, faq.min_confidence)
        if before is not None:
            _print_gains(changed, against)
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


def _compared(path: Path, compare: str) -> Path:
    """The index `--compare` names: `previous` is `path`'s version before its last build."""
    from ..index import locate_index
    from ..versions import previous

    if compare != "previous":
        return locate_index(compare)
    earlier = previous(path)
    if earlier is None:
        raise FAQSearchError(f"--compare previous: {path} has no earlier version; rebuild it first, or name an index")
    return earlier


def _print_gains(changed, against: Path) -> None:
    typer.echo(f"\ngains over {inert(str(against))} (accuracy@1 and answered right, before -> after):")
    typer.echo("language  answerable  acc@1 before  after   gain  answered right before  after   gain")
    for g in changed:
        acc, right = g.accuracy_after - g.accuracy_before, g.answered_right_after - g.answered_right_before
        typer.echo(
            f"{g.language:9} {g.answerable:10}  {pct(g.accuracy_before):>12}  {pct(g.accuracy_after)}  {pct(acc)}"
            f"  {pct(g.answered_right_before):>21}  {pct(g.answered_right_after)}  {pct(right)}"
        )


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
            typer.echo(f'  {c.count:3}  {c.expected} -> {c.returned}   e.g. "{inert(c.example)}"')
    if report.overall.unanswerable:
        typer.echo(f"\nno-match trade-off (the index's threshold: {threshold}):")
        typer.echo("threshold  none rejected  answered  answered right")
        for p in report.curve:
            typer.echo(f"{p.threshold:9.2f}  {pct(p.rejected):>13}  {pct(p.answered):>8}  {pct(p.answered_right):>14}")
