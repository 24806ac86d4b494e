"""QnA Maker and Azure AI Language question answering exports, as real ones are written. The
fixtures under tests/data/imports are written by hand in the layout of Microsoft's own exports
(Azure-Samples/cognitive-services-sample-data-files, qna-maker/knowledge-bases and the chit-chat
TSVs); none is anyone's data:

- qnamaker-multiturn.tsv: a knowledge base export (BOM, CRLF) with `\\n` line breaks in answers,
  follow-up prompts, context-only pairs and active learning suggestions;
- qnamaker-chitchat.tsv: the older layout without QnaId (Question, Answer, Source, Metadata);
- azure-project/: a Language Studio project exported as TSV and unzipped (QnAs.tsv, Synonyms.tsv,
  Settings.tsv); the tests zip it as the export gives it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from faqsearch.errors import FAQSearchError
from faqsearch.importers import azure, import_faq
from faqsearch.importers.base import Draft, Report

DATA = Path(__file__).parent / "data" / "imports"
MULTITURN, CHITCHAT, PROJECT = DATA / "qnamaker-multiturn.tsv", DATA / "qnamaker-chitchat.tsv", DATA / "azure-project"


def zipped(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def project(folder: str = "") -> dict[str, bytes]:
    """The fixture project's files, as members of a zip (under `folder`)."""
    return {f"{folder}{file.name}": file.read_bytes() for file in sorted(PROJECT.iterdir())}


def test_answers_keep_the_line_breaks_qna_maker_writes_as_backslash_n():
    returns = import_faq(MULTITURN).entries[0]
    assert returns.answer == (
        "**Returns**\n\nYou have 30 days:\n\n"
        "- Print the label from [Orders](https://example.com/orders)\n- Drop the parcel at a post office\n\n"
        "Save the label in C:\\\\new labels if you print it later."  # Markdown's escaped backslash: no line break
    )


def test_follow_up_prompts_become_related_entries_and_context_only_pairs_are_counted_once():
    imported = import_faq(MULTITURN)
    returns, late, damaged = imported.entries
    assert [(r.entry, r.text) for r in returns.related] == [("qna-2", "It is late"), ("qna-3", "It arrived damaged")]
    assert late.related == () and damaged.question == "My item arrived damaged"  # context-only: still entries
    warnings = imported.report.warnings
    assert f"{MULTITURN}:row 4: follow-up 'qna-9' names no imported entry; dropped" in warnings  # camelCase read too
    context_only = [w for w in warnings if "context-only" in w]
    assert context_only == [
        f"{MULTITURN}: 2 context-only pair(s) (QnA Maker answers them only after a follow-up prompt): "
        "imported as entries that answer any question"
    ]


def test_active_learning_suggestions_customers_chose_become_alternatives_the_others_are_counted():
    imported = import_faq(MULTITURN)
    assert imported.entries[2].alternatives == ("broken item",)  # UserSuggestedCount 2; the other only auto-suggested
    assert (
        f"{MULTITURN}: active learning suggestions: 1 that customers chose imported as alternatives; 1 that only "
        "QnA Maker's ranker proposed left out (unreviewed: accept them in QnA Maker before exporting to keep them)"
    ) in imported.report.warnings


def test_rows_without_a_qna_id_are_one_entry_per_answer_source_and_metadata_as_qna_maker_grouped_them():
    imported = import_faq(CHITCHAT)
    assert [(e.question, e.alternatives, e.tags) for e in imported.entries] == [
        ("Hello", ("Hi there", "Good morning"), ("editorial:chitchat",)),
        ("Who made you?", ("Who built you?",), ("editorial:chitchat",)),
        ("Hey", (), ("scenario:greeting",)),  # the same answer, another source and metadata: another pair
    ]


@pytest.mark.parametrize("where", ["folder", "zip", "zip with a folder"])
def test_a_project_export_imports_with_its_synonyms_language_and_default_answer(tmp_path, where):
    source = {
        "folder": lambda: PROJECT,
        "zip": lambda: zipped(tmp_path / "project.zip", project()),
        "zip with a folder": lambda: zipped(tmp_path / "project.zip", project("Shop/")),
    }[where]()
    imported = import_faq(source)
    assert imported.report.format == "azure" and imported.language == "es"  # Settings: Language Spanish
    assert imported.default_answer == "No encontré una respuesta.\nEscríbenos a ayuda@example.com"
    cancel, _, app = imported.entries
    assert cancel.answer == "Ve a **Ajustes > Facturación**.\n\nLa cancelación es inmediata."
    assert cancel.alternatives == ("¿Cómo cancelo mi plan?", "¿Cómo cancelo mi abono?")
    assert app.alternatives == ("¿Cómo descargo la aplicación?",)
    settings, synonyms = imported.report.warnings
    assert settings.endswith(
        "Settings.tsv: settings with no faqsearch equivalent, not imported: EnableActiveLearning, "
        "DefaultAnswerforMultiturn"
    )
    assert synonyms.endswith(
        "Synonyms.tsv: 2 synonym group(s): 3 question variant(s) added to 2 entries "
        f"(each term of a group in place of another, at most {azure.MAX_VARIANTS} an entry)"
    )


def test_synonym_variants_are_bounded_per_entry():
    group = ",".join(f'"term{i}"' for i in range(50))
    report = Report("x", "azure")
    drafts = [Draft("x:row 2", ["Where is term0?", "Is term1 here?"], "Here.")]
    azure._add_synonyms(drafts, "x/Synonyms.tsv", f"Synonyms\n{group}\n", report)
    assert drafts[0].questions[2:] == ["Where is term1?", "Where is term2?", "Where is term3?"]


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"A/QnAs.tsv": b"Question\tAnswer\n", "B/QnAs.tsv": b"Question\tAnswer\n"},
         "holds A/QnAs.tsv and B/QnAs.tsv; keep one project a zip"),
        ({"Shop.xlsx": b"PK"}, "no QnAs.tsv in it (an Excel export: export the project as TSV, or import its workbook"),
        ({"notes.txt": b"hi"}, "a zip, and not a question answering project export: no QnAs.tsv in it"),
        ({"QnAs.tsv": b"Question\tAnswer\nhi\t" + b"x" * 2000 + b"\n"}, "unzip to more than"),
    ],
)  # fmt: skip
def test_a_zip_that_is_no_export_or_too_large_is_one_line_and_nothing_is_unpacked(
    cli, workdir, monkeypatch, members, message
):
    monkeypatch.setattr(azure, "MAX_INPUT_BYTES", 1000)  # a zip bomb's effect, in a small file
    source = zipped(workdir / "export.zip", members)
    result = cli("import", str(source))
    assert result.exit_code == 2 and message in result.stderr and len(result.stderr.splitlines()) == 1
    assert sorted(p.name for p in workdir.iterdir()) == ["export.zip"]


def test_an_encrypted_zip_says_so(workdir):
    source = zipped(workdir / "export.zip", project())
    raw = bytearray(source.read_bytes())
    for header, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # each member's "encrypted" bit set
        at = raw.find(header)
        while at != -1:
            raw[at + flags] |= 1
            at = raw.find(header, at + 4)
    source.write_bytes(raw)
    with pytest.raises(FAQSearchError, match=r"not a readable zip \(.*encrypted.*\); export the project again"):
        import_faq(source)


def test_a_zip_member_named_outside_the_zip_is_read_in_memory_never_written(workdir):
    (workdir / "in" / "export").mkdir(parents=True)
    members = {f"../../{name}": content for name, content in project().items()}
    source = zipped(workdir / "in" / "export" / "export.zip", members)
    assert len(import_faq(source).entries) == 3
    assert [p.relative_to(workdir).as_posix() for p in workdir.rglob("*") if p.is_file()] == ["in/export/export.zip"]
