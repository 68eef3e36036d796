"""ctypes bindings to the optional compiled search loops (hashcore/search/_kernels.c).

The C file is built by `pip install` where a compiler exists (setup.py marks it optional). When it
is missing, or HASHLENS_NO_KERNELS is set, `available()` is False and every caller uses its NumPy
code, which gives the same answers. ctypes releases the GIL during each call, so the search
back-ends split a scan into row ranges and run them on several cores.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import threading
from functools import lru_cache

import numpy as np

_P = ctypes.c_void_p
_I64 = ctypes.c_int64
_I32 = ctypes.c_int32
_INT = ctypes.c_int

_SIGNATURES = {
    "hl_scan_topk": (_I64, [_P, _I64, _INT, _P, _I64, _I64, _I64, _P, _P]),
    "hl_scan_radius": (_I64, [_P, _I64, _INT, _P, _I32, _I64, _I64, _P, _P]),
    "hl_scan_distances": (None, [_P, _I64, _INT, _P, _P]),
    "hl_mih_radius": (_I64, [_P]),
    "hl_mih_slots": (_INT, []),
    "hl_abi": (_INT, []),
}
ABI = 2  # must equal hl_abi() in _kernels.c
# the slots of hl_mih_radius's argument array, in the order of the C enum
_MIH_SLOTS = ("codes", "w", "queries", "nq", "parts", "off", "width", "base", "level", "rows",
              "starts", "nprobe", "ptab", "pmask", "r", "self_join", "q0", "out_q", "out_row",
              "out_dist", "cap", "done", "sorted")
S = {name: i for i, name in enumerate(_MIH_SLOTS)}


@lru_cache(maxsize=1)
def _library() -> ctypes.CDLL | None:
    if os.environ.get("HASHLENS_NO_KERNELS"):
        return None
    try:
        spec = importlib.util.find_spec("hashcore.search._kernels")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    try:
        lib = ctypes.CDLL(spec.origin)
    except OSError:
        return None
    for name, (restype, argtypes) in _SIGNATURES.items():
        fn = getattr(lib, name, None)
        if fn is None:
            return None
        fn.restype, fn.argtypes = restype, argtypes
    if lib.hl_abi() != ABI or lib.hl_mih_slots() != len(_MIH_SLOTS):
        return None  # a stale build of an older _kernels.c
    return lib


def available() -> bool:
    """Whether the compiled loops are built and enabled in this process."""
    return _library() is not None


def _ptr(a: np.ndarray) -> int:
    return a.ctypes.data


def _check(codes: np.ndarray, q: np.ndarray) -> None:
    if codes.dtype != np.uint64 or not codes.flags.c_contiguous or codes.ndim != 2:
        raise ValueError("codes must be a C-contiguous (N, words) uint64 array")
    if q.dtype != np.uint64 or not q.flags.c_contiguous or len(q) != codes.shape[1]:
        raise ValueError("query must be a contiguous uint64 vector of the codes' word count")


def scan_topk(codes: np.ndarray, q: np.ndarray, k: int, row0: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The k best rows of `codes` (row numbers offset by row0) and their distances, unordered."""
    _check(codes, q)
    k = min(k, len(codes))
    cap = max(4 * k, 4096)
    rows, dist = np.empty(cap, np.int64), np.empty(cap, np.int32)
    lib = _library()
    assert lib is not None
    m = lib.hl_scan_topk(_ptr(codes), len(codes), codes.shape[1], _ptr(q), k, row0, cap,
                         _ptr(rows), _ptr(dist))
    if m < 0:
        raise MemoryError("no memory for the scan's histogram")
    return rows[:m], dist[:m]


def scan_radius(codes: np.ndarray, q: np.ndarray, r: int, row0: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows within distance r, in row order, with their distances."""
    _check(codes, q)
    lib = _library()
    assert lib is not None
    cap = min(len(codes), 4096)
    while True:  # a first small buffer; the rare radius that matches more rows gets an exact one
        rows, dist = np.empty(cap, np.int64), np.empty(cap, np.int32)
        m = lib.hl_scan_radius(_ptr(codes), len(codes), codes.shape[1], _ptr(q), int(r), row0, cap,
                               _ptr(rows), _ptr(dist))
        if m <= cap:
            return rows[:m], dist[:m]
        cap = m


def scan_distances(codes: np.ndarray, q: np.ndarray) -> np.ndarray:
    _check(codes, q)
    out = np.empty(len(codes), np.int32)
    lib = _library()
    assert lib is not None
    lib.hl_scan_distances(_ptr(codes), len(codes), codes.shape[1], _ptr(q), _ptr(out))
    return out


class MihTables:
    """The multi-index tables as the C loop reads them: every argument in one int64 array, so a
    single query costs one ctypes call with one pointer (a few microseconds, not dozens)."""

    SINGLE_CAP = 1024  # hits a single query's reused buffers hold before the batch path takes over

    def __init__(self, codes: np.ndarray, edges: list[tuple[int, int]], base: np.ndarray,
                 rows: np.ndarray, starts: np.ndarray) -> None:
        self.keep = [codes, rows, starts,  # referenced by pointer: kept alive here
                     np.array([a for a, _ in edges], np.int32), np.array([b - a for a, b in edges], np.int32),
                     np.ascontiguousarray(base, np.int64)]
        self.template = np.zeros(len(_MIH_SLOTS), np.int64)
        t = self.template
        t[S["codes"]], t[S["w"]], t[S["parts"]] = _ptr(codes), codes.shape[1], len(edges)
        t[S["rows"]], t[S["starts"]] = _ptr(rows), _ptr(starts)
        t[S["off"]], t[S["width"]], t[S["base"]] = (_ptr(x) for x in self.keep[3:])
        self.words = codes.shape[1]
        self._local = threading.local()

    def _plan_args(self, plan: tuple[np.ndarray, np.ndarray, np.ndarray], r: int) -> np.ndarray:
        level, ptab, pmask = plan
        args = self.template.copy()
        args[S["level"]], args[S["nprobe"]] = _ptr(level), len(ptab)
        args[S["ptab"]], args[S["pmask"]], args[S["r"]] = _ptr(ptab), _ptr(pmask), r
        return args

    def radius_one(self, q: np.ndarray, plan: tuple[np.ndarray, np.ndarray, np.ndarray],
                   r: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows within r of one query and their distances, ordered by (distance, row)."""
        scratch = self._scratch(plan, r)
        args, qbuf, out_row, out_dist = scratch
        qbuf[:] = q
        lib = _library()
        assert lib is not None
        m = lib.hl_mih_radius(args.ctypes.data)
        if args[S["done"]] == 0:  # more hits than the reused buffers hold
            _, rows, dist = self.radius(q[None, :], plan, r)
            order = np.lexsort((rows, dist))
            return rows[order], dist[order]
        rows, dist = out_row[:m].copy(), out_dist[:m].copy()
        if not args[S["sorted"]]:
            order = np.lexsort((rows, dist))
            rows, dist = rows[order], dist[order]
        return rows, dist

    def _scratch(self, plan: tuple[np.ndarray, ...], r: int) -> tuple[np.ndarray, ...]:
        """This thread's argument array and buffers for radius r (made once, then reused)."""
        per_r = getattr(self._local, "per_r", None)
        if per_r is None:
            per_r = self._local.per_r = {}
        found = per_r.get(r)
        if found is None or found[0] is not plan:
            qbuf = np.zeros(self.words, np.uint64)
            out_q, out_row = np.empty(self.SINGLE_CAP, np.int64), np.empty(self.SINGLE_CAP, np.int64)
            out_dist = np.empty(self.SINGLE_CAP, np.int32)
            args = self._plan_args(plan, r)  # type: ignore[arg-type]
            args[S["queries"]], args[S["nq"]], args[S["cap"]] = _ptr(qbuf), 1, self.SINGLE_CAP
            args[S["out_q"]], args[S["out_row"]], args[S["out_dist"]] = _ptr(out_q), _ptr(out_row), _ptr(out_dist)
            found = per_r[r] = (plan, (args, qbuf, out_row, out_dist), out_q)
        return found[1]

    def radius(self, queries: np.ndarray, plan: tuple[np.ndarray, np.ndarray, np.ndarray], r: int,
               self_join: bool = False, q0: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query number + q0, row, distance) of every hit within r, in the order found."""
        lib = _library()
        assert lib is not None
        queries = np.ascontiguousarray(queries, np.uint64)
        args = self._plan_args(plan, r)
        args[S["self_join"]] = int(self_join)
        cap = max(1024, 64 * len(queries))
        outs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        start = 0
        while start < len(queries):
            oq, orow, od = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int32)
            args[S["queries"]], args[S["nq"]] = _ptr(queries[start:]), len(queries) - start
            args[S["q0"]], args[S["cap"]] = q0 + start, cap
            args[S["out_q"]], args[S["out_row"]], args[S["out_dist"]] = _ptr(oq), _ptr(orow), _ptr(od)
            m = lib.hl_mih_radius(args.ctypes.data)
            if m < 0:
                raise ValueError("more than 64 substring tables")
            outs.append((oq[:m] + start + q0, orow[:m], od[:m]))
            done = int(args[S["done"]])
            if done == 0:
                cap *= 4  # one query has more hits than the buffer: grow it
            start += done
        if len(outs) == 1:
            return outs[0]
        return tuple(np.concatenate([o[x] for o in outs]) for x in range(3))  # type: ignore[return-value]
