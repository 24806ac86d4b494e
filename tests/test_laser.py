"""The LASER path, run through the real `laserembeddings` code on a tiny LASER-format checkpoint
that the tests generate (the real weights cannot be downloaded here). Random weights: these
tests check that faqsearch feeds LASER exactly as LASER expects, not what the vectors mean."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest

pytest.importorskip("laserembeddings", reason="LASER extra not installed: pip install -e '.[laser]'")

from laserembeddings import Laser
from tiny_laser import make_tiny_laser

from faqsearch import FAQSearch, load_faqs
from faqsearch.errors import IndexUnusable
from faqsearch.pooling import POOL


@pytest.fixture
def laser_files(tmp_path_factory, monkeypatch):
    models = tmp_path_factory.mktemp("models")
    directory = make_tiny_laser(models / "laser")
    monkeypatch.setenv("FAQSEARCH_MODELS_DIR", str(models))
    return directory


@pytest.fixture
def reference(laser_files):
    """laserembeddings' own pipeline on the same files: what faqsearch must reproduce."""
    laser = Laser(
        bpe_codes=str(laser_files / "93langs.fcodes"),
        bpe_vocab=str(laser_files / "93langs.fvocab"),
        encoder=str(laser_files / "bilstm.93langs.2018-12-26.pt"),
    )

    def embed(texts, lang):
        vectors = laser.embed_sentences(texts, lang=lang)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    return embed


@pytest.fixture
def laser_index(cli, small_faq, laser_files):
    result = cli("build", str(small_faq))
    assert result.exit_code == 0, result.stderr
    assert "encoder: laser (auto: LASER model files found)" in result.stderr
    return small_faq.parent.parent / "indexes" / "shop"


def test_models_list_and_auto_choose_laser_when_its_files_are_present(cli, laser_files):
    lines = cli("models", "list").stdout.splitlines()
    assert any(line.split()[:2] == ["laser", "available"] for line in lines)
    assert lines[-1].split() == ["auto", "->", "laser"]


def test_manifest_records_the_laser_checkpoint(laser_index, laser_files):
    manifest = json.loads((laser_index / "manifest.json").read_text())
    size = (laser_files / "bilstm.93langs.2018-12-26.pt").stat().st_size
    assert manifest["encoder"]["name"] == "laser"
    assert manifest["encoder"]["dim"] == 24  # 2 directions x hidden size 12 of the tiny model
    assert manifest["encoder"]["version"].endswith(f"bilstm.93langs.2018-12-26.pt ({size} bytes)")


def centered(vectors, center):
    """What the index stores and compares: vectors minus the phrasings' mean, re-normalized."""
    shifted = vectors - center
    return shifted / np.linalg.norm(shifted, axis=1, keepdims=True)


def test_index_vectors_equal_laserembeddings_output(laser_index, small_faq, reference):
    phrasings = [p for entry in load_faqs(small_faq).entries for p in entry.phrasings]
    expected = reference(phrasings, "en")
    flat = faiss.read_index(str(laser_index / "vectors.faiss"))
    np.testing.assert_allclose(flat.reconstruct_n(0, flat.ntotal), centered(expected, expected.mean(0)), atol=1e-5)


@pytest.mark.parametrize(
    ("question", "language"),
    [("¿Dónde está mi pedido?", "es"), ("Wie setze ich mein Passwort zurück?", "de"), ("我的订单在哪里？", "zh")],
)
def test_queries_are_tokenized_in_their_detected_language(laser_index, small_faq, reference, question, language):
    faq = FAQSearch.open(laser_index)
    answer = faq.ask(question, k=3)
    assert answer.language == language
    phrasings = reference([p for entry in load_faqs(small_faq).entries for p in entry.phrasings], "en")
    center = phrasings.mean(0)
    query = reference([question], language) - faq.index.retriever.alignments[0].offsets[language]
    query /= np.linalg.norm(query)
    cosines = (centered(query, center) @ centered(phrasings, center).T)[0]
    ids = [entry.id for entry in faq.index.entries]
    for hit in answer.candidates:
        rows = np.flatnonzero(faq.index.row_entry == ids.index(hit.id))
        assert hit.score == pytest.approx(np.sort(cosines[rows])[::-1][:POOL].mean(), abs=1e-4)


def test_laser_index_is_refused_once_the_model_files_are_gone(laser_index, laser_files):
    (laser_files / "93langs.fvocab").unlink()
    with pytest.raises(IndexUnusable, match=r"built with encoder `laser`, which cannot run here.*93langs\.fvocab"):
        FAQSearch.open(laser_index)
