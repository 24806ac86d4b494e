"""The language identifier's model: unpacked once into the cache folder (a cold `faqsearch ask`
would otherwise spend 0.5 s unpacking it), and unpacked again when that copy is damaged."""

from __future__ import annotations

import numpy as np

from faqsearch import langid


def test_the_model_is_unpacked_once_and_a_damaged_copy_is_unpacked_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    unpacked = langid._model()
    [copy] = (tmp_path / "faqsearch" / "langid").glob("model-*.npz")
    size = copy.stat().st_size
    copy.write_bytes(copy.read_bytes()[: size // 2])  # a copy cut short (a full disk, a killed process)
    again = langid._model()
    assert copy.stat().st_size == size and sorted(again) == sorted(unpacked)
    assert all(np.array_equal(again[name], unpacked[name]) for name in unpacked)
    assert langid.detect("¿cómo cancelo mi suscripción?") == "es"
