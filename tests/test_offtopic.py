"""The off-topic sample's vectors: shipped for the default encoders (a first build embeds nothing
but its own phrasings), embedded once and cached for any other (a damaged file: test_background's
broken install)."""

from __future__ import annotations

import numpy as np
import pytest

from faqsearch import offtopic, packagedata
from faqsearch.encoders import get_encoder


def no_encoding(*args, **kwargs):
    raise AssertionError("shipped vectors must not be embedded again")


@pytest.mark.parametrize("name", ["e5-aligned", "e5"])
def test_the_default_encoders_vectors_ship_and_match_the_encoder(name, monkeypatch):
    monkeypatch.setattr(offtopic, "encode_cached", no_encoding)
    encoder = get_encoder(name)
    sample = offtopic.encode_sample(encoder)
    texts = [text for texts in offtopic.messages().values() for text in texts]
    assert sample.vectors.shape == (len(texts), 384) == (1920, 384)
    some = np.arange(0, len(texts), 97)
    fresh = encoder.encode([texts[i] for i in some], [sample.languages[i] for i in some])
    assert (np.sum(fresh * sample.vectors[some], axis=1) > 0.999).all()  # another engine, the same vectors


def test_a_fused_encoder_reads_each_parts_vectors_side_by_side(monkeypatch):
    """e5's ship; USE's are embedded (once, then cached) as the fused encoder would embed them."""
    calls = []
    use_vectors = np.ones((1920, 512), dtype=np.float32)
    monkeypatch.setattr(offtopic, "encode_cached", lambda part, *args: calls.append(part.name) or use_vectors)
    fused = offtopic.encode_sample(get_encoder("e5+use"))
    alone = offtopic.encode_sample(get_encoder("e5"))
    assert calls == ["use"]
    np.testing.assert_array_equal(fused.vectors, np.hstack([alone.vectors, use_vectors]))


def test_vectors_of_another_encoder_version_or_other_messages_are_embedded_instead(monkeypatch, tmp_path):
    encoder = get_encoder("e5")
    calls = []
    monkeypatch.setattr(offtopic, "encode_cached", lambda part, texts, *args: calls.append(len(texts)) or "embedded")
    meta, arrays = packagedata.read(offtopic.vectors_path("e5"))
    monkeypatch.setattr(offtopic, "VECTORS", tmp_path)
    for stale in ({**meta, "version": "e5 0"}, {**meta, "corpus": "0" * 64}):
        packagedata.write(tmp_path / "e5.npz", stale, arrays)
        assert offtopic.encode_sample(encoder).vectors == "embedded"
    assert calls == [1920, 1920]
    messages = offtopic.messages()
    texts, languages = [t for ts in messages.values() for t in ts], [lang for lang, ts in messages.items() for _ in ts]
    packagedata.write_vectors(tmp_path / "e5.npz", encoder.version, packagedata.texts_sha256(texts, languages), arrays)
    assert offtopic.encode_sample(encoder).vectors.shape == (1920, 384)  # what the writer records, the reader reads
    assert len(calls) == 2
