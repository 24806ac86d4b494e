"""`faqsearch review --interactive`'s key handling, driven by scripted keys on hand-made items
(no index needed)."""

from __future__ import annotations

import io

import pytest

from faqsearch.cli.terminal import label_interactively, read_key
from faqsearch.errors import FAQSearchError
from faqsearch.review import Item


def item(question: str, suggested: str = "cancel", covers=(), candidates=(("cancel", 0.62), ("refund", 0.41))) -> Item:
    return Item(question, "es", 7, list(covers), list(candidates), suggested, "ambiguous", 1.0)


ITEMS = [
    item("¿cómo cancelo?", covers=[("cancelar pedido", "es"), ("how do I cancel", "en")]),
    item("devolver dinero", suggested="refund"),
    item("hola", suggested="none"),
]


def run(keys: list[str], items: list[Item] = ITEMS) -> tuple[list[dict], list[str]]:
    lines: list[str] = []
    return label_interactively(items, keys=iter(keys), out=lines.append), lines


def label(question: str, entry: str, covers: list | None = None) -> dict:
    return {"question": question, "language": "es", "entry": entry} | ({"covers": covers} if covers else {})


COVERS = [["cancelar pedido", "es"], ["how do I cancel", "en"]]


def test_enter_accepts_each_suggestion_and_carries_covers():
    labels, lines = run(["enter", "enter", "enter"])
    assert labels == [
        label("¿cómo cancelo?", "cancel", COVERS),
        label("devolver dinero", "refund"),
        label("hola", "none"),
    ]
    assert lines[-1] == "2 labelled, 1 none, 0 skipped"


def test_first_screen_shows_header_covers_and_preselected_menu():
    _, lines = run(["q"])
    assert lines[:6] == [
        "[1/3] [es] ¿cómo cancelo? (stands for 7; ambiguous)",
        "  also covers: cancelar pedido (es); how do I cancel (en)",
        "> 1  cancel  0.62",
        "  2  refund  0.41",
        "  3  none (not for this FAQ)",
        "  4  skip",
    ]


def test_arrows_and_jk_move_the_selection():
    labels, _ = run(["down", "enter", "up", "enter", "j", "k", "k", "enter"])
    # 1st: cancel -> refund; 2nd: refund -> cancel; 3rd: none -> skip -> none -> refund
    assert [x["entry"] for x in labels] == ["refund", "cancel", "refund"]


def test_up_from_the_top_wraps_to_skip():
    labels, lines = run(["up", "enter", "enter", "enter"])
    assert [x["question"] for x in labels] == ["devolver dinero", "hola"]
    assert lines[-1] == "1 labelled, 1 none, 1 skipped"


def test_digit_picks_at_once():
    labels, _ = run(["2", "1", "3"])
    assert labels == [
        label("¿cómo cancelo?", "refund", COVERS),
        label("devolver dinero", "cancel"),
        label("hola", "none"),
    ]


def test_digit_past_the_choices_is_ignored():
    labels, _ = run(["9", "enter", "q"])
    assert labels == [label("¿cómo cancelo?", "cancel", COVERS)]


def test_n_gives_none_and_s_skips():
    labels, lines = run(["n", "s", "enter"])
    assert labels == [label("¿cómo cancelo?", "none", COVERS), label("hola", "none")]
    assert lines[-1] == "0 labelled, 2 none, 1 skipped"


def test_b_goes_back_and_relabels():
    labels, lines = run(["enter", "b", "2", "n", "b", "b", "enter", "s", "enter"])
    # back twice from the 3rd question: to the 1st, whose last pick (refund) is selected again
    assert labels == [label("¿cómo cancelo?", "refund", COVERS), label("hola", "none")]
    assert lines[-1] == "1 labelled, 1 none, 1 skipped"


def test_b_on_the_first_question_stays_there():
    labels, _ = run(["b", "2", "q"])
    assert labels == [label("¿cómo cancelo?", "refund", COVERS)]


def test_q_keeps_the_labels_made_so_far():
    labels, lines = run(["enter", "q", "enter"])
    assert labels == [label("¿cómo cancelo?", "cancel", COVERS)]
    assert lines[-1] == "1 labelled, 0 none, 0 skipped, 2 not reached"


def test_ctrl_c_keeps_the_labels_made_so_far():
    def keys():
        yield "n"
        raise KeyboardInterrupt

    lines: list[str] = []
    labels = label_interactively(ITEMS, keys=keys(), out=lines.append)
    assert labels == [label("¿cómo cancelo?", "none", COVERS)]
    assert lines[-1] == "0 labelled, 1 none, 0 skipped, 2 not reached"


def test_feedback_entry_outside_the_candidates_is_a_choice_and_preselected():
    labels, lines = run(["enter"], [item("pago", suggested="billing")])
    assert labels == [label("pago", "billing")]
    assert "> 1  billing  (the bot's feedback)" in lines


def test_customer_text_is_printed_inert():
    _, lines = run(["q"], [item("hi\x1b]0;owned\x07", covers=[("a\u202eb", "en")])])
    assert lines[0].startswith("[1/1] [es] hi\\x1b]0;owned\\x07 ")
    assert lines[1] == "  also covers: a\\u202eb (en)"
    assert not any("\x1b" in line for line in lines)


def test_running_out_of_keys_quits():
    assert run([]) == ([], [*run(["q"])[1][:-1], "0 labelled, 0 none, 0 skipped, 3 not reached"])


def test_no_items():
    assert run([], []) == ([], ["0 labelled, 0 none, 0 skipped"])


@pytest.mark.parametrize(
    "typed, name",
    [
        ("\x1b[A", "up"),
        ("\x1bOA", "up"),
        ("\xe0H", "up"),
        ("\x1b[B", "down"),
        ("\xe0P", "down"),
        ("\r", "enter"),
        ("\n", "enter"),
        ("Q", "q"),
        ("3", "3"),
        ("\x1b[C", "\x1b[C"),
    ],
)
def test_read_key_names_keys(typed, name):
    assert read_key(lambda: typed) == name


def test_without_a_terminal_it_asks_for_out(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(FAQSearchError, match="--interactive needs a terminal; use --out FILE"):
        label_interactively(ITEMS)
