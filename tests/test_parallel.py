"""Training pairs for e5-aligned (training/parallel.py): the encoder's languages that
Tatoeba-Challenge lacks are topped up from FLORES-200, line-aligned, short sentences only."""

from __future__ import annotations

import argparse
import re

import pytest

from faqsearch import langid
from faqsearch.publicdata import FLORES, ISO1
from training import parallel

LONG = " ".join(["word"] * (parallel.FLORES_WORDS + 1)) + "."


def flores_folder(root, lines: dict[str, list[str]]):
    folder = root / "flores200"
    folder.mkdir()
    for name, rows in lines.items():
        (folder / f"{name}.devtest").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


def test_every_language_the_encoder_reads_has_its_flores_file_but_those_flores_lacks():
    assert set(FLORES) == set(langid.ENCODER_LANGUAGES) - {"en", "br", "fy", "la"}
    assert all(re.fullmatch(r"[a-z]{3}_[A-Z][a-z]{3}", name) for name in FLORES.values())  # one file each
    assert all(ISO1[name] == language for language, name in FLORES.items())


def test_languages_short_of_pairs_are_topped_up_from_flores(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "FLORES", {"de": "deu_Latn", "ta": "tam_Taml", "sw": "swh_Latn"})
    root = flores_folder(
        tmp_path,
        {
            "eng_Latn": [f"Sentence {i}." for i in range(6)] + [LONG, "Empty on the other side."],
            "deu_Latn": [f"Satz {i}." for i in range(6)] + ["Lang.", ""],
            "tam_Taml": [f"வாக்கியம் {i}." for i in range(6)] + ["நீளம்.", ""],
            "swh_Latn": [f"Sentensi {i}." for i in range(6)] + ["Ndefu.", ""],
        },
    )
    training = [parallel.Pair("deu", f"Ein Satz {i}.", f"A sentence {i}.") for i in range(4)]
    training.append(parallel.Pair("swa", "Habari.", "Hello."))  # a code publicdata.CODES does not map
    out = parallel.with_flores(root, training, per_language=4, seed=0)

    added = [p for p in out if p not in training]
    assert set(training) <= set(out) and len(out) == len(training) + len(added)
    assert {p.code for p in added} == {"tam_Taml", "swh_Latn"}  # German has its 4 already
    tamil = [p for p in added if p.code == "tam_Taml"]
    assert len(tamil) == 4 and len({p.english for p in tamil}) == 4
    everything = parallel.with_flores(root, training, per_language=100, seed=0)
    usable = [p for p in everything if p.code == "tam_Taml"]
    assert len(usable) == 6  # never the long sentence nor the one with an empty side
    for pair in usable:  # line-aligned
        number = pair.english.removeprefix("Sentence ").removesuffix(".")
        assert number.isdigit() and pair.text.endswith(f" {number}.")
    assert out == parallel.with_flores(root, training, per_language=4, seed=0)


def test_a_language_with_enough_pairs_reads_no_flores_file(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "FLORES", {"de": "deu_Latn"})
    root = flores_folder(tmp_path, {"eng_Latn": ["Hello."]})  # no deu_Latn file: reading it would fail
    training = [parallel.Pair("deu", "Hallo.", "Hello.")]
    assert parallel.with_flores(root, training, per_language=1, seed=0) == training


def test_a_folder_without_the_pairs_is_refused_with_the_fix(tmp_path):
    with pytest.raises(argparse.ArgumentTypeError, match=r"no tatoeba-challenge/PAIRS\.tsv in it: give the parallel"):
        parallel.folder(str(tmp_path))
    (tmp_path / "tatoeba-challenge").mkdir()
    (tmp_path / "tatoeba-challenge" / "PAIRS.tsv").write_text("language\tpairs\n")
    assert parallel.folder(str(tmp_path)) == tmp_path
