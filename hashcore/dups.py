"""Near-duplicate and exact-duplicate groups.

Candidate pairs come from the codes (every pair within Hamming radius r, found exactly with the
pigeonhole principle: split the code into r+1 substrings, two codes within r agree on at least
one of them). Float features then re-check each candidate pair, which removes the false pairs a
short code lets through. Groups are the connected components, ordered deterministically.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from hashcore import bits as bitops


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


def substrings(codes: np.ndarray, bits: int, parts: int) -> list[np.ndarray]:
    """Cut each code into `parts` nearly equal bit ranges, each returned as one uint64 per row."""
    unpacked = bitops.unpack(codes, bits)
    edges = np.linspace(0, bits, parts + 1).astype(int)
    weights = [1 << np.arange(b - a, dtype=np.uint64) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return [(unpacked[:, a:b].astype(np.uint64) * w).sum(axis=1, dtype=np.uint64)
            for (a, b), w in zip(zip(edges[:-1], edges[1:], strict=True), weights, strict=True)]


def pairs_within(codes: np.ndarray, bits: int, r: int) -> np.ndarray:
    """All pairs (i, j), i < j, with Hamming distance <= r, as an (M, 2) int64 array, sorted."""
    n = len(codes)
    if n < 2:
        return np.zeros((0, 2), np.int64)
    found: set[tuple[int, int]] = set()
    for sub in substrings(codes, bits, min(r + 1, bits)):
        order = np.argsort(sub, kind="stable")
        s = sub[order]
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        ends = np.r_[starts[1:], n]
        for a, b in zip(starts, ends, strict=True):
            if b - a < 2:
                continue
            members = np.sort(order[a:b])
            d = _block_distances(codes[members])
            ii, jj = np.nonzero(np.triu(d <= r, k=1))
            found.update(zip(members[ii].tolist(), members[jj].tolist(), strict=True))
    if not found:
        return np.zeros((0, 2), np.int64)
    return np.array(sorted(found), np.int64)


def _block_distances(c: np.ndarray) -> np.ndarray:
    x = np.bitwise_xor(c[:, None, :], c[None, :, :])
    return np.bitwise_count(x).sum(axis=2)


def cosine_pairs(features: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    f = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    return np.einsum("ij,ij->i", f[pairs[:, 0]], f[pairs[:, 1]])


def components(n: int, pairs: np.ndarray) -> list[list[int]]:
    """Connected components (each sorted) of the graph on n nodes; singletons dropped."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs.tolist():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        groups[find(i)].append(i)
    return [g for g in groups.values() if len(g) > 1]


def near_groups(ids: np.ndarray, codes: np.ndarray, features: np.ndarray | None, bits: int,
                radius: int, min_cosine: float) -> list[Group]:
    """Groups of photos whose codes are within `radius` and whose features agree."""
    pairs = pairs_within(codes, bits, radius)
    if features is not None and len(pairs):
        sims = cosine_pairs(features, pairs)
        keep = sims >= min_cosine
        pairs, sims = pairs[keep], sims[keep]
    else:
        sims = np.ones(len(pairs))
    pair_sim = {(int(a), int(b)): float(s) for (a, b), s in zip(pairs, sims, strict=True)}
    groups = []
    for members in components(len(ids), pairs):
        member_set = set(members)
        scores = [s for (a, b), s in pair_sim.items() if a in member_set]
        groups.append(Group("near", float(np.mean(scores)), [int(ids[m]) for m in members]))
    return groups


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
