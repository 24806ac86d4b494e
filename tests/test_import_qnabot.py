"""`faqsearch import` of QnABot on AWS exports as real ones are. The fixtures under tests/data/imports
are small files written by hand in the layout of QnABot's item schema (source/lambda/schema/qna.js in
aws-solutions/qnabot-on-aws) and its Content Designer's export:

- qnabot-cp1252.json: Word punctuation read as C1 control characters (raw, and as a JSON escape);
- qnabot-card.json: a Markdown answer, a response card (image, buttons by qid and by question),
  guided navigation (`next`), tags and client filters, and fields faqsearch has no equivalent for;
- qnabot-markdown.json: answers of several lines, in two languages.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from faqsearch import load_faqs
from faqsearch.errors import InputFileError
from faqsearch.faqs import Related
from faqsearch.importers import import_faq
from faqsearch.importers.base import Report
from faqsearch.importers.source import read_source

DATA = Path(__file__).parent / "data" / "imports"


def test_windows_1252_punctuation_read_as_control_characters_is_repaired_per_item():
    path = DATA / "qnabot-cp1252.json"
    imported = import_faq(path)
    gift, window, _ = imported.entries
    assert gift.answer == "Yes: choose “Return a gift” in Orders – no receipt needed."
    assert window.question == "What’s the return window?" and window.answer == "30 days – from delivery."
    repaired = [w for w in imported.report.warnings if "Windows-1252" in w]
    assert repaired == [
        f"{path}:qna[0] (qid Returns.001): Windows-1252 punctuation read as control characters, repaired "
        "(U+0093 → “, U+0094 → ”, U+0096 → –)",
        f"{path}:qna[1] (qid Returns.002): Windows-1252 punctuation read as control characters, repaired "
        "(U+0092 → ’, U+0096 → –)",
    ]  # the third item had none: not named


def test_the_shared_reader_repairs_per_line_and_refuses_what_cp1252_leaves_undefined(tmp_path):
    sheet = tmp_path / "faq.csv"
    sheet.write_text("question,answer\nWhat\u0092s new?,\u0093Dark mode\u0094\nHow?,Settings\n", encoding="utf-8")
    report = Report(str(sheet), "table")
    assert read_source(sheet, "a table", report) == "question,answer\nWhat’s new?,“Dark mode”\nHow?,Settings\n"
    assert report.warnings == [
        f"{sheet}:line 2: Windows-1252 punctuation read as control characters, repaired "
        "(U+0092 → ’, U+0093 → “, U+0094 → ”)"
    ]
    undefined = tmp_path / "undefined.json"  # 0x81 is no character in cp1252: a control, refused as before
    undefined.write_text('{"qna": [{"qid": "a", "q": ["Hi\u0081"], "a": "Hello"}]}\n', encoding="utf-8")
    with pytest.raises(InputFileError, match=r"undefined.json:1: holds the control character U\+0081; remove it"):
        import_faq(undefined)


def test_what_a_qnabot_item_carries_beyond_question_and_answer():
    path = DATA / "qnabot-card.json"
    menu, basic, pro = import_faq(path).entries
    # alt.markdown is the answer (what QnABot's web UI shows), the card's image a Markdown line after it
    assert menu.answer == "We offer two plans. Choose one below.\n\n![Our plans](https://example.com/plans.png)"
    # buttons: a value `QID::<qid>` or another item's question, shown with the button's text
    assert menu.related == (Related("Plans-Basic", "Basic plan"), Related("Plans-Pro", "Pro plan"))
    assert basic.related == (Related("Plans-Pro", "What is the Pro plan?"),)  # `next`: shown as its question
    assert menu.tags == ("plans", "pricing", "sales_team") and basic.tags == ("web", "mobile")  # t, tags, filters
    assert pro.related == () and pro.answer == "Up to ten users and 1 TB of storage."


def test_fields_without_an_equivalent_are_reported_once_each_with_their_count():
    path = DATA / "qnabot-card.json"
    warnings = [w for w in import_faq(path).report.warnings if "not imported" in w]
    menu, basic = f"{path}:qna[0] (qid Plans.Menu)", f"{path}:qna[1] (qid Plans.Basic)"
    assert warnings == [
        f"{menu}: `l`, a Lambda hook, code run to make the answer, on 2 item(s), the first here: not imported",
        f"{menu}: `args`, the Lambda hook's arguments, on 1 item(s), the first here: not imported",
        f"{menu}: `alt.ssml`, the spoken answer (SSML), on 1 item(s), the first here: not imported",
        f"{menu}: `a`, the plain-text answer for clients without Markdown (`alt.markdown` is the answer), "
        "on 1 item(s), the first here: not imported",
        f"{basic}: `sa`, session attributes set with the answer, on 1 item(s), the first here: not imported",
    ]  # Plans.Pro's empty card, hook, chaining rule and response bot hold nothing: not reported


def test_qnabot_answers_keep_their_lines_and_paragraphs_in_the_faq_file(cli, workdir):
    result = cli("import", str(DATA / "qnabot-markdown.json"), "--out", "faqs/bot.yaml")
    assert result.exit_code == 0, result.stderr
    delete, hours = load_faqs(workdir / "faqs" / "bot.yaml").entries
    assert delete.answer == (
        "To delete your account:\n\n1. Open **Settings**.\n2. Choose **Delete account**.\n\nThis cannot be undone."
    )
    assert delete.answers == {"es": "Para borrar su cuenta:\n\n1. Abra **Ajustes**.\n2. Elija **Borrar cuenta**."}
    assert hours.answer == "Monday to Friday: 9:00 to 18:00\nSaturday: 10:00 to 14:00"
