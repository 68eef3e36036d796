"""Hamming search over packed codes, behind one small interface.

`ReferenceSearch` is plain Python (ints and bit_count) and is the ground truth the tests hold the
fast back-ends to. `NumpyScan` is the in-memory popcount scan over one contiguous uint64 array.
Every back-end returns (row indices, distances) ordered by (distance, row), so results are
deterministic and comparable across back-ends.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from hashcore import bits as bitops

BLOCK_ROWS = 1 << 16


class SearchBackend(Protocol):
    def topk(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def radius(self, query: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]: ...


def _order(rows: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((rows, dist))
    return rows[order].astype(np.int64), dist[order].astype(np.int32)


class ReferenceSearch:
    """Slow and obviously correct."""

    def __init__(self, codes: np.ndarray) -> None:
        self.ints = [bitops.code_to_int(c) for c in np.asarray(codes, np.uint64)]

    def _all(self, query: np.ndarray) -> list[tuple[int, int]]:
        q = bitops.code_to_int(query)
        return sorted((bitops.hamming_int(q, c), i) for i, c in enumerate(self.ints))

    def topk(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        best = self._all(query)[:k]
        return np.array([i for _, i in best], np.int64), np.array([d for d, _ in best], np.int32)

    def radius(self, query: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
        hits = [(d, i) for d, i in self._all(query) if d <= r]
        return np.array([i for _, i in hits], np.int64), np.array([d for d, _ in hits], np.int32)


class NumpyScan:
    """Popcount scan in blocks; top-k by counting over the small range of distances."""

    def __init__(self, codes: np.ndarray) -> None:
        self.codes = np.ascontiguousarray(codes, dtype=np.uint64)
        if self.codes.ndim != 2:
            raise ValueError("codes must be a 2-D (N, words) uint64 array")

    def distances(self, query: np.ndarray) -> np.ndarray:
        q = np.asarray(query, np.uint64).reshape(-1)
        out = np.empty(len(self.codes), np.int32)
        for start in range(0, len(self.codes), BLOCK_ROWS):
            block = self.codes[start:start + BLOCK_ROWS]
            out[start:start + len(block)] = bitops.hamming(block, q)
        return out

    def topk(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        d = self.distances(query)
        k = min(k, len(d))
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int32)
        # the k-th smallest distance, found by counting (distances are small integers)
        counts = np.bincount(d, minlength=self.codes.shape[1] * 64 + 1)
        cutoff = int(np.searchsorted(np.cumsum(counts), k))
        below = np.flatnonzero(d < cutoff)
        at = np.flatnonzero(d == cutoff)[: k - len(below)]
        rows = np.concatenate([below, at])
        return _order(rows, d[rows])

    def radius(self, query: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
        d = self.distances(query)
        rows = np.flatnonzero(d <= r)
        return _order(rows, d[rows])


class CodeIndex:
    """Image ids and their codes in one contiguous array, searched by a back-end."""

    def __init__(self, ids: np.ndarray, codes: np.ndarray, bits: int, backend: type = NumpyScan) -> None:
        self.ids = np.asarray(ids, np.int64)
        self.codes = np.ascontiguousarray(codes, dtype=np.uint64)
        self.bits = bits
        self.backend = backend(self.codes)
        self._row = {int(i): n for n, i in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def code(self, image_id: int) -> np.ndarray | None:
        n = self._row.get(int(image_id))
        return None if n is None else self.codes[n]

    def topk(self, query: np.ndarray, k: int) -> list[tuple[int, int]]:
        rows, dist = self.backend.topk(query, k)
        return [(int(self.ids[r]), int(d)) for r, d in zip(rows, dist, strict=True)]

    def radius(self, query: np.ndarray, r: int) -> list[tuple[int, int]]:
        rows, dist = self.backend.radius(query, r)
        return [(int(self.ids[x]), int(d)) for x, d in zip(rows, dist, strict=True)]
