"""Near-duplicate and exact-duplicate groups.

Candidate pairs come from the codes (every pair within Hamming radius r, found exactly with the
pigeonhole principle: split the code into r+1 substrings, two codes within r agree on at least
one of them). Float features then re-check each candidate pair, which removes the false pairs a
short code lets through. Groups are the connected components, ordered deterministically.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hashcore.search.mih import MultiIndexHash


@dataclass
class Group:
    kind: str  # "exact" (byte-identical) or "near"
    score: float  # 1.0 for exact; mean feature cosine of the verified pairs for near
    image_ids: list[int]
    paths: list[str] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)

    @property
    def reclaimable(self) -> int:
        """Bytes freed by keeping only the largest file (a first estimate before keep rules)."""
        return sum(self.sizes) - max(self.sizes, default=0)

    def as_json(self) -> dict:
        return {"kind": self.kind, "score": round(self.score, 4), "ids": self.image_ids,
                "paths": self.paths, "reclaimable": self.reclaimable}


def pairs_within(codes: np.ndarray, bits: int, r: int) -> np.ndarray:
    """All pairs (i, j), i < j, with Hamming distance <= r, as an (M, 2) int64 array, sorted.

    An exact multi-index self-join (hashcore.search.mih): every code probes the substring tables for
    the keys that pigeonhole allows, and each candidate pair is verified with its full distance.
    """
    codes = np.ascontiguousarray(codes, np.uint64)
    if len(codes) < 2:
        return np.zeros((0, 2), np.int64)
    i, j = MultiIndexHash(codes, bits=bits).self_join(r)
    return np.stack([i, j], axis=1).astype(np.int64)


def cosine_pairs(features: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    f = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    return np.einsum("ij,ij->i", f[pairs[:, 0]], f[pairs[:, 1]])


def components(n: int, pairs: np.ndarray) -> list[list[int]]:
    """Connected components (each sorted) of the graph on n nodes; singletons dropped.

    Ordered by smallest member, so the grouping does not depend on the order pairs arrive in.
    """
    labels = component_labels(n, pairs)
    order = np.argsort(labels, kind="stable")
    cuts = np.flatnonzero(np.diff(labels[order])) + 1
    return [g.tolist() for g in np.split(order, cuts) if len(g) > 1]


def component_labels(n: int, pairs: np.ndarray) -> np.ndarray:
    """For each node, the smallest node of its connected component.

    scipy's csgraph does the search in linear time; a hand-written label propagation took
    one round per hop, so a long chain of near-copies in shuffled id order (a time-lapse, a
    burst) took 41 s at 100,000 photos on an idle 2-core machine (bench/bench_dups.py). scipy numbers components in
    its own order; relabelling each by its smallest member keeps the result deterministic.
    scipy is imported here, not at module level, to keep it off the start-up path.
    """
    if len(pairs) == 0:
        return np.arange(n)
    from scipy.sparse import coo_array
    from scipy.sparse.csgraph import connected_components

    a, b = np.asarray(pairs[:, 0], np.intp), np.asarray(pairs[:, 1], np.intp)
    graph = coo_array((np.ones(len(a)), (a, b)), shape=(n, n)).tocsr()  # float64: csgraph's own dtype
    _, comp = connected_components(graph, directed=False)
    # nodes scanned in order 0..n-1: each component's first occurrence is its smallest member
    _, first = np.unique(comp, return_index=True)
    return first[comp]


def near_groups(ids: np.ndarray, codes: np.ndarray, features: np.ndarray | Callable[[np.ndarray], np.ndarray] | None,
                bits: int, radius: int, min_cosine: float) -> list[Group]:
    """Groups of photos whose codes are within `radius` and whose features agree.

    `features` is an (N, D) array aligned with `ids`, or a function from sorted row numbers to
    their features (NaN rows for photos without any), so a caller can load features for the
    photos in candidate pairs only; None trusts the codes alone. A pair with a missing feature
    is kept on its code distance, scored 1 - d / bits.
    """
    pairs = pairs_within(codes, bits, radius)
    if len(pairs):
        dist = np.bitwise_count(np.bitwise_xor(codes[pairs[:, 0]], codes[pairs[:, 1]])).sum(axis=1)
        sims = 1.0 - dist / bits
    else:
        sims = np.zeros(0)
    if features is not None and len(pairs):
        rows = np.unique(pairs)
        f = features[rows] if isinstance(features, np.ndarray) else features(rows)
        at = np.searchsorted(rows, pairs)
        cos = cosine_pairs(f, at)
        known = ~np.isnan(cos)
        keep = ~known | (np.where(known, cos, 0.0) >= min_cosine)
        sims = np.where(known, cos, sims)
        pairs, sims = pairs[keep], sims[keep]
    labels = component_labels(len(ids), pairs)
    # a group's score: the mean similarity of its verified pairs (both ends share a label)
    pair_label = labels[pairs[:, 0]] if len(pairs) else np.zeros(0, np.intp)
    total = np.bincount(pair_label, weights=sims, minlength=len(ids))
    count = np.bincount(pair_label, minlength=len(ids))
    return [Group("near", float(total[m[0]] / count[m[0]]), [int(ids[x]) for x in m])
            for m in components(len(ids), pairs)]


def exact_groups(rows: list[dict]) -> list[Group]:
    """Byte-identical files (same content hash)."""
    by_hash: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_hash[r["content_hash"]].append(r)
    return [Group("exact", 1.0, [r["id"] for r in g]) for g in by_hash.values() if len(g) > 1]


def order_groups(groups: list[Group]) -> list[Group]:
    """Exact groups first, then near ones by score; ties broken by their first path."""
    for g in groups:
        order = sorted(range(len(g.paths)), key=lambda i: g.paths[i])
        g.image_ids = [g.image_ids[i] for i in order]
        g.paths = [g.paths[i] for i in order]
        g.sizes = [g.sizes[i] for i in order]
    return sorted(groups, key=lambda g: (g.kind != "exact", -round(g.score, 6), g.paths[0]))
