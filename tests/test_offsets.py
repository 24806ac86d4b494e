"""Language offsets and translation differences: learned from parallel data where shipped for the
encoder's exact version, else from the off-topic sample; always relative to the FAQ's language."""

from __future__ import annotations

import numpy as np
import pytest

from faqsearch import offsets
from faqsearch.encoders import get_encoder
from faqsearch.encoders.base import Encoder

SAMPLE = (np.zeros((0, 2), np.float32), [])  # the off-topic sample's differences, where none are shipped


class Toy(Encoder):
    name, dim, version, requires, install_hint = "toy", 2, "toy 1", "numpy", ""

    def _embed(self, texts, languages):
        return np.ones((len(texts), 2))


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    monkeypatch.setattr(offsets, "FOLDER", tmp_path)
    offsets._read.cache_clear()
    learned = {"de": np.array([0.5, 0.0]), "fr": np.array([0.0, 0.25])}
    differences = {"de": np.array([[0.5, 0.125], [0.5, -0.125]]), "fr": np.array([[0.0, 0.25]])}
    offsets.write(offsets.path("toy"), "toy 1", learned, {"parallel": 0.9}, differences)
    yield
    offsets._read.cache_clear()


def test_shipped_offsets_replace_the_samples_and_are_relative_to_the_faq_language(shipped):
    sample = {"de": np.array([9.0, 9.0]), "ja": np.array([1.0, 2.0]), "en": np.zeros(2)}
    from_english = offsets.language_offsets(Toy(), "en", sample, [2])
    assert np.allclose(from_english["de"], [0.5, 0.0]) and np.allclose(from_english["fr"], [0.0, 0.25])
    assert np.allclose(from_english["ja"], [1.0, 2.0])  # not shipped: the sample's
    from_german = offsets.language_offsets(Toy(), "de", {}, [2])
    assert np.allclose(from_german["fr"], [-0.5, 0.25]) and np.allclose(from_german["en"], [-0.5, 0.0])


def test_translation_differences_are_the_shipped_pairs_seen_from_the_faq_language(shipped):
    from_english, languages = offsets.translation_differences(Toy(), "en", SAMPLE)
    assert languages == ["de", "de", "fr"]
    assert np.allclose(from_english, [[0.5, 0.125], [0.5, -0.125], [0.0, 0.25]])
    from_german, languages = offsets.translation_differences(Toy(), "de", SAMPLE)
    assert languages == ["en", "en", "fr"]  # German pairs turned round; French ones less German's offset
    assert np.allclose(from_german, [[-0.5, -0.125], [-0.5, 0.125], [-0.5, 0.25]])
    assert offsets.translation_differences(Toy(), "ja", SAMPLE) is SAMPLE  # no offset for the FAQ's language


def test_another_encoder_version_ignores_them(shipped):
    other = Toy()
    other.version = "toy 2"
    assert offsets.shipped(other) == {}
    assert offsets.language_offsets(other, "en", {}, [2]) == {}
    assert offsets.translation_differences(other, "en", SAMPLE) is SAMPLE


def test_the_bundled_encoder_ships_offsets_for_its_version():
    encoder = get_encoder("e5")
    learned = offsets.shipped(encoder)
    assert {"de", "es", "ja", "zh", "hi", "ar"} <= set(learned)
    assert all(v.shape == (encoder.dim,) and 0.01 < np.linalg.norm(v) < 1 for v in learned.values())
    differences, languages = offsets.translation_differences(encoder, "en", SAMPLE)
    assert differences.shape == (len(languages), encoder.dim) and set(languages) == set(learned)
    assert 0.1 < np.linalg.norm(differences, axis=1).mean() < 1


def test_a_fused_encoder_with_a_part_that_ships_nothing_gets_the_samples_differences():
    assert offsets.translation_differences(get_encoder("e5+use"), "en", SAMPLE) is SAMPLE
