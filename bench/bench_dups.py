"""Target 4: near-duplicate all-pairs join within r on 64-bit codes, against faiss range_search
on IndexBinaryFlat (brute force) and on IndexBinaryMultiHash (every exact setting; the fastest is
the peer). Our pairs must equal the brute-force pairs exactly.

Also the grouping step on its worst case: one long chain of near-copies (a time-lapse, a burst
series) whose ids come in random order. Ours is `dups.components` (scipy's csgraph); the peer is
the vectorised label propagation it replaced, kept here only as that reference, timed at 100k.
Both must give the same groups."""

from __future__ import annotations

import time

import numpy as np

from bench.common import THREADS, faiss_threads, parser, record
from bench.synth import library_codes
from hashcore.search.dups import components, pairs_within

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


def old_labels(n: int, pairs: np.ndarray) -> np.ndarray:
    """The label propagation dups.py used before scipy: each round moves a label one hop along
    the edges, then pointer-jumps; on a shuffled chain that takes many rounds."""
    labels = np.arange(n)
    if len(pairs) == 0:
        return labels
    a, b = np.asarray(pairs[:, 0], np.intp), np.asarray(pairs[:, 1], np.intp)
    while True:
        low = np.minimum(labels[a], labels[b])
        if np.array_equal(labels[a], low) and np.array_equal(labels[b], low):
            return labels
        np.minimum.at(labels, a, low)
        np.minimum.at(labels, b, low)
        while True:
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped


def old_components(n: int, pairs: np.ndarray) -> list[list[int]]:
    labels = old_labels(n, pairs)
    order = np.argsort(labels, kind="stable")
    cuts = np.flatnonzero(np.diff(labels[order])) + 1
    return [g.tolist() for g in np.split(order, cuts) if len(g) > 1]


def chain_pairs(n: int, seed: int = 5) -> np.ndarray:
    """One chain through all n photos in random id order, as pairs_within returns pairs."""
    walk = np.random.default_rng(seed).permutation(n)
    pairs = np.sort(np.stack([walk[:-1], walk[1:]], axis=1), axis=1)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


def run_chain(args, n: int, peer_repeats: int) -> None:
    pairs = chain_pairs(n)
    components(n, pairs)  # warm-up: imports scipy
    t_ours, groups = timed(lambda: components(n, pairs), args.repeats)
    cpu = time.process_time()
    components(n, pairs)
    cpu = time.process_time() - cpu  # CPU seconds of one run: what load from others does not change
    assert len(groups) == 1 and groups[0] == list(range(n)), "the chain must be one group"
    t_peer, same, note = None, True, "no peer at this size (the label propagation takes minutes)"
    if peer_repeats:
        t_peer, old = timed(lambda: old_components(n, pairs), peer_repeats)
        same = old == groups
        note = f"{'same' if same else 'DIFFERENT'} groups as the label propagation " \
               f"(the code before scipy), peer median of {peer_repeats}"
    record(args, f"4 dup components, one shuffled chain of {n / 1e6:g}M", t_ours, t_peer, "s",
           "one group, < 1 s, same groups", same and t_ours < 1.0,
           f"scipy csgraph, median of {args.repeats}, {cpu:.3f} s CPU; {note}")


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--part", choices=["join", "chain", "all"], default="all")
    args = p.parse_args()
    if args.part in ("join", "all"):
        ranked = run(args, 100_000, True, MH_SETTINGS, min(args.repeats, 3))
        run(args, 1_000_000, args.full, ranked[:1], 1)  # the best MultiHash setting at 100k
    if args.part in ("chain", "all"):
        run_chain(args, 100_000, min(args.repeats, 3))
        run_chain(args, 1_000_000, 0)


if __name__ == "__main__":
    main()
