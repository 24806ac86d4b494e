"""The unanswered log holds customers' messages: personal data is redacted before it is written,
the file rotates at a size limit, old lines are deleted, and it can be switched off."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from faqsearch.redact import redact
from faqsearch.search import Answer
from faqsearch.unanswered import Log


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe+refunds@mail.example.com today", "write to [email] today"),
        ("my card 4111 1111 1111 1111 was charged twice", "my card [card] was charged twice"),
        ("card 4111-1111-1111-1111", "card [card]"),
        ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN [iban] please"),
        ("refund to GB82WEST12345698765432", "refund to [iban]"),
        ("call me on +49 170 1234567", "call me on [phone]"),
        ("my number is (555) 123-4567", "my number is [phone]"),
        ("order 12345678 has not arrived", "order [number] has not arrived"),
        ("mail jane_o'neil@sub.example.museum now", "mail [email] now"),
        ("call 123-4567 after six", "call [phone] after six"),
        ("iban de89 3704 0044 0532 0130 00", "iban [iban]"),
        ("order 12345 is late, it cost 9.99 for 12 months", "order 12345 is late, it cost 9.99 for 12 months"),
        # Other keyboards: full-width forms (as a Japanese keyboard types), en dashes, other scripts' digits.
        ("mail jane＠example.com please", "mail [email] please"),
        ("call 555–123–4567", "call [phone]"),
        ("電話は０９０－１２３４－５６７８です", "電話は[phone]です"),
        ("طلب رقم ١٢٣٤٥٦٧٨", "طلب رقم [number]"),
        # Spelled out to get past filters.
        ("write to jane at example dot com", "write to [email]"),
        ("jane.doe (at) mail [dot] example [dot] org", "[email]"),
        ("look at the order, what is that dot", "look at the order, what is that dot"),
        # Case folding: `İ` and the Kelvin sign are not IBAN letters; the next word is not taken in.
        ("İS12 3456 7890 1234 is my iban", "İS12 [phone] is my iban"),
        ("Kargo kodum TR34 İSTANBUL, paketim nerede?", "Kargo kodum TR34 İSTANBUL, paketim nerede?"),
        ("\u212aS12 3456 7890 1234", "KS12 [phone]"),
    ],
)
def test_personal_data_is_redacted(text, expected):
    assert redact(text) == expected


def test_cards_and_ibans_are_recognised_by_their_checksums():
    assert "[card]" not in redact("4111 1111 1111 1112")  # fails Luhn: not a card (still digits, still hidden)
    assert "4111" not in redact("4111 1111 1111 1112")
    assert "[iban]" not in redact("DE89 3704 0044 0532 0130 01")  # fails mod 97


def answer(question: str) -> Answer:
    return Answer(question, "en", None, [], no_match="off_topic")


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_log_stores_redacted_questions(tmp_path):
    log = Log(tmp_path / "unanswered.jsonl")
    log.append("shop", [answer("mail me at a@b.co about order 99887766")])
    assert lines(log.path)[0]["question"] == "mail me at [email] about order [number]"


def test_the_log_rotates_at_its_size_limit(tmp_path):
    log = Log(tmp_path / "unanswered.jsonl", max_bytes=1000)
    for i in range(30):
        log.append("shop", [answer(f"question number {i} about something")])
    log.append("shop", [answer("one more")])
    rotated = tmp_path / "unanswered.jsonl.1"
    assert rotated.is_file() and rotated.stat().st_size >= 1000
    assert log.path.stat().st_size < 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unanswered.jsonl", "unanswered.jsonl.1"]


def test_only_the_servers_user_may_read_the_log(tmp_path):
    old = tmp_path / "old.jsonl"
    old.write_text("")
    old.chmod(0o644)  # written before logs were private
    for path in (tmp_path / "new.jsonl", old):
        Log(path, max_bytes=200).append("shop", [answer("a question long enough to rotate the log at 200 bytes")])
        Log(path).append("shop", [answer("one more")])
        for written in (path, path.with_name(path.name + ".1")):
            assert written.stat().st_mode & 0o777 == 0o600, written


def test_lines_older_than_the_retention_period_are_deleted(tmp_path):
    path = tmp_path / "unanswered.jsonl"
    now = datetime.now(timezone.utc)
    old, recent = (now - timedelta(days=31)).isoformat(timespec="seconds"), now.isoformat(timespec="seconds")
    path.write_text(
        json.dumps({"time": old, "question": "old"}) + "\n" + json.dumps({"time": recent, "question": "new"}) + "\n"
    )
    Log(path, days=30).append("shop", [answer("newest")])
    assert [line["question"] for line in lines(path)] == ["new", "newest"]
    assert path.stat().st_mode & 0o777 == 0o600  # rewritten without the old lines: private too


def test_the_retention_must_be_at_least_a_day(cli, workdir):
    result = cli("serve", "--unanswered-days", "0")
    assert result.exit_code == 2 and "--unanswered-days" in result.stderr and "x>=1" in result.stderr


def test_the_summary_counts_why_questions_got_no_match_and_reads_older_logs(tmp_path, cli):
    log = Log(tmp_path / "unanswered.jsonl")
    log.append("shop", [answer("tell me a joke"), Answer("refund or exchange?", "en", None, [], None, "ambiguous")])
    with log.path.open("a") as old:  # a line written before reasons were recorded
        old.write(json.dumps({"time": datetime.now(timezone.utc).isoformat(), "question": "hi"}) + "\n")
    groups = json.loads(cli("unanswered", str(log.path), "--json").stdout)
    assert groups[0]["reasons"] == {"off_topic": 1, "ambiguous": 1, "unrecorded": 1}


def test_questions_are_printed_inert_on_a_terminal(tmp_path, cli):
    """ESC ] 0 ; ... BEL would set the operator's window title; C1 CSI (U+009B) starts a command too."""
    log = Log(tmp_path / "unanswered.jsonl")
    log.append("shop", [answer("hi\x1b]0;pwned\x07 there \x9b31m")])
    printed = cli("unanswered", str(log.path)).stdout
    assert "hi\\x1b]0;pwned\\x07 there \\x9b31m" in printed
    assert not any(c in printed for c in "\x1b\x07\x9b")
