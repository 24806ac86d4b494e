"""What `faqsearch build` says about a FAQ beyond building it: entries whose phrasings look like
duplicates (the rule measured by benchmarks/near_duplicates.py), and nothing from the libraries it
uses (a scikit-learn warning or error in the middle of the build's output says nothing to its user).
"""

from __future__ import annotations

import warnings
from pathlib import Path

from faqsearch import calibration, load_faqs
from faqsearch.build import build_index
from faqsearch.encoders import get_encoder

# A shop's FAQ with two chit-chat entries whose first questions share words but not their meaning,
# and one entry that repeats another's question in other words.
FAQ = """\
language: en
faqs:
  - id: cancel-subscription
    question: How do I cancel my subscription?
    alternatives: [I want to stop my plan]
    answer: Go to Settings > Billing > Cancel plan.
  - id: reset-password
    question: How do I reset my password?
    alternatives: [I forgot my password]
    answer: Click "Forgot password" on the sign-in page.
  - id: track-order
    question: Where is my order?
    alternatives: [How can I track my package?]
    answer: Open Orders and click Track.
  - id: origin
    question: How did you come to be?
    alternatives: [How did you come about?]
    answer: People made me out of code and a dash of ingenuity.
  - id: wellbeing
    question: How've you been?
    alternatives: [How have you been lately?]
    answer: Great, thanks for asking!
  - id: end-subscription
    question: How can I cancel my subscription?
    alternatives: [Please cancel my plan]
    answer: Settings > Billing > Cancel plan.
"""


def build(workdir: Path, text: str) -> tuple[list[str], list[warnings.WarningMessage]]:
    """The build's notes, and every warning raised while it ran."""
    path = workdir / "faq.yaml"
    path.write_text(text, encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        notes = build_index(load_faqs(path), get_encoder("e5-aligned"), workdir / "indexes" / "faq").notes
    return notes, caught


def library_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [f"{w.category.__name__}: {w.message}" for w in caught if "sklearn" in w.filename or "scipy" in w.filename]


def test_only_entries_with_a_phrasing_that_alone_is_near_identical_are_noted_and_the_note_asks_to_check(workdir):
    notes, caught = build(workdir, FAQ)
    duplicates = [n for n in notes if "near-identical" in n]
    assert duplicates == [
        "entries `cancel-subscription` and `end-subscription` have near-identical phrasings ('How do I cancel my "
        "subscription?' / 'How can I cancel my subscription?', centered cosine >= 0.95): check whether they mean "
        "the same; if so merge them, if not reword one so they differ, or questions will hesitate between them"
    ]  # "How did you come to be?" / "How've you been?" are 0.74 apart alone: not noted
    assert library_warnings(caught) == []


def test_phrasings_compared_a_few_at_a_time_find_the_same_pairs(workdir, monkeypatch):
    """A build compares its sampled phrasings ASK_ROWS at a time: each block must find its own."""
    monkeypatch.setattr(calibration, "ASK_ROWS", 3)  # a block ends between the two near-identical phrasings
    notes, _ = build(workdir, FAQ)
    duplicates = [n for n in notes if "near-identical" in n]
    assert len(duplicates) == 1 and "`cancel-subscription` and `end-subscription`" in duplicates[0]


def test_a_two_entry_faq_whose_folds_hold_one_entry_builds_without_library_output(workdir):
    one_and_three = """\
language: en
faqs:
  - id: hello
    question: Hello
    answer: Hi there.
  - id: bye
    question: Goodbye
    alternatives: [See you later, Bye bye]
    answer: See you!
"""
    notes, caught = build(workdir, one_and_three)  # one fold holds only `bye`: scikit-learn refuses to fit it
    assert library_warnings(caught) == [] and not [n for n in notes if "near-identical" in n]
