"""ctypes bindings to the optional compiled search loops (hashcore/_kernels.c).

The C file is built by `pip install` where a compiler exists (setup.py marks it optional). When it
is missing, or HASHLENS_NO_KERNELS is set, `available()` is False and every caller uses its NumPy
code, which gives the same answers. ctypes releases the GIL during each call, so the search
back-ends split a scan into row ranges and run them on several cores.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
from functools import lru_cache

import numpy as np

_P = ctypes.c_void_p
_I64 = ctypes.c_int64
_I32 = ctypes.c_int32
_INT = ctypes.c_int

_SIGNATURES = {
    "hl_scan_topk": (_I64, [_P, _I64, _INT, _P, _I64, _I64, _I64, _P, _P]),
    "hl_scan_radius": (_I64, [_P, _I64, _INT, _P, _I32, _I64, _P, _P]),
    "hl_scan_distances": (None, [_P, _I64, _INT, _P, _P]),
    "hl_mih_radius": (_I64, [_P, _INT, _P, _I64, _INT, _P, _P, _P, _P, _P, _P, _I64, _P, _P,
                             _I32, _INT, _I64, _P, _P, _P, _I64, _P]),
}


@lru_cache(maxsize=1)
def _library() -> ctypes.CDLL | None:
    if os.environ.get("HASHLENS_NO_KERNELS"):
        return None
    try:
        spec = importlib.util.find_spec("hashcore._kernels")
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
    rows, dist = np.empty(len(codes), np.int64), np.empty(len(codes), np.int32)
    lib = _library()
    assert lib is not None
    m = lib.hl_scan_radius(_ptr(codes), len(codes), codes.shape[1], _ptr(q), int(r), row0,
                           _ptr(rows), _ptr(dist))
    return rows[:m].copy(), dist[:m].copy()


def scan_distances(codes: np.ndarray, q: np.ndarray) -> np.ndarray:
    _check(codes, q)
    out = np.empty(len(codes), np.int32)
    lib = _library()
    assert lib is not None
    lib.hl_scan_distances(_ptr(codes), len(codes), codes.shape[1], _ptr(q), _ptr(out))
    return out


class MihTables:
    """The multi-index tables and a probe plan, as the C loop reads them (pointers made once)."""

    def __init__(self, codes: np.ndarray, edges: list[tuple[int, int]], base: np.ndarray,
                 rows: np.ndarray, starts: np.ndarray) -> None:
        self.codes = codes
        self.off = np.array([a for a, _ in edges], np.int32)
        self.width = np.array([b - a for a, b in edges], np.int32)
        self.base = np.ascontiguousarray(base, np.int64)
        self.rows, self.starts = rows, starts
        self._fixed = (_ptr(codes), codes.shape[1])
        self._tables = (len(edges), _ptr(self.off), _ptr(self.width), _ptr(self.base))

    def radius(self, queries: np.ndarray, plan: tuple[np.ndarray, np.ndarray, np.ndarray], r: int,
               self_join: bool = False, q0: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query number + q0, row, distance) of every hit within r, in the order found."""
        level, ptab, pmask = plan
        lib = _library()
        assert lib is not None
        queries = np.ascontiguousarray(queries, np.uint64)
        cap = max(1024, 64 * len(queries))
        outs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        start = 0
        done = np.zeros(1, np.int64)
        while start < len(queries):
            oq, orow, od = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int32)
            m = lib.hl_mih_radius(
                *self._fixed, _ptr(queries[start:]), len(queries) - start, *self._tables,
                _ptr(level), _ptr(self.rows), _ptr(self.starts), len(ptab), _ptr(ptab), _ptr(pmask),
                int(r), int(self_join), q0 + start, _ptr(oq), _ptr(orow), _ptr(od), cap, _ptr(done))
            if m < 0:
                raise ValueError("more than 64 substring tables")
            outs.append((oq[:m] + start + q0, orow[:m], od[:m]))
            if int(done[0]) == 0:
                cap *= 4  # one query has more hits than the buffer: grow it
            start += int(done[0])
        if len(outs) == 1:
            return outs[0]
        return tuple(np.concatenate([o[x] for o in outs]) for x in range(3))  # type: ignore[return-value]
