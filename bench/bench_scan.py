"""Target 1: the ranking scan (top-100, one query) against faiss IndexBinaryFlat, same threads."""

from __future__ import annotations

import numpy as np

from bench.common import THREADS, faiss_at, faiss_threads, parser, peer_best, per_query, record
from bench.synth import library_codes, queries
from hashcore.search import kernels
from hashcore.search.scan import NumpyScan, best_scan


def run(args, n: int, bits: int, nq: int = 30) -> None:
    faiss = faiss_threads()
    codes = library_codes(n, bits, seed=bits)
    qs = queries(codes, nq, bits)
    ours = best_scan(codes, threads=THREADS)
    numpy_only = NumpyScan(codes, threads=THREADS)
    flat = faiss.IndexBinaryFlat(bits)
    flat.add(codes.view(np.uint8))
    for q in qs[:5]:  # same answer (distances; ties may pick different rows)
        d_faiss = flat.search(q.view(np.uint8)[None], 100)[0][0]
        assert np.array_equal(np.sort(d_faiss), ours.topk(q, 100)[1]), "scan disagrees with faiss"
    search = lambda q: flat.search(q.view(np.uint8)[None], 100)  # noqa: E731
    t = per_query({"ours": lambda q: ours.topk(q, 100),
                   f"faiss-{THREADS}t": faiss_at(faiss, THREADS, search),
                   "numpy": lambda q: numpy_only.topk(q, 100),
                   "faiss-1t": faiss_at(faiss, 1, search)}, qs, args.repeats)
    peer, which = peer_best({k: v for k, v in t.items() if k != "numpy"})
    kind = "compiled C loop" if kernels.available() else "NumPy (no compiled kernels)"
    record(args, f"1 scan top-100, {n / 1e6:g}M x {bits}-bit", t["ours"] * 1e3, peer * 1e3, "ms/query",
           "<= 1.5 vs IndexBinaryFlat", t["ours"] / peer <= 1.5,
           f"ours: {kind}, {THREADS} threads; peer = faster of faiss 1/{THREADS} threads ({which}); "
           f"median of {nq} queries")
    record(args, f"1 scan top-100, NumPy fallback, {n / 1e6:g}M x {bits}-bit", t["numpy"] * 1e3, peer * 1e3,
           "ms/query", "- (installs without a C compiler)", None,
           f"the pure-NumPy scan, {THREADS} threads, same queries and peer")


def main() -> None:
    args = parser(__doc__).parse_args()
    sizes = [1_000_000] + ([10_000_000] if args.full else [])
    for n in sizes:
        for bits in (64, 128):
            run(args, n, bits)


if __name__ == "__main__":
    main()
