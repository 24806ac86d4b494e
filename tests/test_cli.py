"""The command line as the README shows it: build, ask (text, JSON, -k, stdin, --file), models."""

from __future__ import annotations

import errno
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SMALL_FAQ

from faqsearch import progress


@pytest.fixture
def shop(cli, small_faq):
    result = cli("build", str(small_faq))
    assert result.exit_code == 0, result.stderr
    return small_faq


def test_build_reports_what_it_built_and_which_encoder(cli, small_faq):
    result = cli("build", str(small_faq))
    assert result.exit_code == 0
    assert "encoder: e5-aligned (auto: LASER not available, using the bundled encoder)" in result.stderr
    assert (
        "built indexes/shop: 3 entries, 5 phrasings (5 embedded, 0 reused), encoder e5-aligned (384-d), flat"
        in result.stdout
    )
    # 3 entries, 4 of whose phrasings have a sibling to be asked as questions: confidence says what it rests on
    assert "confidence: its own 4 phrasings asked as questions (1%) and the public default (99%)" in result.stdout
    assert "a FAQ of 5 phrasings is too small to measure where its own in-domain questions sit" in result.stderr
    assert (small_faq.parent.parent / "indexes" / "shop" / "manifest.json").is_file()
    again = cli("build", str(small_faq))
    assert "5 phrasings (0 embedded, 5 reused)" in again.stdout


def test_build_with_an_unknown_or_unavailable_encoder(cli, small_faq):
    unknown = cli("build", str(small_faq), "--encoder", "bert")
    assert unknown.exit_code == 2 and "unknown encoder `bert`; choose one of: auto, laser, e5, use" in unknown.stderr
    laser = cli("build", str(small_faq), "--encoder", "laser")
    assert laser.exit_code == 2 and "encoder `laser` is not available" in laser.stderr
    assert not (small_faq.parent.parent / "indexes").exists()


def test_ask_prints_the_answer_in_the_query_language(cli, shop):
    result = cli("ask", "¿Cómo puedo cancelar mi suscripción?")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("cancel-subscription  confidence ") and lines[0].endswith("[query language: es]")
    assert lines[1] == "  matched: How do I cancel my subscription?"
    assert lines[2] == "  answer (es): Ve a Ajustes > Facturación > Cancelar plan."


def test_ask_json_schema(cli, shop):
    result = cli("ask", "--json", "-k", "3", "Wie setze ich mein Passwort zurück?")
    assert result.exit_code == 0
    [line] = result.stdout.splitlines()
    answer = json.loads(line)
    assert set(answer) == {
        "query", "language", "match", "candidates", "sentiment", "no_match", "did_you_mean", "default_answer"
    }  # fmt: skip
    assert answer["query"] == "Wie setze ich mein Passwort zurück?" and answer["language"] == "de"
    assert answer["no_match"] is None and answer["did_you_mean"] == []
    assert answer["match"]["id"] == "reset-password"
    assert set(answer["match"]) == {
        "id", "matched_question", "answer", "answer_language", "score", "confidence", "related"
    }  # fmt: skip
    assert answer["match"]["answer_language"] == "en"  # the FAQ has no German answer for it
    ids = [c["id"] for c in answer["candidates"]]
    assert len(ids) == 3 == len(set(ids)) and ids[0] == "reset-password"
    assert answer["candidates"][0] == answer["match"]


def test_k_counts_entries_not_phrasings(cli, shop):
    answer = json.loads(cli("ask", "--json", "-k", "10", "track my package").stdout)
    assert answer["candidates"][0]["id"] == "track-order"
    assert len(answer["candidates"]) == 3  # only 3 entries exist, 5 phrasings


def test_no_match_and_min_confidence(cli, shop):
    text = cli("ask", "What is the capital of Australia?")
    assert text.exit_code == 0 and text.stdout.startswith("no match [en]: off_topic (closest: ")
    answer = json.loads(cli("ask", "--json", "What is the capital of Australia?").stdout)
    assert answer["match"] is None and len(answer["candidates"]) == 1
    assert answer["no_match"] == "off_topic" and answer["did_you_mean"] == []
    assert answer["candidates"][0]["confidence"] < 0.5  # the index's default threshold
    forced = json.loads(cli("ask", "--json", "--min-confidence", "0", "What is the capital of Australia?").stdout)
    assert forced["match"] == forced["candidates"][0]
    strict = json.loads(cli("ask", "--json", "--min-confidence", "1", "Where is my order?").stdout)
    assert strict["match"] is None and strict["candidates"][0]["id"] == "track-order"
    assert strict["no_match"] == "low_confidence"  # near an entry, but no confidence reaches 1
    wrong = cli("ask", "--min-confidence", "80", "Where is my order?")
    assert wrong.exit_code == 2 and "min_confidence must be between 0 and 1, got 80.0" in wrong.stderr


def test_a_question_over_the_http_limit_is_refused_on_the_command_line_too(cli, shop):
    result = cli("ask", "where " * 200)
    assert result.exit_code == 2
    assert "error: question 1 is 1,199 characters; the limit is 1,000" in result.stderr
    assert "Traceback" not in result.stderr


def test_questions_from_stdin_and_file_keep_their_order(cli, shop, workdir):
    questions = ["Where is my order?", "", "Olvidé mi contraseña, ¿cómo la restablezco?", "I want to stop my plan"]
    result = cli("ask", "--json", "-", input="\n".join(questions) + "\n")
    assert result.exit_code == 0
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["query"] for a in answers] == [q for q in questions if q]
    assert [a["candidates"][0]["id"] for a in answers] == ["track-order", "reset-password", "cancel-subscription"]
    (workdir / "questions.txt").write_text("\n".join(questions), encoding="utf-8")
    from_file = cli("ask", "--json", "--file", "questions.txt")
    assert from_file.stdout == result.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((), "no question given"),
        (("-k", "0", "hi"), "k must be between 1 and 100"),
        (("--file", "missing.txt"), "missing.txt: file not found; pass the path of a file of questions"),
        (("--index", "nope", "hi"), "no index at indexes/nope; build one"),
        (("caf\udce9 ok",), "question 1 is not valid text (bytes that are not UTF-8"),  # argv b"caf\xe9 ok"
    ],
)
def test_ask_bad_input(cli, shop, args, words):
    result = cli("ask", *args)
    assert result.exit_code == 2 and words in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


FAQSEARCH = str(Path(sys.executable).with_name("faqsearch"))


def run_cli(*args: str, stdin=None) -> subprocess.CompletedProcess:
    """The installed command in a child process, for what must not block: if a check regresses
    and the command waits on a FIFO or a terminal, the test fails at the timeout instead of
    hanging the suite (a safety net, not a timed assertion)."""
    return subprocess.run([FAQSEARCH, *args], stdin=stdin, capture_output=True, text=True, timeout=120, check=False)


def test_a_file_of_questions_must_be_a_regular_file(workdir):
    """`--file /dev/zero` once grew to 21 GB, and `--file FIFO` waited forever for a writer."""
    os.mkfifo(workdir / "questions.fifo")
    for path in ("/dev/zero", "questions.fifo"):
        result = run_cli("ask", "--file", path)
        assert result.returncode == 2
        assert result.stderr == f"error: {path}: is not a regular file (a device, FIFO or socket); " + (
            "pass the path of a file of questions (one per line)\n"
        )


def test_stdin_that_could_never_end_is_refused_before_reading(workdir):
    """A terminal would wait for typing, a FIFO this process holds open for writing too
    (`ask - <> FIFO`) never sees its end, /dev/zero never ends (past the checks, the bound would
    stop it). A pipe is read to its end, as `cat` reads it."""
    os.mkfifo(workdir / "questions.fifo")
    master, terminal = pty.openpty()
    read_write = os.open(workdir / "questions.fifo", os.O_RDWR)
    zero = os.open("/dev/zero", os.O_RDONLY)
    try:
        for stdin, words in ((terminal, "terminal"), (read_write, "FIFO opened for writing too"), (zero, "device")):
            result = run_cli("ask", "-", stdin=stdin)
            assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
            assert result.stderr.startswith(f"error: stdin: is a {words}")
    finally:
        for fd in (master, terminal, read_write, zero):
            os.close(fd)


def test_stdin_and_question_files_are_bounded_and_checked_like_every_input(cli, workdir, monkeypatch):
    monkeypatch.setattr("faqsearch.inputs.MAX_INPUT_BYTES", 100)
    result = cli("ask", "-", input="Where is my order?\n" * 6)  # 114 bytes
    assert (
        result.exit_code == 2
        and result.stderr == "error: stdin: holds more than 100 B, the limit for an input; split it\n"
    )
    (workdir / "questions.txt").write_text("Where is my order?\nand \x1b]0;pwned\x07 mine?\n", encoding="utf-8")
    control = cli("ask", "--file", "questions.txt")
    assert control.exit_code == 2 and "questions.txt:2: holds the control character U+001B; remove it" in control.stderr
    piped = cli("ask", "-", input="caf\xe9\n".encode("latin-1"))
    assert piped.exit_code == 2 and "error: stdin:1: not valid UTF-8" in piped.stderr


# Text that acts on a terminal: ESC ] 0 ; ... BEL sets the window title, U+009B (C1 CSI) starts a
# command, U+202E (right-to-left override) and U+2066 (isolate) reorder the rest of the line.
HOSTILE = "\x1b]0;pwned\x07 \x9b31m \u202e \u2066"
HOSTILE_SHOWN = "\\x1b]0;pwned\\x07 \\x9b31m \\u202e \\u2066"
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\u2066")


def test_what_came_from_outside_is_printed_inert_and_as_escapes_in_json(cli, small_faq):
    """A FAQ may hold bidi controls (right-to-left text needs them) but never a control character,
    and a question may hold anything: both are printed as escapes, and JSON escapes them too
    while reading back to the same text."""
    small_faq.write_text(
        SMALL_FAQ.replace("Open Orders and click Track.", "Open \u202eOrders\u2066 and click Track."), encoding="utf-8"
    )
    assert cli("build", str(small_faq)).exit_code == 0
    question = f"Where is my order? {HOSTILE}"
    text = cli("ask", "-k", "2", question, "Where is my order?").stdout
    assert f"> Where is my order? {HOSTILE_SHOWN}" in text
    assert "answer (en): Open \\u202eOrders\\u2066 and click Track." in text
    lines = cli("ask", "--json", question).stdout
    assert not any(c in lines for c in RAW) and "\\u202e" in lines
    answer = json.loads(lines)
    assert (
        answer["query"] == question and answer["candidates"][0]["answer"] == "Open \u202eOrders\u2066 and click Track."
    )


def test_unanswered_prints_a_logs_text_inert_and_as_escapes_in_json(cli, workdir):
    log = workdir / "unanswered.jsonl"
    line = {"time": "2999-01-01T00:00:00+00:00", "index": "shop", "question": f"hi {HOSTILE}", "nearest": "a\u202eb"}
    log.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    text = cli("unanswered", str(log)).stdout
    assert "nearest: a\\u202eb" in text and f"hi {HOSTILE_SHOWN}" in text and not any(c in text for c in RAW)
    printed = cli("unanswered", "--json", str(log)).stdout
    assert not any(c in printed for c in RAW)
    assert json.loads(printed)[0]["questions"] == [[f"hi {HOSTILE}".lower(), 1]]


def test_a_progress_label_is_shown_as_plain_text(monkeypatch, capsys):
    """A file named `[/x].yaml` is not rich markup (it raised MarkupError on a terminal)."""
    monkeypatch.setattr(progress, "shown", lambda: True)
    with progress.stage(f"reading faqs/[/x]{HOSTILE}.yaml"):
        pass
    assert not any(c in capsys.readouterr().err for c in RAW)


def test_ask_needs_index_choice_when_several_exist(cli, shop, workdir):
    assert cli("build", str(shop), "--index", "indexes/second").exit_code == 0
    result = cli("ask", "hello")
    assert result.exit_code == 2 and "several indexes under indexes/ (second, shop)" in result.stderr
    assert cli("ask", "--index", "second", "Where is my order?").exit_code == 0


def test_models_list_says_what_is_available_and_why_not(cli):
    result = cli("models", "list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"models folder: {os.environ['FAQSEARCH_MODELS_DIR']}")
    laser = next(line for line in lines if line.startswith("laser"))
    assert "unavailable:" in laser and "faqsearch models download laser" in laser
    assert any(line.split() == ["e5", "available"] for line in lines)
    aligned = next(line for line in lines if line.startswith("e5-aligned "))
    folder = os.path.join(os.environ["FAQSEARCH_MODELS_DIR"], "e5-aligned")
    assert aligned.split()[1] == "available" and f"({folder}/e5-aligned-" in aligned  # composed: its file
    assert lines[-1].split() == ["auto", "->", "e5-aligned"]


def test_models_list_says_where_e5_aligned_will_be_composed(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("FAQSEARCH_MODELS_DIR", str(tmp_path))  # a new user's empty models folder
    lines = cli("models", "list").stdout.splitlines()
    aligned = next(line for line in lines if line.startswith("e5-aligned "))
    assert f"composed into {tmp_path / 'e5-aligned'} on first use" in aligned


def test_models_download_fails_cleanly_without_internet(cli, monkeypatch):
    monkeypatch.setattr("faqsearch.models.LASER_BASE_URL", "http://127.0.0.1:9/")  # nothing listens there
    result = cli("models", "download", "laser")
    assert result.exit_code == 1
    assert "could not download http://127.0.0.1:9/93langs.fcodes" in result.stderr
    assert "This needs internet access" in result.stderr and "Traceback" not in result.stderr
    laser_dir = os.path.join(os.environ["FAQSEARCH_MODELS_DIR"], "laser")
    assert os.listdir(laser_dir) == []  # no partial files left behind
    other = cli("models", "download", "e5")
    assert other.exit_code == 2 and "needs no download" in other.stderr


def full_disk(errno_code: int):
    """A copy that writes part of the file, then fails as a full disk (or a folder root cannot
    write into: as root, chmod stops nothing, so a denied write is simulated the same way)."""

    def copy(source, target):
        Path(target).write_bytes(b"half a model")
        raise OSError(errno_code, os.strerror(errno_code))

    return copy


@pytest.mark.parametrize(("errno_code", "reason"), [(errno.ENOSPC, "No space left"), (errno.EACCES, "Permission")])
def test_a_models_folder_that_cannot_take_e5_aligned_is_one_line_and_leaves_nothing(
    cli, small_faq, tmp_path, monkeypatch, errno_code, reason
):
    """e5-aligned's model file is composed in the models folder on first use (71 MB)."""
    models = tmp_path / "models"
    monkeypatch.setenv("FAQSEARCH_MODELS_DIR", str(models))
    monkeypatch.setattr("faqsearch.encoders.e5_aligned.shutil.copyfile", full_disk(errno_code))
    result = cli("build", str(small_faq), "--encoder", "e5-aligned")
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
    assert f"cannot write e5-aligned's model file (71 MB) into {models / 'e5-aligned'} ({reason}" in result.stderr
    assert "set $FAQSEARCH_MODELS_DIR to a folder that is" in result.stderr
    assert os.listdir(models / "e5-aligned") == []  # no .part-PID file


def test_a_models_folder_under_a_file_is_one_line_for_e5_aligned_and_laser(cli, small_faq, tmp_path, monkeypatch):
    (tmp_path / "cache").write_text("a file where $XDG_CACHE_HOME should be a folder")
    monkeypatch.delenv("FAQSEARCH_MODELS_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    built = cli("build", str(small_faq), "--encoder", "e5-aligned")
    assert built.exit_code == 2 and len(built.stderr.splitlines()) == 1
    assert f"into {tmp_path}/cache/faqsearch/models/e5-aligned (Not a directory)" in built.stderr
    downloaded = cli("models", "download", "laser")
    assert downloaded.exit_code == 2 and len(downloaded.stderr.splitlines()) == 1
    assert f"cannot write LASER's 93langs.fcodes into {tmp_path}/cache/faqsearch/models/laser" in downloaded.stderr


def test_one_shot_process_never_imports_torch(shop):
    """The e5 path must not pay for torch's import (seconds, hundreds of MB), ONNX Runtime's
    (a job's engine), PyYAML's (~13-20 ms of a cold ask, which reads no YAML) or a thread pool's
    (~5 ms: the ONNX engine's passes on every core)."""
    code = (
        "import sys; from faqsearch.cli import app; "
        "sys.argv = ['faqsearch', 'ask', 'where is my order'];\n"
        "try: app()\n"
        "except SystemExit: pass\n"
        "loaded = [m for m in ('torch', 'onnxruntime', 'yaml', 'concurrent.futures') if m in sys.modules]\n"
        "assert not loaded, f'imported {loaded}'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("track-order")


QUESTIONS = """\
queries:
  - question: "como cancelo mi plan"
    expected: cancel-subscription
    language: es
  - question: "wo ist mein paket"
    expected: track-order
  - question: "olvidé la contraseña"
    expected: track-order
    language: es
  - question: "what is the capital of australia"
    expected: none
    language: en
"""


@pytest.fixture
def questions(workdir):
    path = workdir / "questions.yaml"
    path.write_text(QUESTIONS, encoding="utf-8")
    return path


def test_eval_prints_figures_per_language_and_overall(cli, shop, questions):
    result = cli("eval", str(questions))
    assert result.exit_code == 0, result.stderr
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()[1:5]}
    assert set(rows) == {"de", "en", "es", "overall"}  # "wo ist mein paket" has no label: detected as German
    assert rows["es"][:2] == ["2", "50.0"]  # the mislabelled password question counts as wrong
    assert rows["overall"][0] == "4"
    assert "reset-password" in result.stdout.split("worst confusions")[1]


def test_eval_json_and_min_accuracy(cli, shop, questions):
    report = json.loads(cli("eval", "--json", str(questions)).stdout)
    assert set(report) == {
        "per_language",
        "overall",
        "confusions",
        "calibration",
        "expected_calibration_error",
        "no_match_precision",
        "no_match_recall",
        "curve",
    }
    assert report["overall"]["answerable"] == 3 and report["overall"]["unanswerable"] == 1
    assert report["overall"]["accuracy_at_1"] == pytest.approx(2 / 3, abs=1e-3)
    assert report["per_language"]["de"]["unanswerable"] == 0 and report["per_language"]["de"]["rejected"] is None
    assert report["confusions"][0] == {
        "expected": "track-order",
        "returned": "reset-password",
        "count": 1,
        "example": "olvidé la contraseña",
    }
    assert sum(b["questions"] for b in report["calibration"]) == 4
    assert [p["threshold"] for p in report["curve"]][:3] == [0.0, 0.05, 0.1] and report["curve"][-1]["threshold"] == 1
    assert report["curve"][0] == {"threshold": 0.0, "rejected": 0.0, "answered": 1.0, "answered_right": 0.6667}
    assert cli("eval", str(questions), "--min-accuracy", "0.6").exit_code == 0
    failed = cli("eval", str(questions), "--min-accuracy", "0.9")
    assert failed.exit_code == 1 and "accuracy@1 0.667 is below --min-accuracy 0.9" in failed.stderr


def test_eval_prints_the_no_match_trade_off_and_the_threshold_for_a_target(cli, shop, questions):
    result = cli("eval", str(questions), "--target-rejected", "1")
    assert result.exit_code == 0, result.stderr
    table = result.stdout.split("no-match trade-off (the index's threshold: 0.5):\n")[1].split("\n\n")[0]
    rows = [line.split() for line in table.splitlines()[1:]]
    assert len(rows) == 21 and rows[0] == ["0.00", "0.0", "100.0", "66.7"] and rows[-1][:2] == ["1.00", "100.0"]
    target = json.loads(cli("eval", "--json", str(questions), "--target-rejected", "1").stdout)["target"]
    assert target["rejected"] == 1.0
    unanswerable = json.loads(cli("ask", "--json", "what is the capital of australia").stdout)["candidates"][0]
    assert target["threshold"] == pytest.approx(unanswerable["confidence"] + 1e-4)  # just above its confidence
    assert f"threshold {target['threshold']:.4f} rejects 100.0%" in result.stdout
    answered = json.loads(
        cli("ask", "--json", "--min-confidence", str(target["threshold"]), "what is the capital of australia").stdout
    )
    assert answered["match"] is None
    for wrong in ("1.5", "-0.1"):
        assert cli("eval", str(questions), "--target-rejected", wrong).exit_code == 2


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("expected: none", "expected: capital-cities"),
            ":11: queries[3].expected: no entry `capital-cities` in the index",
        ),
        (("    language: en\n", "    language: english\n"), ":12: queries[3].language: must be an ISO 639-1 code"),
        (('  - question: "wo ist mein paket"\n    expected', "  - expected"), ":5: queries[1].question: missing"),
        (("queries:", "questions:"), ":1: questions: unknown field; allowed: queries"),
        (
            ('"wo ist mein paket"', '"wo ist mein \\e]0;pwned\\a paket"'),
            ":5: queries[1].question: holds the control character U+001B, written as an escape",
        ),
    ],
)
def test_eval_refuses_a_bad_question_file_with_its_line(cli, shop, questions, edit, message):
    questions.write_text(QUESTIONS.replace(*edit), encoding="utf-8")
    result = cli("eval", str(questions))
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {questions}") and message in line
