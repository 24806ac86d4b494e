"""`faqsearch import` of spreadsheets (CSV, TSV, XLSX) as support teams keep them. The fixtures under
tests/data/imports are written by hand (none is anyone's data):

- table-fields.csv: a CSV with an unquoted comma in one answer, trailing empty fields and a short row;
- table-languages.csv: one column per language and role (`q_en`, `a_en`, `question_de`, `answer (de)`, `q_es`);
- table-category.csv: a `category` with a comma in it, next to a `tags` list.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from faqsearch.errors import FAQSearchError
from faqsearch.importers import import_faq, table
from faqsearch.importers.base import Report
from faqsearch.importers.sheets import read_table

DATA = Path(__file__).parent / "data" / "imports"


def test_a_row_split_by_an_unquoted_comma_is_skipped_and_named_with_the_fix():
    path = DATA / "table-fields.csv"
    imported = import_faq(path)
    assert imported.report.warnings == [
        f"{path}:row 2: 4 fields where the header has 3: a comma inside a field splits it unless the field is in "
        "double quotes; skipped: put that field in double quotes"
    ]
    answers = {e.question: (e.answer, e.tags) for e in imported.entries}
    assert "Do you ship abroad?" not in answers  # never imported with the answer "Yes" and the tag "to 40 countries."
    assert answers["Where is my order?"] == (
        "Open Orders and click Track.",
        ("orders",),
    )  # trailing commas: nothing lost
    assert answers["How do I pay?"] == ("By card or PayPal.", ())  # a short row: its missing tags are empty
    assert answers["Can I return an item?"] == ("Yes, within 30 days.", ("returns",))  # quoted: one field


def test_a_workbook_value_beyond_the_header_is_a_column_of_its_own(tmp_path):
    path = tmp_path / "faq.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["question", "answer"])
    book.active.append(["Where is my order?", "Open Orders.", "ask Tom"])
    book.save(path)
    imported = import_faq(path)
    assert imported.entries[0].answer == "Open Orders."
    assert imported.report.warnings == [
        f"{path} [Sheet]: column 'column 3' is not imported (map it with --column ROLE=column 3)"
    ]


def test_questions_and_answers_per_language_are_found_by_their_columns():
    path = DATA / "table-languages.csv"
    imported = import_faq(path, format="table")
    assert imported.language == "en"
    cancel, track, reset = imported.entries
    assert cancel.question == "How do I cancel my subscription?"
    assert cancel.alternatives == ("Wie kündige ich mein Abo?", "¿Cómo cancelo mi suscripción?")
    assert cancel.languages == {"Wie kündige ich mein Abo?": "de", "¿Cómo cancelo mi suscripción?": "es"}
    assert cancel.answers == {"de": "Gehe zu Einstellungen > Abrechnung > Abo kündigen."}
    assert track.answers == {"de": "Öffne Bestellungen und klicke auf Verfolgen."} and reset.answers == {}
    assert imported.report.warnings == [
        f"{path}: questions in 3 languages (en: 3, de: 2, es: 2): en, the most filled, is the FAQ's language, and "
        "the others' questions are alternatives in theirs; choose another with --language"
    ]


def test_the_faqs_language_can_be_chosen_among_the_columns_and_must_be_one_of_them():
    report = Report(str(DATA / "table-languages.csv"), "table")
    found = read_table(DATA / "table-languages.csv", report)
    cancel = table.read(found, report, {}, "de")[0]
    assert report.language == "de" and report.warnings == []
    assert cancel.questions[0] == "Wie kündige ich mein Abo?"
    assert cancel.answer == "Gehe zu Einstellungen > Abrechnung > Abo kündigen."
    assert cancel.answers == {"en": "Go to Settings > Billing > Cancel plan."}
    assert cancel.languages == {"How do I cancel my subscription?": "en", "¿Cómo cancelo mi suscripción?": "es"}
    with pytest.raises(FAQSearchError, match=r"--language fr: no question column in fr \(questions in en, de, es\)"):
        table.read(found, report, {}, "fr")


def test_one_languages_columns_declare_it_and_id_or_no_suffixes_are_not_languages(tmp_path):
    path = tmp_path / "faq.csv"
    path.write_text("question_no,q_EN,A_EN\n1,Where is my order?,Open Orders.\n", encoding="utf-8")
    report = Report(str(path), "table")
    found = read_table(path, report)
    table.fits(found)
    drafts = table.read(found, report, {})
    assert report.language == "en" and drafts[0].questions == ["Where is my order?"]
    assert report.warnings == [f"{path}: column 'question_no' is not imported (map it with --column ROLE=question_no)"]


def test_a_category_or_topic_is_one_tag_and_only_tags_is_a_list():
    imported = import_faq(DATA / "table-category.csv")
    assert imported.entries[0].tags == ("Shipping, returns", "refunds", "policy")
    assert imported.entries[1].tags == ("Orders",)
    assert imported.report.warnings == []


@pytest.mark.parametrize(
    ("source", "kind", "fix"),
    [
        ("qnabot.json", "JSON", "for a QnABot export use --format qnabot"),
        ("faqpage-jsonld.html", "HTML or XML", "for a web page's FAQ use --format faqpage"),
        ("rasa/data/nlu.yml", "YAML", "for Rasa NLU data use --format rasa"),
    ],
)
def test_a_file_that_is_not_a_table_is_named_with_its_importer(cli, workdir, source, kind, fix):
    result = cli("import", str(DATA / source), "--format", "table")
    assert result.exit_code == 2
    assert result.stderr == f"error: {DATA / source}: looks like {kind}, not a table (CSV, TSV or XLSX); {fix}\n"
