"""The shipped background corpus: what it holds, its vectors, what a build keeps of it, and a
broken install."""

from __future__ import annotations

import json
import shutil

import faiss
import numpy as np
import pytest

from faqsearch import ann, background, build, calibration, load_faqs, offtopic, packagedata
from faqsearch.build import build_index
from faqsearch.encoders import get_encoder
from faqsearch.errors import ShippedDataBroken
from faqsearch.index import open_index
from faqsearch.retrieval import Retriever


def test_the_corpus_is_public_everyday_text_in_many_languages_never_held_out():
    corpus = background.corpus()
    assert 15_000 <= len(corpus.texts) <= 30_000
    assert len(set(corpus.languages)) >= 80
    assert sum(t.endswith(("?", "？", "؟")) for t in corpus.texts) >= 0.2 * len(corpus.texts)
    english = [t for t, lang in zip(corpus.texts, corpus.languages, strict=True) if lang == "en"]
    assert len(english) >= 2000 and not any(background.held_out(t) for t in english)
    assert len(corpus.groups) == len(corpus.texts) and np.bincount(corpus.groups).max() <= 3


def test_held_out_is_a_fixed_quarter_of_english_sentences():
    sentences = [f"Is sentence number {i} a question?" for i in range(2000)]
    share = np.mean([background.held_out(s) for s in sentences])
    assert 0.2 < share < 0.3
    assert background.held_out("Where is Tom?") == background.held_out("  where is   TOM? ")


@pytest.mark.parametrize("name", ["e5-aligned", "e5"])
def test_the_default_encoders_vectors_ship_and_match_the_encoder(name, monkeypatch):
    def no_encoding(*args, **kwargs):
        raise AssertionError("shipped vectors must not be embedded again")

    monkeypatch.setattr(background, "encode_cached", no_encoding)
    encoder = get_encoder(name)
    found = background.load(encoder)
    corpus = found.corpus
    assert found.vectors.shape == (len(corpus.texts), 384)
    some = np.arange(0, len(corpus.texts), 997)
    fresh = encoder.encode([corpus.texts[i] for i in some], [corpus.languages[i] for i in some])
    assert (np.sum(fresh * found.vectors[some], axis=1) > 0.995).all()  # int8 with a scale per dimension


def test_shipped_vectors_stay_int8_until_their_rows_are_asked():
    """A float32 copy of the corpus is 27 MB of a build's memory; a build asks a few thousand rows."""
    found = background.load(get_encoder("e5-aligned"))
    [(values, scale)] = found.vectors.parts
    assert values.dtype == np.int8
    rows = found.vectors[np.array([0, 5])]
    expected = values[[0, 5]].astype(np.float32) * scale
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert rows.dtype == np.float32 and np.allclose(rows, expected, atol=1e-7)
    some = found.vectors.take(np.array([9, 5, 0]))  # the rows a build keeps: read through, not copied
    assert some.shape == (3, 384) and some.parts[0][0] is values
    assert np.array_equal(some[np.array([2, 1])], rows) and np.array_equal(some[1:], rows[::-1])
    assert np.array_equal(some.take(np.array([2]))[0], rows[0])


def test_a_background_sentence_is_asked_with_all_its_translations_hidden():
    """Translations of one sentence share a group: asked as a general question, it must not find
    itself in another language."""
    languages, groups = ["en", "de", "en", "fr", "de"], np.array([4, 7, 4, 9, 7])
    sample = calibration.Background(background.load(get_encoder("e5")).vectors, languages, groups, np.zeros(5))
    hidden = sample.translations(np.array([0, 4, 3]))
    assert [h.tolist() for h in hidden] == [[0, 2], [1, 4], [3]]


def test_the_background_index_reads_its_rows_in_blocks_and_codes_them_as_faiss_would(monkeypatch):
    """A build makes the aligned corpus a block at a time (27 MB whole): the int8 ranges gathered
    block by block must be FAISS's own, or every background score would shift."""
    monkeypatch.setattr(ann, "BACKGROUND_BLOCK", 300)
    vectors = np.random.default_rng(3).standard_normal((1000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    read = []

    class Rows:
        shape = vectors.shape

        def __getitem__(self, rows):
            read.append(len(vectors[rows]))
            return vectors[rows]

    built = ann.background(Rows())
    quantizer = faiss.IndexFlatIP(32)
    quantizer.add(vectors[np.sort(np.random.default_rng(0).choice(1000, ann.BACKGROUND_CELLS, replace=False))])
    expected = faiss.IndexIVFScalarQuantizer(
        quantizer, 32, ann.BACKGROUND_CELLS, ann.BACKGROUND_CODE, faiss.METRIC_INNER_PRODUCT
    )
    expected.train(vectors)
    expected.add(vectors)
    expected.nprobe = ann.BACKGROUND_PROBES
    assert np.array_equal(faiss.serialize_index(built), faiss.serialize_index(expected))
    assert max(read) == 300 and sum(read) == ann.BACKGROUND_CELLS + 2 * 1000  # the cells' rows, then twice in blocks


def test_the_fit_asks_its_background_sentences_with_their_translations_hidden(small_faq, workdir, monkeypatch):
    """The fit measures its background sentences' background apart (in a thread, while it asks
    the phrasings): each must not find itself, which it would at cosine ~1."""
    measured = []
    original = Retriever.near_backgrounds

    def recording(retriever, queries, languages, ignore=None):
        measured.append((retriever, queries, languages, ignore))
        return original(retriever, queries, languages, ignore)

    monkeypatch.setattr(Retriever, "near_backgrounds", recording)
    build_index(load_faqs(small_faq), get_encoder("e5-aligned"), workdir / "indexes" / "shop")
    [(retriever, queries, languages, ignore)] = [call for call in measured if call[3] is not None]
    assert len(ignore) == len(languages) == 2 * calibration.BACKGROUND_SAMPLE
    hidden, found = original(retriever, queries, languages, ignore), original(retriever, queries, languages)
    assert np.mean(hidden < found) > 0.95 and np.mean(found) > np.mean(hidden) + 0.03


def test_a_build_leaves_out_background_sentences_that_paraphrase_the_faq(workdir):
    corpus = background.corpus()
    english = [t for t, lang in zip(corpus.texts, corpus.languages, strict=True) if lang == "en" and "?" in t][:12]
    faq = workdir / "general.yaml"
    entries = [{"id": f"q{i}", "question": text, "answer": "-"} for i, text in enumerate(english)]
    faq.write_text(json.dumps({"language": "en", "faqs": entries}), encoding="utf-8")
    built = build_index(load_faqs(faq), get_encoder("e5-aligned"), workdir / "indexes" / "general")
    info = built.index.manifest.background
    assert info.in_scope >= len(english)  # each phrasing itself, and whatever paraphrases it
    assert info.kept + info.in_scope == len(corpus.texts) == info.sentences
    assert open_index(built.index.path).retriever.background.ntotal == info.kept
    assert not any("general" in note for note in built.notes)


def test_a_faq_as_general_as_the_corpus_is_told_so(workdir, small_faq, monkeypatch):
    monkeypatch.setattr(build, "GENERAL", -1.0)  # every FAQ counts as general
    built = build_index(load_faqs(small_faq), get_encoder("e5-aligned"), workdir / "indexes" / "shop")
    assert any("background sentences are paraphrases of this FAQ's phrasings" in note for note in built.notes)


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda data: (data / "background" / "corpus.npz").unlink(), "corpus.npz is missing"),
        (lambda data: (data / "background" / "corpus.npz").write_bytes(b"not a zip"), "corpus.npz is damaged"),
        (lambda data: (data / "background" / "e5-aligned.npz").write_bytes(b"\0" * 64), "e5-aligned.npz is damaged"),
        (lambda data: (data / "offtopic" / "e5-aligned.npz").write_bytes(b"not a zip"), "e5-aligned.npz is damaged"),
        (
            lambda data: packagedata.write(
                data / "offtopic" / "e5-aligned.npz",
                packagedata.read(data / "offtopic" / "e5-aligned.npz")[0],
                {"vectors": np.zeros((3, 384), dtype=np.float32)},
            ),
            "offtopic/e5-aligned.npz is damaged (its vectors do not match the texts)",
        ),
    ],
)
def test_a_broken_install_is_one_line_naming_the_file_and_the_reinstall(
    small_faq, cli, monkeypatch, tmp_path, damage, words
):
    """A file the package ships (the background corpus, an encoder's vectors of it or of the
    off-topic sample) missing or damaged."""
    for folder in (background.CORPUS.parent, offtopic.VECTORS):
        shutil.copytree(folder, tmp_path / folder.name)
    damage(tmp_path)
    monkeypatch.setattr(background, "CORPUS", tmp_path / "background" / "corpus.npz")
    monkeypatch.setattr(offtopic, "VECTORS", tmp_path / "offtopic")
    result = cli("build", str(small_faq))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert words in lines[-1] and "pip install --force-reinstall faqsearch" in lines[-1]
    assert not (small_faq.parent.parent / "indexes" / "shop").exists()  # nothing built, nothing damaged


def test_a_build_with_shipped_vectors_never_reads_the_corpus_texts(small_faq, workdir, monkeypatch):
    """They are needed only to embed the corpus (2.5 MB of a build's memory otherwise)."""
    monkeypatch.setattr(background, "_corpus", background._corpus.__wrapped__)  # a fresh read
    read = []
    monkeypatch.setattr(background.Corpus, "texts", property(lambda corpus: read.append(1) or []))
    build_index(load_faqs(small_faq), get_encoder("e5-aligned"), workdir / "indexes" / "shop")
    assert read == []


def test_corpus_texts_that_do_not_match_their_checksum_are_a_damaged_install(tmp_path, monkeypatch):
    meta, arrays = packagedata.read(background.CORPUS)
    arrays["texts"] = arrays["texts"].copy()
    arrays["texts"][100] ^= 1  # one letter changed
    packagedata.write(tmp_path / "corpus.npz", meta, arrays)
    corpus = background._corpus.__wrapped__(tmp_path / "corpus.npz")
    assert corpus.languages == background.corpus().languages  # the rest reads as before
    with pytest.raises(ShippedDataBroken, match=r"corpus.npz is damaged \(its texts do not match"):
        _ = corpus.texts


def test_an_encoder_without_shipped_vectors_embeds_the_corpus_once(monkeypatch):
    encoder = get_encoder("e5")
    calls = []
    monkeypatch.setattr(background, "vectors_path", lambda name: background.CORPUS.parent / "absent.npz")
    monkeypatch.setattr(
        background, "encode_cached", lambda enc, texts, langs, name, progress: calls.append(name) or np.zeros((1, 1))
    )
    background.load(encoder)
    assert calls == ["background"]
