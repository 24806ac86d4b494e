"""FAQ file validation: every mistake is one line naming file, line and field; exit 2; no index."""

from __future__ import annotations

import pytest
from conftest import SMALL_FAQ

from faqsearch import load_faqs
from faqsearch.errors import InputFileError

ENTRY = "  - id: a\n    question: Q?\n    answer: A.\n"

BAD_FILES = [
    # (name, file text, expected words, expected line or None)
    ("invalid yaml", "language: en\nfaqs:\n  - id: a\n   question: Q\n", "invalid YAML", 4),
    ("tab indentation", "language: en\nfaqs:\n\t- id: a\n", "invalid YAML", 3),
    ("empty file", "", "file is empty", None),
    ("top level is a list", "- a\n- b\n", "must be a mapping", 1),
    ("unknown top-level field", "language: en\nversion: 2\nfaqs:\n" + ENTRY, "version: unknown field", 2),
    ("missing language", "faqs:\n" + ENTRY, "language: missing", 1),
    ("bad language code", "language: English\nfaqs:\n" + ENTRY, "language: must be an ISO 639-1 code", 1),
    ("missing faqs", "language: en\n", "faqs: missing", 1),
    ("empty faqs", "language: en\nfaqs: []\n", "faqs: is empty", 2),
    ("faqs not a list", "language: en\nfaqs: hello\n", "faqs: must be a list", 2),
    ("a list as a key", "language: en\n? [a]\n: 1\nfaqs:\n" + ENTRY, "(a list or mapping): unknown field", 2),
    ("unknown entry field", "language: en\nfaqs:\n" + ENTRY + "    anwser: x\n", "faqs[0].anwser: unknown field", 6),
    ("missing answer", "language: en\nfaqs:\n  - id: a\n    question: Q?\n", "faqs[0].answer: missing", 3),
    ("missing id", "language: en\nfaqs:\n  - question: Q?\n    answer: A.\n", "faqs[0].id: missing", 3),
    (
        "empty question",
        "language: en\nfaqs:\n  - id: a\n    question: ''\n    answer: A.\n",
        "faqs[0].question: is empty",
        4,
    ),
    (
        "blank answer",
        "language: en\nfaqs:\n  - id: a\n    question: Q?\n    answer: '   '\n",
        "faqs[0].answer: is empty",
        5,
    ),
    (
        "number as question",
        "language: en\nfaqs:\n  - id: a\n    question: 42\n    answer: A.\n",
        "faqs[0].question: must be a text string",
        4,
    ),
    (
        "null answer",
        "language: en\nfaqs:\n  - id: a\n    question: Q?\n    answer:\n",
        "faqs[0].answer: must be a text string",
        5,
    ),
    (
        "an answer past MAX_ANSWER_CHARS",
        "language: en\nfaqs:\n  - id: a\n    question: Q?\n    answer: " + "x" * 10_001 + "\n",
        "faqs[0].answer: is 10,001 characters; an answer has at most 10,000: put the rest on a page and link to it",
        5,
    ),
    (
        "a translated answer past MAX_ANSWER_CHARS",
        "language: en\nfaqs:\n" + ENTRY + "    answers:\n      es: " + "x" * 10_001 + "\n",
        "faqs[0].answers.es: is 10,001 characters",
        7,
    ),
    (
        "a tag past MAX_TAG_CHARS",
        "language: en\nfaqs:\n" + ENTRY + "    tags: [" + "t" * 101 + "]\n",
        "faqs[0].tags[0]: is 101 characters; a tag has at most 100",
        6,
    ),
    (
        "alternatives not a list",
        "language: en\nfaqs:\n" + ENTRY + "    alternatives: Q2\n",
        "faqs[0].alternatives: must be a list",
        6,
    ),
    (
        "empty alternative",
        "language: en\nfaqs:\n" + ENTRY + "    alternatives: ['']\n",
        "faqs[0].alternatives[0]: is empty",
        6,
    ),
    (
        "tag not a string",
        "language: en\nfaqs:\n" + ENTRY + "    tags: [1]\n",
        "faqs[0].tags[0]: must be a text string",
        6,
    ),
    (
        "answers not a mapping",
        "language: en\nfaqs:\n" + ENTRY + "    answers: [x]\n",
        "faqs[0].answers: must be a mapping",
        6,
    ),
    (
        "answers bad language",
        "language: en\nfaqs:\n" + ENTRY + "    answers:\n      Spanish: x\n",
        "faqs[0].answers.Spanish: key must be an ISO 639-1 code",
        7,
    ),
    (
        "bad id characters",
        "language: en\nfaqs:\n  - id: a b\n    question: Q?\n    answer: A.\n",
        "faqs[0].id: may only contain",
        3,
    ),
    (
        "id is a number",
        "language: en\nfaqs:\n  - id: 7\n    question: Q?\n    answer: A.\n",
        "faqs[0].id: must be a text string",
        3,
    ),
    (
        "duplicate key",
        "language: en\nfaqs:\n  - id: a\n    question: Q?\n    question: R?\n    answer: A.\n",
        "faqs[0].question: appears twice",
        5,
    ),
    (
        "duplicate id",
        "language: en\nfaqs:\n" + ENTRY + ENTRY.replace("Q?", "R?"),
        "duplicate id `a` (first used on line 3)",
        6,
    ),
    ("shared phrasing", "language: en\nfaqs:\n" + ENTRY + ENTRY.replace("id: a", "id: b"), "also used by entry `a`", 6),
    (
        "related entry that is not there",
        "language: en\nfaqs:\n" + ENTRY + "    related:\n      - b\n",
        "faqs[0].related[0]: no entry `b` in this FAQ",
        7,
    ),
    ("related to itself", "language: en\nfaqs:\n" + ENTRY + "    related: [a]\n", "`a` is the entry itself", 6),
    (
        "related twice",
        "language: en\nfaqs:\n"
        + ENTRY
        + "    related: [b, {entry: b, text: B}]\n"
        + ENTRY.replace("id: a", "id: b").replace("Q", "R"),
        "faqs[0].related[1]: `b` is listed twice",
        6,
    ),
    (
        "related without its text",
        "language: en\nfaqs:\n" + ENTRY + "    related:\n      - entry: a\n",
        "faqs[0].related[0].text: missing",
        7,
    ),
    ("empty default answer", "language: en\ndefault_answer: ' '\nfaqs:\n" + ENTRY, "default_answer: is empty", 2),
]


@pytest.mark.parametrize(("text", "words", "line"), [case[1:] for case in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_bad_faq_file_is_one_clear_line_exit_2_and_no_index(cli, workdir, text, words, line):
    source = workdir / "bad.yaml"
    source.write_text(text, encoding="utf-8")
    result = cli("build", str(source))
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    assert words in message
    location = f"{source}:{line}:" if line else f"{source}:"
    assert message.startswith(f"error: {location}")
    assert not (workdir / "indexes").exists()


def test_unreadable_files_are_reported(cli, workdir):
    missing = cli("build", "nope.yaml")
    assert missing.exit_code == 2 and "nope.yaml: file not found" in missing.stderr
    binary = workdir / "latin1.yaml"
    binary.write_bytes("language: en\nfaqs:\n  - id: caf\xe9\n".encode("latin-1"))
    result = cli("build", str(binary))
    assert result.exit_code == 2 and "not valid UTF-8" in result.stderr


@pytest.mark.parametrize("byte", [b"\x00", b"\x07", b"\x1b"])
def test_a_control_character_is_refused_at_its_line(cli, workdir, byte):
    faq = workdir / "ctrl.yaml"
    faq.write_bytes(b"language: en\nfaqs:\n  - id: a\n    question: hi" + byte + b"\n    answer: x\n")
    result = cli("build", str(faq))
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"error: {faq}:4: holds the control character U+{byte[0]:04X}; remove it")


def test_a_device_or_a_fifo_is_refused_without_reading_it(cli, workdir):
    import os

    fifo = workdir / "faq.fifo"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo)):  # one never ends, the other never answers
        result = cli("build", path)
        assert result.exit_code == 2 and f"{path}: is not a regular file (a device, FIFO or socket)" in result.stderr
    assert not (workdir / "indexes").exists()


# Each field with a control character written as a YAML escape: the file's bytes are clean text,
# the decoded string is not. (field, its entry, the character it decodes to)
ESCAPED = [
    ("faqs[0].id", '  - id: "a\\e"\n    question: Q?\n    answer: A.\n', "\x1b"),
    ("faqs[0].question", '  - id: a\n    question: "Q\\x1b]0;pwned\\x07?"\n    answer: A.\n', "\x1b"),
    (
        "faqs[0].alternatives[0]",
        '  - id: a\n    question: Q?\n    alternatives: ["R\\u009b?"]\n    answer: A.\n',
        "\x9b",
    ),
    ("faqs[0].answer", '  - id: a\n    question: Q?\n    answer: "A\\x7f."\n', "\x7f"),
    ("faqs[0].answer", '  - id: a\n    question: Q?\n    answer: "A\\N."\n', "\x85"),  # NEL: would vanish as a space
    ("faqs[0].answers.es", '  - id: a\n    question: Q?\n    answer: A.\n    answers:\n      es: "B\\0"\n', "\x00"),
    ("faqs[0].tags[0]", '  - id: a\n    question: Q?\n    answer: A.\n    tags: ["t\\a"]\n', "\x07"),
]


@pytest.mark.parametrize(("field", "entry", "character"), ESCAPED)
def test_a_control_character_written_as_an_escape_is_refused_in_every_field(cli, workdir, field, entry, character):
    """`ask` printed such answers raw: ESC ] 0 ; ... BEL changed the terminal's title."""
    faq = workdir / "escaped.yaml"
    faq.write_text("language: en\nfaqs:\n" + entry, encoding="utf-8")
    result = cli("build", str(faq))
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"error: {faq}:")
    assert f": {field}: holds the control character U+{ord(character):04X}, written as an escape; remove it" in (
        result.stderr
    )


def test_a_control_character_in_the_language_is_refused_too(cli, workdir):
    faq = workdir / "language.yaml"
    faq.write_text('language: "en\\e"\nfaqs:\n' + ENTRY, encoding="utf-8")
    assert f"{faq}:1: language: holds the control character U+001B" in cli("build", str(faq)).stderr


def test_a_language_key_with_a_line_break_is_not_a_code(workdir):
    """A regular expression's `$` matches before a final line break: "es\\n" passed for `es`."""
    faq = workdir / "key.yaml"
    faq.write_text("language: en\nfaqs:\n" + ENTRY + '    answers:\n      "es\\n": B.\n', encoding="utf-8")
    with pytest.raises(
        InputFileError, match=r"key\.yaml:7: faqs\[0\]\.answers\.es\\x0a: key must be an ISO 639-1 code"
    ):
        load_faqs(faq)


def test_a_key_read_from_the_file_is_named_inert_in_the_error(workdir):
    faq = workdir / "key.yaml"
    faq.write_text("language: en\nfaqs:\n" + ENTRY + '    "x\\e]0;pwned\\a": 1\n', encoding="utf-8")
    with pytest.raises(InputFileError) as error:
        load_faqs(faq)
    assert "faqs[0].x\\x1b]0;pwned\\x07: unknown field" in str(error.value) and "\x1b" not in str(error.value)


def test_bidi_controls_are_text_a_faq_may_hold(workdir):
    """Right-to-left text may need them (an English name inside a Hebrew answer); every command
    prints them as escapes (test_cli: test_what_came_from_outside_is_printed_inert...)."""
    faq = workdir / "rtl.yaml"
    faq.write_text('language: he\nfaqs:\n  - id: a\n    question: "שאלה?"\n    answer: "ב-\u2066Settings\u2069."\n')
    assert load_faqs(faq).entries[0].answer == "ב-\u2066Settings\u2069."


def test_bad_file_does_not_touch_an_existing_index(cli, small_faq):
    assert cli("build", str(small_faq)).exit_code == 0
    before = {p.name: p.read_bytes() for p in (small_faq.parent.parent / "indexes" / "shop").iterdir()}
    small_faq.write_text(SMALL_FAQ + "  - id: broken\n", encoding="utf-8")
    assert cli("build", str(small_faq)).exit_code == 2
    after = {p.name: p.read_bytes() for p in (small_faq.parent.parent / "indexes" / "shop").iterdir()}
    assert after == before


def test_valid_file_loads_into_entries(small_faq):
    faq = load_faqs(small_faq)
    assert faq.language == "en"
    assert [e.id for e in faq.entries] == ["cancel-subscription", "reset-password", "track-order"]
    cancel = faq.entries[0]
    assert cancel.phrasings == ("How do I cancel my subscription?", "I want to stop my plan")
    assert cancel.answers == {"es": "Ve a Ajustes > Facturación > Cancelar plan."}
    assert cancel.tags == ("billing",)
    assert cancel.answer_in("es", "en") == ("Ve a Ajustes > Facturación > Cancelar plan.", "es")
    assert cancel.answer_in("de", "en") == ("Go to Settings > Billing > Cancel plan.", "en")
    assert len(faq.sha256) == 64


def test_an_answer_keeps_its_line_breaks_and_related_entries_their_text(workdir):
    source = workdir / "faq.yaml"
    answer = "answer: |\n      Steps:  \n\n      1. Open *Settings*\n         - then Billing\n\n\n\n      2. Cancel\n"
    entry = ENTRY.replace("answer: A.\n", answer) + "    related: [b, {entry: b2, text: Other}]\n"
    others = ENTRY.replace("id: a", "id: b").replace("Q", "R") + ENTRY.replace("id: a", "id: b2").replace("Q", "S")
    text = "language: en\ndefault_answer: Sorry.\nfaqs:\n" + entry + others
    source.write_bytes(text.replace("\n", "\r\n").encode())
    faq = load_faqs(source)
    # CRLF, trailing spaces and the run of blank lines normalized; the lines, the paragraph and the indent kept
    assert faq.entries[0].answer == "Steps:\n\n1. Open *Settings*\n   - then Billing\n\n2. Cancel"
    assert [(r.entry, r.text) for r in faq.entries[0].related] == [("b", "R?"), ("b2", "Other")]
    assert faq.default_answer == "Sorry." and faq.entries[1].related == ()


def test_shipped_example_faq_is_valid_and_realistic():
    from conftest import EXAMPLE_FAQ

    faq = load_faqs(EXAMPLE_FAQ)
    assert 30 <= len(faq.entries) <= 50
    assert sum(len(e.alternatives) for e in faq.entries) >= len(faq.entries)
