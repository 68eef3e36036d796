"""Exact multi-index hashing (Norouzi, Punjani and Fleet, "Fast search in Hamming space with
multi-index hashing", CVPR 2012), behind the same interface as the other search back-ends.

Each code is cut into m contiguous substrings and each substring gets its own table. Two codes
within Hamming distance r agree closely on at least one substring (pigeonhole): write
r = m*a + b with 0 <= b < m; then one of the first b+1 substrings is within a, or one of the
others within a-1. So a radius query probes, in each table, every key within that small radius
of the query's substring, gathers the rows filed under those keys, and checks each candidate's
full distance. Nothing is approximate: the answer is exactly the linear scan's.

A table is a counting sort of the rows by substring: `rows` (int32, N) lists row numbers
grouped by key and `starts` (int32, 2^s + 1) says where each key's group begins, so a probe is
two array reads and no hashing. Memory: 4 bytes per row per table plus 4 * 2^s per table; at
10M codes and 3 tables of 21-22 bits that is ~170 MB on top of the codes (see bench/README.md).
"""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import combinations

import numpy as np

from hashcore.search import NumpyScan, _order

MAX_SUBSTRING_BITS = 24  # 2^24 starts = 64 MiB per table: the most a desktop app should spend
_EMPTY = (np.zeros(0, np.int64), np.zeros(0, np.int32))


def default_parts(n: int, bits: int) -> int:
    """Norouzi's rule: substrings of about log2(N) bits, so each bucket holds ~1 row on average."""
    s = min(max(math.log2(max(n, 2)), 8), MAX_SUBSTRING_BITS)
    return max(math.ceil(bits / MAX_SUBSTRING_BITS), min(bits, round(bits / s)))


def substring_edges(bits: int, parts: int) -> list[tuple[int, int]]:
    """Bit ranges [a, b) of `parts` nearly equal substrings (the longer ones first)."""
    base, extra = divmod(bits, parts)
    edges, a = [], 0
    for i in range(parts):
        b = a + base + (1 if i < extra else 0)
        edges.append((a, b))
        a = b
    return edges


def extract(codes: np.ndarray, a: int, b: int) -> np.ndarray:
    """Bits [a, b) of every packed code as one uint32 per row (b - a <= 32)."""
    codes = np.asarray(codes, np.uint64).reshape(-1, np.asarray(codes).shape[-1])
    w, off = divmod(a, 64)
    value = codes[:, w] >> np.uint64(off)
    if off + (b - a) > 64:  # the range runs into the next word
        value = value | (codes[:, w + 1] << np.uint64(64 - off))
    return (value & np.uint64((1 << (b - a)) - 1)).astype(np.uint32)


@lru_cache(maxsize=64)
def flip_masks(s: int, radius: int) -> np.ndarray:
    """Every s-bit mask with exactly `radius` bits set, as uint32 (cached: reused by every query)."""
    if radius == 0:
        return np.zeros(1, np.uint32)
    combos = np.array(list(combinations(range(s), radius)), np.uint32)
    return np.bitwise_or.reduce(np.left_shift(np.uint32(1), combos), axis=1).astype(np.uint32)


class MultiIndexHash:
    """Exact Hamming-ball and k-nearest search through m substring tables."""

    def __init__(self, codes: np.ndarray, bits: int | None = None, parts: int | None = None) -> None:
        self.codes = np.ascontiguousarray(codes, dtype=np.uint64)
        if self.codes.ndim != 2:
            raise ValueError("codes must be a 2-D (N, words) uint64 array")
        self.bits = bits or self.codes.shape[1] * 64
        self.parts = parts or default_parts(len(self.codes), self.bits)
        self.edges = substring_edges(self.bits, self.parts)
        if max(b - a for a, b in self.edges) > MAX_SUBSTRING_BITS:
            raise ValueError(f"{self.parts} parts of {self.bits} bits exceed {MAX_SUBSTRING_BITS}-bit tables")
        self.tables = [self._table(extract(self.codes, a, b), b - a) for a, b in self.edges]
        self.scan = NumpyScan(self.codes)

    @staticmethod
    def _table(keys: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray]:
        rows = np.argsort(keys, kind="stable").astype(np.int32)
        starts = np.zeros((1 << s) + 1, np.int32)
        np.cumsum(np.bincount(keys, minlength=1 << s), out=starts[1:])
        return rows, starts

    # -- the SearchBackend interface ----------------------------------------------------------
    def radius(self, query: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(query, np.uint64).reshape(1, -1)
        if len(self.codes) == 0 or r < 0:
            return _EMPTY
        if r >= self.bits:
            return self.scan.radius(q[0], r)
        a, b = divmod(r, self.parts)
        cand = [self._probe(q, t, level)
                for t in range(self.parts)
                for level in range((a if t <= b else a - 1) + 1)]
        return self._verify(q[0], np.concatenate(cand), r)

    def topk(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Grow the probe radius one level in every table until the k-th nearest is certain.

        After probing radius `level` in all m tables, every code within m*(level+1)-1 has been
        seen. When that ball already holds k codes, the k nearest are among them. When the next
        level's probes would cost more than a scan, the scan answers instead.
        """
        k = min(k, len(self.codes))
        if k <= 0:
            return _EMPTY
        q = np.asarray(query, np.uint64).reshape(1, -1)
        seen: list[np.ndarray] = []
        for level in range(MAX_SUBSTRING_BITS + 1):
            probes = sum(len(flip_masks(b - a, level)) for a, b in self.edges if level <= b - a)
            if probes * 8 > len(self.codes):
                break
            seen.extend(self._probe(q, t, level) for t in range(self.parts))
            complete = self.parts * (level + 1) - 1
            rows, dist = self._verify(q[0], np.concatenate(seen), complete)
            if len(rows) >= k or complete >= self.bits:
                return rows[:k], dist[:k]
        return self.scan.topk(q[0], k)

    # -- internals ----------------------------------------------------------------------------
    def _probe(self, q: np.ndarray, t: int, level: int) -> np.ndarray:
        """Rows whose substring t differs from the query's in exactly `level` bits."""
        a, b = self.edges[t]
        if level > b - a:
            return np.zeros(0, np.int32)
        rows, starts = self.tables[t]
        keys = extract(q, a, b)[0] ^ flip_masks(b - a, level)
        lo, hi = starts[keys], starts[keys + 1]
        if len(keys) == 1:
            return rows[lo[0]:hi[0]]
        return rows[_ranges(lo, hi)]

    def _verify(self, q: np.ndarray, cand: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact distances of the candidates; those within r, each once, by (distance, row)."""
        if len(cand) == 0:
            return _EMPTY
        cand = np.unique(cand)
        x = np.bitwise_xor(self.codes[cand], q)
        d = np.bitwise_count(x).sum(axis=1, dtype=np.int32)
        keep = d <= r
        return _order(cand[keep], d[keep])


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Concatenation of arange(lo[i], hi[i]) for all i, without a Python loop."""
    lengths = hi - lo
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    nz = lengths > 0
    lo, lengths = lo[nz], lengths[nz]
    step = np.ones(total, np.int64)
    heads = np.cumsum(lengths)[:-1]
    step[0] = lo[0]
    step[heads] = lo[1:] - (lo[:-1] + lengths[:-1]) + 1
    return np.cumsum(step)
