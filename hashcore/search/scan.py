"""Hamming search over packed codes, behind one small interface.

`ReferenceSearch` is plain Python (ints and bit_count) and is the ground truth the tests hold the
fast back-ends to. `NumpyScan` is the in-memory popcount scan over one contiguous uint64 array.
Every back-end returns (row indices, distances) ordered by (distance, row), so results are
deterministic and comparable across back-ends.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import numpy as np

from hashcore.search import bits as bitops
from hashcore.search import kernels

BLOCK_ROWS = 1 << 18  # rows per block: measured best on this 2-core EPYC (fewer NumPy calls per query)

# Radius queries go to the multi-index hash (mih.py, exact: the same answer as the scan) where it
# is worth it. Per query it beats the scan while its probe keys are few against the rows: on 2
# cores (compiled kernels, 10k-1M clustered codes, 64 and 128 bits) the two cross at about one
# probe key per 10-30 rows. Building it costs as much as ~350-650 scans (bench/RESULTS.md: 1M x
# 64 bits, build 0.5 s, scan 1.5 ms; 10M: 5.3 s, 10.9 ms), so an index rents (scans) until the
# radius queries it scanned would have paid for the build, then buys: a one-off search (the CLI)
# never pays a build it cannot win back, a long session gets the index, and neither pays more
# than twice the better choice made in hindsight.
MIH_ROWS_PER_PROBE = 32
MIH_AFTER_SCANS = 400


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
    """Popcount scan in cache-sized blocks over one contiguous array, split across cores.

    Each block is XORed and popcounted into reused buffers (so nothing of size N is allocated
    per query), and only rows that can still make the answer survive a block: for top-k that is
    rows closer than the k-th best distance seen so far, so after the first block almost nothing
    is kept. The k-th best is found by counting over the few possible distances, never by a sort.
    Blocks of different row ranges run in parallel threads (NumPy releases the GIL in its loops).
    """

    def __init__(self, codes: np.ndarray, threads: int | None = None,
                 min_rows_per_thread: int = 2 * BLOCK_ROWS) -> None:
        """min_rows_per_thread: below it a second thread costs more than it saves."""
        self.codes = np.ascontiguousarray(codes, dtype=np.uint64)
        if self.codes.ndim != 2:
            raise ValueError("codes must be a 2-D (N, words) uint64 array")
        self.max_dist = self.codes.shape[1] * 64
        self.threads = max(1, threads if threads is not None else min(os.cpu_count() or 1, 8))
        self.min_rows_per_thread = max(1, min_rows_per_thread)

    def distances(self, query: np.ndarray) -> np.ndarray:
        """Every row's distance to the query (int32, N): for callers that need them all."""
        q = _query(query, self.codes.shape[1])
        out = np.empty(len(self.codes), np.int32)
        scratch = _Scratch(q)
        for start in range(0, len(self.codes), BLOCK_ROWS):
            d = scratch.block(self.codes[start:start + BLOCK_ROWS])
            out[start:start + len(d)] = d
        return out

    def topk(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self.codes))
        if k <= 0:
            return _EMPTY
        q = _query(query, self.codes.shape[1])
        parts = self._parallel(lambda a, b: self._topk_range(q, k, a, b))
        rows = np.concatenate([p[0] for p in parts])
        dist = np.concatenate([p[1] for p in parts])
        return _order(*_keep_best(rows, dist, k, self.max_dist))

    def radius(self, query: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
        q = _query(query, self.codes.shape[1])
        parts = self._parallel(lambda a, b: self._radius_range(q, r, a, b))
        rows = np.concatenate([p[0] for p in parts])
        return _order(rows, np.concatenate([p[1] for p in parts]))

    def _parallel(self, work: Callable[[int, int], _Pair]) -> list[_Pair]:
        """Run work(start, stop) over row ranges, one per thread when there is enough to share."""
        n = len(self.codes)
        parts = min(self.threads, max(1, n // self.min_rows_per_thread))
        if parts == 1:
            return [work(0, n)]
        edges = [n * i // parts for i in range(parts + 1)]
        futures = [_pool(self.threads).submit(work, a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]
        return [f.result() for f in futures]

    def _topk_range(self, q: np.ndarray, k: int, start: int, stop: int) -> _Pair:
        """The k best rows of [start, stop): the first block sets a distance bound (its k-th
        best, which the range's k-th best cannot exceed), later blocks keep only rows within it."""
        scratch = _Scratch(q)
        rows: list[np.ndarray] = []
        dist: list[np.ndarray] = []
        bound = self.max_dist
        for a in range(start, stop, BLOCK_ROWS):
            d = scratch.block(self.codes[a:min(a + BLOCK_ROWS, stop)])
            if a == start and len(d) >= k:
                bound = int(np.searchsorted(np.cumsum(np.bincount(d)), k))
            hit = np.flatnonzero(np.less_equal(d, bound, out=scratch.mask[:len(d)]))
            rows.append(hit + a)
            dist.append(d[hit])
        return _keep_best(np.concatenate(rows), np.concatenate(dist).astype(np.int32), k, self.max_dist)

    def _radius_range(self, q: np.ndarray, r: int, start: int, stop: int) -> _Pair:
        scratch = _Scratch(q)
        rows, dist = [], []
        for a in range(start, stop, BLOCK_ROWS):
            d = scratch.block(self.codes[a:min(a + BLOCK_ROWS, stop)])
            hit = np.flatnonzero(np.less_equal(d, r, out=scratch.mask[:len(d)]))
            rows.append(hit + a)
            dist.append(d[hit])
        return (np.concatenate(rows), np.concatenate(dist)) if rows else _EMPTY


class CompiledScan(NumpyScan):
    """The same scan as one fused C loop per row range (hashcore/search/_kernels.c): XOR, popcount and
    the top-k bound in a single pass over memory instead of three NumPy passes. Row ranges run on
    all cores (ctypes releases the GIL). Only usable where `kernels.available()`."""

    def __init__(self, codes: np.ndarray, threads: int | None = None, min_rows_per_thread: int = 1 << 16) -> None:
        if not kernels.available():
            raise RuntimeError("the compiled kernels are not built; use NumpyScan")
        super().__init__(codes, threads, min_rows_per_thread)

    def distances(self, query: np.ndarray) -> np.ndarray:
        return kernels.scan_distances(self.codes, _query(query, self.codes.shape[1]))

    def _topk_range(self, q: np.ndarray, k: int, start: int, stop: int) -> _Pair:
        # rows come back in row order, so ties are already ordered for _keep_best
        return kernels.scan_topk(self.codes[start:stop], q, k, start)

    def _radius_range(self, q: np.ndarray, r: int, start: int, stop: int) -> _Pair:
        return kernels.scan_radius(self.codes[start:stop], q, r, start)


def best_scan(codes: np.ndarray, threads: int | None = None) -> NumpyScan:
    """The fastest scan this install has: compiled where built, NumPy otherwise."""
    return CompiledScan(codes, threads) if kernels.available() else NumpyScan(codes, threads)


_Pair = tuple[np.ndarray, np.ndarray]
_EMPTY: _Pair = (np.zeros(0, np.int64), np.zeros(0, np.int32))
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool(threads: int) -> ThreadPoolExecutor:
    """One shared pool for every scan in the process (threads are made once, not per query)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL._max_workers < threads:
            _POOL = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="hashcore-scan")
        return _POOL


def _query(query: np.ndarray, words: int) -> np.ndarray:
    q = np.asarray(query, np.uint64).reshape(-1)
    if len(q) != words:
        raise ValueError(f"query has {len(q)} words, the index {words}")
    return q


class _Scratch:
    """Per-thread buffers for one block, and the query repeated to the block's length.

    Every step works on flat, contiguous arrays: NumPy's XOR of an (n, 2) array with a broadcast
    (2,) query runs a slow inner loop of length 2, the flat XOR with a tiled query does not.
    """

    def __init__(self, q: np.ndarray) -> None:
        self.words = len(q)
        self.q = np.tile(q, BLOCK_ROWS) if self.words > 1 else q[0]
        self.x = np.empty(BLOCK_ROWS * self.words, np.uint64)
        self.c = np.empty(BLOCK_ROWS * self.words, np.uint8)
        self.d = np.empty(BLOCK_ROWS, np.uint16)
        self.mask = np.empty(BLOCK_ROWS, np.bool_)

    def block(self, codes: np.ndarray) -> np.ndarray:
        """Distances of a block of rows (at most BLOCK_ROWS) to the query, uint8 or uint16."""
        n, w = len(codes), self.words
        flat = codes.reshape(-1)
        x = np.bitwise_xor(flat, self.q if w == 1 else self.q[:n * w], out=self.x[:n * w])
        c = np.bitwise_count(x, out=self.c[:n * w])
        if w == 1:
            return c
        if w == 2:  # two popcounts side by side read as one uint16 v = c0 + 256*c1:
            v = c.view(np.uint16)  # (v * 257) >> 8 == c0 + c1 in 16-bit arithmetic
            np.multiply(v, np.uint16(257), out=v)
            return np.right_shift(v, np.uint16(8), out=v)
        per_row = c.reshape(n, w)
        d = self.d[:n]
        np.add(per_row[:, 0], per_row[:, 1], out=d, dtype=np.uint16)
        for j in range(2, w):
            np.add(d, per_row[:, j], out=d, dtype=np.uint16)
        return d


def _keep_best(rows: np.ndarray, dist: np.ndarray, k: int, max_dist: int) -> _Pair:
    """The k best of candidates in row order: all below the k-th distance, then ties by row."""
    if len(rows) <= k:
        return rows, dist
    counts = np.bincount(dist, minlength=max_dist + 1)
    cutoff = int(np.searchsorted(np.cumsum(counts), k))
    below = dist < cutoff
    at = np.flatnonzero(dist == cutoff)[: k - int(counts[:cutoff].sum())]
    below[at] = True
    return rows[below], dist[below]


class CodeIndex:
    """Image ids and their codes in one contiguous array, searched by a back-end.

    Ids cost nothing when they are one unbroken run (a freshly indexed library: row i is photo
    first + i), 4 bytes a photo as a sorted int32 array otherwise, never a dict (~100 bytes)."""

    def __init__(self, ids: np.ndarray, codes: np.ndarray, bits: int,
                 backend: Callable[[np.ndarray], SearchBackend] = best_scan,
                 mih_after_scans: int | None = MIH_AFTER_SCANS) -> None:
        """mih_after_scans: qualifying radius queries scanned before the multi-index hash is
        built (0: at the first; None: never, every query scans)."""
        ids = np.asarray(ids, np.int64)
        self.codes = np.ascontiguousarray(codes, dtype=np.uint64)
        self.bits = bits
        self.n = len(ids)
        self.first: int | None = None
        self.ids: np.ndarray | None = None
        self._by_id: np.ndarray | None = None  # row order of the ids sorted, when they are not
        self._sorted_ids: np.ndarray | None = None
        if self.n and int(ids[-1]) - int(ids[0]) == self.n - 1 and bool(np.all(ids[1:] > ids[:-1])):
            self.first = int(ids[0])
        else:
            self.ids = ids.astype(np.int32) if self.n and 0 <= ids.min() and ids.max() < 2**31 else ids
            if bool(np.all(self.ids[1:] > self.ids[:-1])):
                self._sorted_ids = self.ids
            else:
                self._by_id = np.argsort(self.ids, kind="stable")
                self._sorted_ids = self.ids[self._by_id]  # once, not per lookup
        self.backend = backend(self.codes)
        self.mih_after_scans = mih_after_scans
        self.mih_rows_per_probe = MIH_ROWS_PER_PROBE
        self.mih: SearchBackend | None = None  # built by ball_backend when it pays
        self.ball_scans = 0  # qualifying radius queries answered by the scan so far
        self._mih_lock = threading.Lock()

    def __len__(self) -> int:
        return self.n

    def holds(self, ids: np.ndarray, codes: np.ndarray) -> bool:
        """Whether this index is over exactly these ids and codes (a reload that changed nothing)."""
        return (len(ids) == self.n and self.codes.shape == np.shape(codes)
                and bool(np.array_equal(self.image_ids(np.arange(self.n)), ids))
                and bool(np.array_equal(self.codes, codes)))

    def row_of(self, image_id: int) -> int | None:
        if self.first is not None:
            row = image_id - self.first
            return row if 0 <= row < self.n else None
        order = self._sorted_ids
        assert order is not None
        at = int(np.searchsorted(order, image_id))
        if at == len(order) or order[at] != image_id:
            return None
        return at if self._by_id is None else int(self._by_id[at])

    def code(self, image_id: int) -> np.ndarray | None:
        row = self.row_of(image_id)
        return None if row is None else self.codes[row]

    def image_ids(self, rows: np.ndarray) -> np.ndarray:
        if self.first is not None:
            return np.asarray(rows, np.int64) + self.first
        assert self.ids is not None
        return self.ids[rows]

    def topk(self, query: np.ndarray, k: int) -> list[tuple[int, int]]:
        rows, dist = self.backend.topk(query, k)
        return list(zip(self.image_ids(rows).tolist(), dist.tolist(), strict=True))

    def radius(self, query: np.ndarray, r: int) -> list[tuple[int, int]]:
        rows, dist = self.ball_backend(r).radius(query, r)
        return list(zip(self.image_ids(rows).tolist(), dist.tolist(), strict=True))

    def ball_backend(self, r: int) -> SearchBackend:
        """The back-end that answers a radius-r query: the multi-index hash where its probes are
        few against the rows and it has paid for itself (see MIH_AFTER_SCANS), else the scan."""
        # imported here: mih.py builds on this module
        from hashcore.search.mih import MultiIndexHash, radius_probes

        if (self.mih_after_scans is None or self.n == 0 or not 0 <= r < self.bits
                or radius_probes(self.n, self.bits, r) * self.mih_rows_per_probe > self.n):
            return self.backend
        with self._mih_lock:
            if self.mih is None:
                if self.ball_scans < self.mih_after_scans:
                    self.ball_scans += 1
                    return self.backend
                self.mih = MultiIndexHash(self.codes, self.bits)
            return self.mih
