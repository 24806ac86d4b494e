"""The language identifier's model: unpacked once into the cache folder and read in place from
there (a cold `faqsearch ask` would otherwise spend 0.5 s unpacking it), unpacked again when that
copy is damaged, and classifying exactly as py3langid's own identifier restricted the same way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from faqsearch import langid

ROOT = Path(__file__).resolve().parent.parent


def test_the_model_is_unpacked_once_and_a_damaged_copy_is_unpacked_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = tmp_path / "faqsearch" / "langid"
    cache.mkdir(parents=True)
    (cache / "model-1-2.npz").write_bytes(b"an earlier release's copy")
    unpacked = langid._model()
    [folder] = cache.glob("model-*")  # the earlier copy removed
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{name}.npy" for name in langid.MODEL_ARRAYS)
    assert all(isinstance(values, np.memmap) for values in langid._model().values()), "not read in place"
    ptc = folder / "ptc.npy"
    size = ptc.stat().st_size
    ptc.write_bytes(ptc.read_bytes()[: size // 2])  # a copy cut short (a full disk, a killed process)
    again = langid._model()
    assert ptc.stat().st_size == size and sorted(again) == sorted(unpacked)
    assert all(np.array_equal(again[name], unpacked[name]) for name in unpacked)
    assert langid.detect("¿cómo cancelo mi suscripción?") == "es"


def test_the_cached_model_classifies_as_py3langid_does():
    reference = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    reference.set_languages(langid.ENCODER_LANGUAGES)
    ours = langid._identifier()
    questions = [q["question"] for q in yaml.safe_load((ROOT / "tests" / "queries.yaml").read_text())["queries"]]
    for question in questions:
        assert ours.rank(question)[:3] == reference.rank(question)[:3], question
