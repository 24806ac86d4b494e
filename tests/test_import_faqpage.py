"""`faqsearch import` of a web page's FAQPage as real pages write it (issue #37). The fixtures are
written by hand in the layouts the pages use:

- faqpage-yoast.html: Yoast SEO's `@graph` (a `["WebPage", "FAQPage"]` whose `mainEntity` lists
  `{"@id": "...#faq-question-..."}` references to Question nodes), plus a Question defined in a
  second JSON-LD block and an Answer given by reference;
- faqpage-lenient.html: JSON-LD with raw line breaks and tabs inside strings, in a
  `//<![CDATA[ ... //]]>` and an `<!-- ... -->` wrapper;
- faqpage-trailing-comma.html: a JSON-LD block with a trailing comma, which JSON and Google refuse;
- faqpage-markup.html: questions with `<strong>` (once as escaped `&lt;strong&gt;`), answers with
  paragraphs, links, lists, emphasis, `<br>`, an entity and a script, in JSON-LD and in microdata.
"""

from __future__ import annotations

from pathlib import Path

from faqsearch import load_faqs
from faqsearch.importers import import_faq

DATA = Path(__file__).parent / "data" / "imports"


def test_a_yoast_faqpage_that_lists_its_questions_by_id_imports_them_under_their_ids(tmp_path):
    imported = import_faq(DATA / "faqpage-yoast.html")
    assert [(e.id, e.question) for e in imported.entries] == [
        ("faq-question-1700000000001", "How do I cancel my subscription?"),
        ("faq-question-1700000000002", "Where is my order?"),
        ("faq-question-1700000000003", "How do I reset my password?"),  # defined in the page's second block
    ]
    assert [e.answer for e in imported.entries] == [
        "Go to Settings > Billing and choose Cancel plan.",
        "Open Orders and click Track.",  # its Answer by @id too
        'Click "Forgot password" on the sign-in page.',
    ]
    assert imported.report.warnings == [] and imported.language == "en"
    # A reference to nothing is reported; one that leads back to the FAQPage itself is read once.
    page = tmp_path / "loop.html"
    page.write_text(
        '<html lang="en"><script type="application/ld+json">{"@graph": [{"@type": "FAQPage", "@id": "#faq",'
        ' "mainEntity": [{"@id": "#faq"}, {"@id": "#gone"}, {"@id": "#q"}]}, {"@type": "Question", "@id": "#q",'
        ' "name": "Where is my order?", "acceptedAnswer": {"@id": "#q"}, "text": "Open Orders."}]}</script></html>',
        encoding="utf-8",
    )
    loop = import_faq(page)
    assert [(e.id, e.answer) for e in loop.entries] == [("q", "Open Orders.")]
    gone = f"{page}:line 1 (JSON-LD, question 2): `mainEntity` names '#gone', which no JSON-LD here defines; skipped"
    assert gone in loop.report.warnings


def test_json_ld_as_pages_write_it_is_read_and_a_page_still_without_questions_says_why(cli, workdir):
    lenient = import_faq(DATA / "faqpage-lenient.html")
    assert [e.answer for e in lenient.entries] == [
        "Go to Settings > Billing.\nThen choose Cancel plan.",  # a raw line break and tab in the string
        "Open Orders.\n\nClick Track to follow it.",
        'Click "Forgot password" on the sign-in page.',  # the block inside <!-- -->
    ]
    broken = DATA / "faqpage-trailing-comma.html"
    result = cli("import", str(broken), "--format", "faqpage")
    assert result.exit_code == 2 and result.stderr == (
        f"error: {broken}: not in the faqpage format: no schema.org FAQPage in JSON-LD or microdata; the JSON-LD "
        "block at line 5 is not valid JSON (Expecting value: line 12, column 3; a comma before a closing bracket, "
        "which JSON and Google refuse: remove it)\n"
    )
    empty = workdir / "empty.html"
    empty.write_text(
        '<html>\n<script type="application/ld+json">{"@type": ["WebPage", "FAQPage"], "name": "Help"}</script></html>',
        encoding="utf-8",
    )
    result = cli("import", str(empty))
    assert "faqpage: the JSON-LD FAQPage at line 2 lists no questions (`mainEntity`)" in result.stderr


def test_questions_are_plain_text_and_answers_keep_their_links_lists_and_emphasis_as_markdown(cli, workdir):
    result = cli("import", str(DATA / "faqpage-markup.html"), "--out", "faqs/help.yaml")
    assert result.exit_code == 0 and "0 warning(s)" in result.stdout, result.stderr
    faq = load_faqs(workdir / "faqs" / "help.yaml")
    assert [(e.id, e.question) for e in faq.entries] == [
        ("how-do-i-pay", "How do I pay?"),
        ("can-i-pay-in-3-instalments", "Can I pay in 3 instalments?"),  # escaped once more by the page
        ("where-is-my-order", "Where is my order?"),  # microdata
    ]
    assert [e.answer for e in faq.entries] == [
        "We take:\n\n"
        "- **cards**, see [our card guide](https://shop.example/help/cards)\n"  # relative: against the canonical URL
        "- bank transfers & *PayPal*\n\n"
        "Questions? [Write to us](mailto:help@shop.example).\n"
        "We answer within a day.",  # the script dropped
        "1. Add to cart\n2. Choose **Pay later** at checkout",
        "Open [Orders](https://shop.example/orders) and click **Track**.\n\nNo tracking number yet?\n"
        "It comes within 24 hours.",
    ]
