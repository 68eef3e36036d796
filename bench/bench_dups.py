"""Target 4: near-duplicate all-pairs join within r on 64-bit codes, against faiss range_search
on IndexBinaryFlat (brute force) and on IndexBinaryMultiHash (every exact setting; the fastest is
the peer). Our pairs must equal the brute-force pairs exactly."""

from __future__ import annotations

import time

import numpy as np

from bench.common import THREADS, faiss_threads, parser, record
from bench.synth import library_codes
from hashcore.search.dups import pairs_within

R = 4
MH_SETTINGS = [(5, 12, 0), (4, 16, 1), (3, 21, 1), (2, 32, 2)]  # pigeonhole-exact for r = 4


def faiss_pairs(index, codes: np.ndarray) -> np.ndarray:
    lims, _, ids = index.range_search(codes.view(np.uint8), R + 1)  # faiss keeps d < radius
    i = np.repeat(np.arange(len(codes)), np.diff(lims.astype(np.int64)))
    keep = ids > i
    return np.unique(i[keep] * len(codes) + ids[keep])


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def run(args, n: int, with_flat: bool, settings: list, repeats: int) -> list:
    faiss = faiss_threads()
    faiss.omp_set_num_threads(THREADS)
    codes = library_codes(n, 64, seed=11)
    t_ours, pairs = timed(lambda: pairs_within(codes, 64, R), repeats)
    ours_keys = pairs[:, 0] * n + pairs[:, 1]
    peers, answers = {}, {}
    if with_flat:
        flat = faiss.IndexBinaryFlat(64)
        flat.add(codes.view(np.uint8))
        peers["faiss-flat"], answers["faiss-flat"] = timed(lambda: faiss_pairs(flat, codes), repeats)
    for nhash, b, nflip in settings:
        mh = faiss.IndexBinaryMultiHash(64, nhash, b)
        mh.nflip = nflip
        mh.add(codes.view(np.uint8))
        name = f"faiss-mh{nhash}x{b}f{nflip}"
        peers[name], answers[name] = timed(lambda mh=mh: faiss_pairs(mh, codes), repeats)
    truth = answers.get("faiss-flat", next(iter(answers.values())))
    exact = np.array_equal(ours_keys, truth)
    which = min(peers, key=peers.get)
    record(args, f"4 dup join r<={R}, {n / 1e6:g}M x 64-bit", t_ours, peers[which], "s",
           "<= 1.0 vs faster faiss, same pairs", exact and t_ours / peers[which] <= 1.0,
           f"{len(pairs)} pairs, {'identical to' if exact else 'DIFFERENT from'} "
           f"{'brute force' if with_flat else 'exact faiss MultiHash'}; peer {which}; "
           + ", ".join(f"{k} {v:.2f} s" for k, v in peers.items()) + f"; median of {repeats}")
    return sorted(settings, key=lambda s: peers[f"faiss-mh{s[0]}x{s[1]}f{s[2]}"])


def main() -> None:
    args = parser(__doc__).parse_args()
    ranked = run(args, 100_000, True, MH_SETTINGS, min(args.repeats, 3))
    run(args, 1_000_000, args.full, ranked[:1], 1)  # the best MultiHash setting at 100k


if __name__ == "__main__":
    main()
