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

from hashcore.search import kernels
from hashcore.search.scan import _pool, best_scan

BATCH_PROBES = 1 << 18  # probe keys per chunk of a batch: temporaries stay near the caches
MAX_SUBSTRING_BITS = 24  # 2^24 starts = 64 MiB per table: the most a desktop app should spend
_EMPTY = (np.zeros(0, np.int64), np.zeros(0, np.int32))


def default_parts(n: int, bits: int) -> int:
    """Norouzi's rule, rounded to the longer side: substrings of at least log2(N) bits, so a
    random bucket holds about one row (measured faster than the shorter side on clustered codes)."""
    s = min(max(math.log2(max(n, 2)), 8), MAX_SUBSTRING_BITS)
    return max(math.ceil(bits / MAX_SUBSTRING_BITS), min(bits, max(1, int(bits / s))))


def radius_probes(n: int, bits: int, r: int) -> int:
    """Probe keys one radius-r query costs in an index of n codes (default parts): per table,
    every key within its probe radius of the query's substring. Against n, it says whether the
    index or a scan answers faster (`CodeIndex.ball_backend`)."""
    parts = default_parts(n, bits)
    a, b = divmod(min(r, bits), parts)
    widths = [hi - lo for lo, hi in substring_edges(bits, parts)]
    return sum(math.comb(w, level) for t, w in enumerate(widths)
               for level in range((a if t <= b else a - 1) + 1) if level <= w)


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
    """Exact Hamming-ball and k-nearest search through m substring tables.

    The m tables live in two flat arrays (`rows`, and `starts` with table t's keys shifted by
    `base[t]`), so one query builds every probe key of every table in a handful of vectorised
    steps: per query the Python overhead is a few dozen NumPy calls, whatever m and r are.
    """

    def __init__(self, codes: np.ndarray, bits: int | None = None, parts: int | None = None,
                 compiled: bool | None = None) -> None:
        """compiled: use the C probe loop (None: wherever it is built; False: the NumPy path)."""
        self.codes = np.ascontiguousarray(codes, dtype=np.uint64)
        if self.codes.ndim != 2:
            raise ValueError("codes must be a 2-D (N, words) uint64 array")
        n = len(self.codes)
        self.bits = bits or self.codes.shape[1] * 64
        self.parts = parts or default_parts(n, self.bits)
        self.edges = substring_edges(self.bits, self.parts)
        self.widths = [b - a for a, b in self.edges]
        if max(self.widths) > MAX_SUBSTRING_BITS:
            raise ValueError(f"{self.parts} parts of {self.bits} bits exceed {MAX_SUBSTRING_BITS}-bit tables")
        index_type = np.int32 if self.parts * n < 2**31 else np.int64
        self.base = np.cumsum([0] + [(1 << w) + 1 for w in self.widths])[:-1]
        self.rows = np.empty(self.parts * n, index_type)
        self.starts = np.empty(int(self.base[-1]) + (1 << self.widths[-1]) + 1, index_type)
        for t, (a, b) in enumerate(self.edges):
            keys = extract(self.codes, a, b)
            self.rows[t * n:(t + 1) * n] = np.argsort(keys, kind="stable")
            table = self.starts[self.base[t]:self.base[t] + (1 << (b - a)) + 1]
            table[0] = t * n
            np.cumsum(np.bincount(keys, minlength=1 << (b - a)), out=table[1:])
            np.add(table[1:], t * n, out=table[1:])
        # (start, end) of bucket i is row i of this overlapping view: one gather per probe set
        self._spans = np.lib.stride_tricks.as_strided(
            self.starts, (len(self.starts) - 1, 2), (self.starts.itemsize,) * 2, writeable=False)
        self.scan = best_scan(self.codes)
        self._plans: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._radius_plans: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        use = kernels.available() if compiled is None else compiled
        if use and not kernels.available():
            raise RuntimeError("the compiled kernels are not built")
        self._compiled = (kernels.MihTables(self.codes, self.edges, self.base, self.rows, self.starts)
                          if use and index_type is np.int32 else None)

    # -- the SearchBackend interface ----------------------------------------------------------
    def radius(self, query: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(query, np.uint64).reshape(-1)
        if len(self.codes) == 0 or r < 0:
            return _EMPTY
        if r >= self.bits:
            return self.scan.radius(q, r)
        if self._compiled is not None:
            return self._compiled.radius_one(q, self._radius_plan(r), r)
        return self._verify(q, self._candidates(q, self._levels(r)), r)

    def topk(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Grow the probe radius one level in every table until the k-th nearest is certain.

        After probing radius `level` in all m tables, every code within m*(level+1)-1 has been
        seen. When that ball already holds k codes, the k nearest are among them. When the next
        level's probes would cost more than a scan, the scan answers instead.
        """
        k = min(k, len(self.codes))
        if k <= 0:
            return _EMPTY
        q = np.asarray(query, np.uint64).reshape(-1)
        seen: list[np.ndarray] = []
        for level in range(max(self.widths) + 1):
            probes = sum(len(flip_masks(w, level)) for w in self.widths if level <= w)
            if probes * 8 > len(self.codes):
                break
            seen.append(self._candidates(q, tuple((level,) for _ in self.widths)))
            complete = self.parts * (level + 1) - 1
            rows, dist = self._verify(q, np.concatenate(seen), complete)
            if len(rows) >= k or complete >= self.bits:
                return rows[:k], dist[:k]
        return self.scan.topk(q, k)

    def radius_many(self, queries: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (query number, row, distance) within r, for a batch of queries at once.

        Sorted by (query, distance, row). The batch is probed, gathered and verified in a few
        vectorised passes per chunk of queries (chunks run on every core), so the per-query
        Python overhead of `radius` disappears; this is how a batch of searches should be asked.
        """
        queries = np.ascontiguousarray(queries, np.uint64).reshape(-1, self.codes.shape[1])
        return self._batched(queries, r, self_join=False)

    def self_join(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """All pairs of rows (i, j), i < j, within distance r, sorted by (i, j): exact."""
        i, j, _ = self._batched(self.codes, r, self_join=True)
        return i, j

    # -- internals ----------------------------------------------------------------------------
    def _levels(self, r: int) -> tuple[tuple[int, ...], ...]:
        """Probe levels per table for radius r: r = m*a + b, tables 0..b to a, the rest to a-1."""
        a, b = divmod(min(r, self.bits), self.parts)
        return tuple(tuple(range((a if t <= b else a - 1) + 1)) for t in range(self.parts))

    def _radius_plan(self, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The compiled loop's plan for radius r: (top level per table, probe table, flip mask)."""
        plan = self._radius_plans.get(r)
        if plan is None:
            levels = self._levels(r)
            tidx, masks, _ = self._plan(levels)
            top = np.array([min(max(ls, default=-1), w) for ls, w in zip(levels, self.widths, strict=True)],
                           np.int32)
            plan = self._radius_plans[r] = (top, tidx.astype(np.int32), masks.astype(np.uint32))
        return plan

    def _batched(self, queries: np.ndarray, r: int, self_join: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if len(self.codes) == 0 or len(queries) == 0 or r < 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32)
        if self._compiled is not None:
            return self._batched_compiled(queries, r, self_join)
        plan = self._plan(self._levels(r))
        chunk = max(1, BATCH_PROBES // max(len(plan[0]), 1))
        edges = list(range(0, len(queries), chunk)) + [len(queries)]
        jobs = [(s, e) for s, e in zip(edges[:-1], edges[1:], strict=True)]
        pool = _pool(self.scan.threads)
        parts = list(pool.map(lambda se: self._chunk(queries, se[0], se[1], r, plan, self_join), jobs))
        return tuple(np.concatenate([p[x] for p in parts]) for x in range(3))  # type: ignore[return-value]

    def _batched_compiled(self, queries: np.ndarray, r: int,
                          self_join: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The batch through the C loop, in one chunk per core; sorted like the NumPy path."""
        plan = self._radius_plan(r)
        compiled = self._compiled
        assert compiled is not None
        parts = min(self.scan.threads, max(1, len(queries) // 256))
        edges = [len(queries) * i // parts for i in range(parts + 1)]
        jobs = list(zip(edges[:-1], edges[1:], strict=True))
        out = list(_pool(self.scan.threads).map(
            lambda se: compiled.radius(queries[se[0]:se[1]], plan, r, self_join, se[0]), jobs))
        qn, rows, dist = (np.concatenate([o[x] for o in out]) for x in range(3))
        order = np.lexsort((rows, qn)) if self_join else np.lexsort((rows, dist, qn))
        return qn[order], rows[order], dist[order].astype(np.int32)

    def _chunk(self, queries: np.ndarray, start: int, stop: int, r: int,
               plan: tuple[np.ndarray, np.ndarray, np.ndarray], self_join: bool) -> tuple[np.ndarray, ...]:
        tidx, masks, base = plan
        qc = queries[start:stop]
        subs = np.stack([extract(qc, a, b).astype(np.int64) for a, b in self.edges], axis=1)
        spans = self._spans[((subs[:, tidx] ^ masks) + base).ravel()]
        lengths = spans[:, 1] - spans[:, 0]
        full = np.flatnonzero(lengths)
        if len(full) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32)
        cand = self.rows[_ranges(spans[full, 0], spans[full, 1])].astype(np.int64)
        qloc = np.repeat(full // len(tidx), lengths[full])
        if self.codes.shape[1] == 1:
            d = np.bitwise_count(self.codes[cand, 0] ^ qc[qloc, 0])
        else:
            d = np.bitwise_count(self.codes[cand] ^ qc[qloc]).sum(axis=1, dtype=np.uint8)
        keep = d <= r
        if self_join:
            keep &= cand > qloc + start
        cand, qloc, d = cand[keep], qloc[keep], d[keep].astype(np.int64)
        n = len(self.codes)
        key = np.unique(qloc * n + cand if self_join else (qloc * (self.bits + 1) + d) * n + cand)
        if self_join:
            rows = key % n
            return key // n + start, rows, np.zeros(len(key), np.int32)
        return key // ((self.bits + 1) * n) + start, key % n, ((key // n) % (self.bits + 1)).astype(np.int32)

    def _plan(self, levels: tuple[tuple[int, ...], ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For probe levels per table: (table of each probe, its flip mask, its key offset)."""
        key = tuple(x for t, ls in enumerate(levels) for x in (t, *ls, -1))
        plan = self._plans.get(key)
        if plan is None:
            tables, masks = [], []
            for t, ls in enumerate(levels):
                for level in ls:
                    if level <= self.widths[t]:
                        m = flip_masks(self.widths[t], level)
                        tables.append(np.full(len(m), t, np.intp))
                        masks.append(m)
            tidx = np.concatenate(tables) if tables else np.zeros(0, np.intp)
            mcat = np.concatenate(masks).astype(np.int64) if masks else np.zeros(0, np.int64)
            plan = self._plans[key] = (tidx, mcat, self.base[tidx].astype(np.int64))
        return plan

    def _candidates(self, q: np.ndarray, levels: tuple[tuple[int, ...], ...]) -> np.ndarray:
        """Rows filed under any probe key (with repeats), probing `levels[t]` in table t."""
        tidx, masks, base = self._plan(levels)
        whole = int.from_bytes(np.ascontiguousarray(q, "<u8").tobytes(), "little")
        subs = np.array([(whole >> a) & ((1 << (b - a)) - 1) for a, b in self.edges], np.int64)
        spans = self._spans[(subs[tidx] ^ masks) + base]  # (probes, 2): start and end of each bucket
        full = np.flatnonzero(spans[:, 1] > spans[:, 0])
        if len(full) <= 64:  # the usual case: a few non-empty buckets, sliced directly
            parts = [self.rows[a:b] for a, b in spans[full].tolist()]
            return np.concatenate(parts) if parts else self.rows[:0]
        return self.rows[_ranges(spans[full, 0], spans[full, 1])]

    def _verify(self, q: np.ndarray, cand: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact distances of the candidates; those within r, each once, by (distance, row)."""
        if len(cand) == 0:
            return _EMPTY
        if self.codes.shape[1] == 1:
            d = np.bitwise_count(self.codes[cand, 0] ^ q[0])
        else:
            d = np.bitwise_count(self.codes[cand] ^ q).sum(axis=1, dtype=np.int32)
        keep = np.flatnonzero(d <= r)
        n = len(self.codes)
        key = np.unique(d[keep].astype(np.int64) * n + cand[keep])  # sorts by (distance, row), once each
        return key % n, (key // n).astype(np.int32)


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Concatenation of arange(lo[i], hi[i]) for non-empty ranges, without a Python loop."""
    lengths = hi - lo
    total = int(lengths.sum())
    step = np.ones(total, np.int64)
    step[0] = lo[0]
    step[np.cumsum(lengths)[:-1]] = lo[1:] - hi[:-1] + 1
    return np.cumsum(step)
