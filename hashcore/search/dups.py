"""Near-duplicate and exact-duplicate groups, at two levels: copies and similar shots.

Candidate pairs come from the codes (every pair within Hamming radius r, found exactly with the
pigeonhole principle: split the code into r+1 substrings, two codes within r agree on at least
one of them). Float features then re-check each candidate pair, which removes the false pairs a
short code lets through.

Groups do not chain. Connected components of the verified pairs would put A and C together when
A~B and B~C, even where A and C are different photos (a burst, a photo and its crop, two photos
sharing a letterbox edit). So inside each component a group grows from a seed (the photo with the
most verified pairs, then the highest total similarity, then the smallest id), taking the
closest neighbour of any member first, and admits a photo only if it passes the level's check
against *every* member: the float-feature cosine, or the code distance where a feature is
missing. Any two photos of a group are then copies of each other by the same test that verifies a
pair; a photo that fits no group with its partners is left out (it comes back as a similar shot).

The second level, similar shots (bursts, one scene shot twice), uses a looser check (a larger
radius, a lower cosine) on the pairs that are not already inside one copy group, grouped by the
same rule. Such groups are offered apart and never marked for removal (hashcore/cleanup).
Where copies come from a copy-detection head's own code and embedding (a second code per photo),
`similar_groups` finds the similar shots over the semantic code and backbone features instead,
leaving out pairs already inside one copy group the same way.

Work bound: a component whose verified pairs already join every two members (the common case)
is a group at once. Elsewhere each admission test costs one dot product per member, a group stops
at MAX_GROUP members (a larger set of mutual copies comes as several groups), and a photo is
tested at most once per group it neighbours, so the tests cost at most 4 * pairs * MAX_GROUP dot
products whatever the shape of the component.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from hashcore.search.mih import MultiIndexHash

MAX_GROUP = 256
# A copy head's zone of doubt: candidate pairs its own test refuses but that may still be copies
# (a crop to half, a screenshot, a letterbox): copy codes within DOUBT_RADIUS_64 bits (scaled by
# code length) and copy-embedding cosine >= DOUBT_MIN_COSINE. Duplicates send them to the
# geometric check (hashcore/search/geometry.py); search lists them after the verified copies.
# Chosen on the TRAINING pool of bench/eval_dups.py: 99.1% of its photo-copy pairs fall within
# radius 16 and above cosine 0.3, with 0.4 other pairs per photo (docs/results_dups.md).
DOUBT_RADIUS_64 = 16
DOUBT_MIN_COSINE = 0.3
# Two members of one copy group need not be copies of each other (two crops of one photo, a blurred
# copy and a screenshot of it): they must share content by the geometric check, or, where it has
# too few local features to tell, have a copy cosine >= KIN_MIN_COSINE (95.6% of the training
# pool's pairs of one photo's files; 48 of its 387,000 pairs of different photos).
KIN_MIN_COSINE = 0.6
# ... or, where the check cannot tell for some members and the cosine is lower, the photo is a copy
# (by the copy check, the geometric check or the shared-content test) of at least this share of the
# group, and of two members at least. Two different photos never share content with most of a group;
# two pieces of a collage each lie inside it but share nothing with each other, so they are never
# more than half of a group's copies of each other.
KIN_QUORUM = 0.75
# At most this many doubtful pairs per photo go to the judge, its most similar first (a photo's
# copies in the benchmark number 10; a photo of a burst of 50 needs no 49 geometric checks).
MAX_DOUBT_PER_PHOTO = 12
# The pairs the copy check accepts go to the judge too, for its verdict "two shots of one scene"
# (a burst or a stereo pair looks like a re-encoded copy to a global descriptor): at most this
# many per photo, its most similar first (a photo's pairs in a group of up to 25 mutual copies).
MAX_CONFIRM_PER_PHOTO = 24
KIND_ORDER = {"exact": 0, "near": 1, "similar": 2}


@dataclass(frozen=True)
class Check:
    """One level's test of a pair: codes within `radius` bits, then feature cosine >= min_cosine
    (where both photos have features; otherwise the code distance alone decides)."""

    radius: int
    min_cosine: float


@dataclass(frozen=True)
class SecondCode:
    """A second signal for the copy level (the DCT hash beside a copy head's code): `codes` (N,
    words) aligned with the photos, `known` (N,) which photos have one. A pair whose second codes
    are within `check.radius` is also a copy when its feature cosine reaches `check.min_cosine`."""

    codes: np.ndarray
    known: np.ndarray
    bits: int
    check: Check


@dataclass(frozen=True)
class BoxPairs:
    """Candidate copy pairs from the photo inside a framed file (hashcore/ingest/frame.py): `pairs`
    (M, 2) rows of the photos, the first of each pair the framed file, whose box's copy code lies
    within the zone of doubt of the other's copy code; `sims` (M,) the cosine of the box's copy
    embedding with the other photo's. The copy head compared the whole files and saw mostly the
    app around the photo, so these pairs go to the geometric judge whatever its own test says."""

    pairs: np.ndarray
    sims: np.ndarray


@dataclass
class Group:
    kind: str  # "exact" (byte-identical), "near" (copies) or "similar" (similar shots, not copies)
    score: float  # 1.0 for exact; mean feature cosine of the verified pairs otherwise
    image_ids: list[int]
    paths: list[str] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)

    @property
    def reclaimable(self) -> int:
        """Bytes freed by keeping only the largest file (a first estimate before keep rules);
        0 for similar shots, which are not copies."""
        if self.kind == "similar":
            return 0
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


class _Candidates:
    """The photos in candidate pairs (numbered 0..n-1 here), with what both levels need: their
    codes, unit-length features (zero rows where missing) and ids for ties."""

    CHUNK = 8192  # pairs per cosine batch: two (CHUNK, D) gathers at a time, not (pairs, D)

    def __init__(self, ids: np.ndarray, codes: np.ndarray,
                 features: np.ndarray | Callable[[np.ndarray], np.ndarray] | None, pairs: np.ndarray,
                 second: SecondCode | None = None) -> None:
        self.rows = np.unique(pairs)
        self.ids = np.asarray(ids)[self.rows]
        self.codes = codes[self.rows]
        self.pairs = np.searchsorted(self.rows, pairs)
        a, b = self.pairs[:, 0], self.pairs[:, 1]
        self.dist = np.bitwise_count(np.bitwise_xor(self.codes[a], self.codes[b])).sum(axis=1)
        self.known = np.zeros(len(self.rows), bool)
        self.unit = np.zeros((len(self.rows), 1), np.float32)
        if features is not None and len(self.rows):
            f = np.array(features[self.rows] if isinstance(features, np.ndarray) else features(self.rows),
                         np.float32)
            self.known = np.asarray(~np.isnan(f).any(axis=1))
            f[~self.known] = 0.0
            f /= np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
            self.unit = f
        self.cos = np.full(len(a), np.nan)
        both = np.flatnonzero(self.known[a] & self.known[b])
        for k in range(0, len(both), self.CHUNK):
            at = both[k:k + self.CHUNK]
            self.cos[at] = np.einsum("ij,ij->i", self.unit[a[at]], self.unit[b[at]])
        self.all_known = bool(self.known.all())
        self.second = second
        if second is not None:
            self.codes2 = np.asarray(second.codes)[self.rows]
            self.known2 = np.asarray(second.known, bool)[self.rows]
            both2 = self.known2[a] & self.known2[b]
            d2 = np.bitwise_count(np.bitwise_xor(self.codes2[a], self.codes2[b])).sum(axis=1)
            self.dist2 = np.where(both2, d2, second.bits + 1)

    def positions(self, pairs: np.ndarray) -> np.ndarray:
        """Where these pairs of candidate rows ((M, 2), each pair's smaller row first) are in
        self.pairs; -1 for a pair that is not a candidate."""
        n = len(self.rows)
        key = self.pairs[:, 0] * n + self.pairs[:, 1]  # sorted: the candidate pairs come sorted and unique
        want = pairs[:, 0] * n + pairs[:, 1]
        if not len(key):
            return np.full(len(want), -1, np.int64)
        at = np.minimum(np.searchsorted(key, want), len(key) - 1)
        return np.where(key[at] == want, at, -1)

    def passing(self, check: Check, bits: int, second: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(mask of the pairs that pass `check`, or with `second` the second code's test too; their
        similarity: cosine, or 1 - d / bits where a feature is missing)."""
        known = ~np.isnan(self.cos)
        cos = np.where(known, self.cos, 0.0)
        ok = (self.dist <= check.radius) & (~known | (cos >= check.min_cosine))
        if second and self.second is not None:
            ok |= known & (self.dist2 <= self.second.check.radius) & (cos >= self.second.check.min_cosine)
        return ok, np.where(known, self.cos, 1.0 - self.dist / bits)

    def fits(self, c: int, members: np.ndarray, check: Check, second: bool = False) -> bool:
        """Does photo c pass `check` (or with `second`, the second code's test) against every
        member? (Called once per candidate member of a group: kept to a few NumPy calls.)"""
        with_second = second and self.second is not None
        if self.all_known and not with_second:
            return float((self.unit[members] @ self.unit[c]).min()) >= check.min_cosine
        return bool(self.fits_each(c, members, check, second).all())

    def fits_each(self, c: int, members: np.ndarray, check: Check, second: bool = False) -> np.ndarray:
        """For each member, whether photo c passes `check` (with `second`, or the second code's
        test) against it."""
        with_second = second and self.second is not None
        x = np.bitwise_count(np.bitwise_xor(self.codes[members], self.codes[c]))
        dist = x[:, 0] if x.shape[1] == 1 else x.sum(axis=1)
        if not self.known[c] and not with_second:
            return dist <= check.radius
        cos = self.unit[members] @ self.unit[c]
        known = self.known[members] & self.known[c]
        ok = np.where(known, cos >= check.min_cosine, dist <= check.radius)
        if with_second and self.second is not None:
            d2 = np.bitwise_count(np.bitwise_xor(self.codes2[members], self.codes2[c])).sum(axis=1)
            close = self.known2[members] & self.known2[c] & (d2 <= self.second.check.radius)
            ok |= known & close & (cos >= self.second.check.min_cosine)
        return ok


def cliques(n: int, pairs: np.ndarray, sims: np.ndarray, ties: np.ndarray,
            fits: Callable[[int, np.ndarray], bool]) -> list[list[int]]:
    """Groups (sorted node lists, two or more nodes) of the graph `pairs` on n nodes, each group
    one where `fits` admitted every member against all the members before it (see the module
    docstring). `ties` orders equal seeds and equal neighbours (the photo ids)."""
    if not len(pairs):
        return []
    labels = component_labels(n, pairs)
    size = np.bincount(labels, minlength=n)
    n_pairs = np.bincount(labels[pairs[:, 0]], minlength=n)
    whole = (n_pairs == size * (size - 1) // 2) & (size <= MAX_GROUP) & (size > 1)
    order = np.flatnonzero(whole[labels])
    order = order[np.argsort(labels[order], kind="stable")]  # stable: members stay sorted
    cuts = np.flatnonzero(np.diff(labels[order])) + 1
    out = [m.tolist() for m in np.split(order, cuts) if len(m)]
    rest = ~whole[labels[pairs[:, 0]]]
    if rest.any():
        out += _grow(n, pairs[rest], sims[rest], ties, fits)
    return out


def _grow(n: int, pairs: np.ndarray, sims: np.ndarray, ties: np.ndarray,
          fits: Callable[[int, np.ndarray], bool]) -> list[list[int]]:
    """Greedy groups: seeds by most pairs, then highest total similarity, then tie key; each group
    takes the most similar neighbour of any member that `fits` all members, up to MAX_GROUP."""
    a = np.concatenate([pairs[:, 0], pairs[:, 1]])
    b = np.concatenate([pairs[:, 1], pairs[:, 0]])
    w = np.concatenate([sims, sims])
    order = np.lexsort((b, a))
    a, nb, nw = a[order], b[order].tolist(), (-w[order]).tolist()
    start = np.searchsorted(a, np.arange(n + 1)).tolist()
    degree = np.bincount(a, minlength=n)
    strength = np.round(np.bincount(a, weights=w[order], minlength=n), 6)  # rounded: equal sums tie
    nodes = np.flatnonzero(degree)
    seeds = nodes[np.lexsort((ties[nodes], -strength[nodes], -degree[nodes]))].tolist()
    taken = [False] * n
    links = [0] * n  # members of the growing group that a node has a verified pair with
    tie = ties.tolist()
    members = np.empty(MAX_GROUP, np.intp)
    out = []
    heap: list[tuple[float, int, int]] = []
    for s in seeds:
        if taken[s]:
            continue
        members[0], size, tried, node, touched = s, 1, {s}, s, []
        heap.clear()
        taken[s] = True
        while node >= 0:
            lo, hi = start[node], start[node + 1]
            touched += nb[lo:hi]
            for c, neg_w in zip(nb[lo:hi], nw[lo:hi], strict=True):
                links[c] += 1
                if not taken[c] and c not in tried:
                    heapq.heappush(heap, (neg_w, tie[c], c))
            node = -1
            while heap and size < MAX_GROUP:
                c = heapq.heappop(heap)[2]
                if c not in tried:
                    tried.add(c)
                    # a verified pair with every member already passes; only the rest is tested
                    if not taken[c] and (links[c] == size or fits(c, members[:size])):
                        node, members[size] = c, c
                        size += 1
                        taken[c] = True
                        break
        for c in touched:
            links[c] = 0
        if size > 1:
            out.append(sorted(members[:size].tolist()))
        else:
            taken[s] = False
    return out


def _score(groups: list[list[int]], n: int, pairs: np.ndarray, sims: np.ndarray) -> list[float]:
    """Mean similarity of the verified pairs inside each group."""
    label = np.full(n, -1)
    for k, m in enumerate(groups):
        label[m] = k
    inside = (label[pairs[:, 0]] == label[pairs[:, 1]]) & (label[pairs[:, 0]] >= 0)
    at = label[pairs[inside, 0]]
    total = np.bincount(at, weights=sims[inside], minlength=len(groups))
    count = np.bincount(at, minlength=len(groups))
    return (total / np.maximum(count, 1)).tolist()


class PairJudge(Protocol):
    """A slower, surer test of the candidate pairs the codes and features leave in doubt (local
    features under one homography, hashcore/search/geometry.py): `reach` says which pairs it
    looks at (code distance <= reach.radius and feature cosine >= reach.min_cosine, beside the
    copy check's own pairs)."""

    reach: Check

    def copies(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """For pairs of photo ids, whether each is a copy (one photo's frame inside the other's)."""
        ...

    def same_content(self, a: int, b: int) -> bool | None:
        """Whether two photos show the same pixels in part (two crops of one photo): the test
        between two members of a group that are not copies of each other by `copies`; None
        where it cannot tell (too few local features: a flat or much blurred photo), and then
        a copy cosine >= KIN_MIN_COSINE decides."""
        ...

    def refuted(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """For pairs of photo ids the copy check accepted, whether they are two photos after all
        (two shots of one scene, two photos of one layout): those pairs are refused, in pairs and
        in groups."""
        ...

    def evidence(self, a: int, b: int) -> float:
        """How strongly two photos it judged match (more is stronger): where a photo is a copy
        of two photos that are two photos, it stays with the one it matches more strongly."""
        ...


def near_groups(ids: np.ndarray, codes: np.ndarray, features: np.ndarray | Callable[[np.ndarray], np.ndarray] | None,
                bits: int, radius: int, min_cosine: float, similar: Check | None = None,
                second: SecondCode | None = None, judge: PairJudge | None = None,
                boxes: BoxPairs | None = None) -> list[Group]:
    """Groups of photos whose codes are within `radius` and whose features agree, none chaining
    (every two members pass that check); with `similar`, also the similar shots: groups under that
    looser check of photos that are not in one copy group, as kind "similar".

    `second`: a second code for the copy level (see SecondCode): its pairs are candidates too,
    and a pair passes either test. `boxes`: the pairs a framed file's photo box brings (see
    BoxPairs), for the judge only (ignored without one). `features` is an (N, D) array aligned with `ids`, or a function from sorted row numbers to
    their features (NaN rows for photos without any), so a caller can load features for the
    photos in candidate pairs only (one call, for both levels); None trusts the codes alone. A
    pair with a missing feature is judged on its code distance, scored 1 - d / bits.
    """
    copy = Check(radius, min_cosine)
    reach = max(radius, similar.radius) if similar is not None else radius
    if judge is not None:
        reach = max(reach, judge.reach.radius)
    pairs = pairs_within(codes, bits, reach)
    if second is not None:  # and the pairs the second code brings
        rows2 = np.flatnonzero(second.known)
        more = rows2[pairs_within(np.asarray(second.codes)[rows2], second.bits, second.check.radius)]
        pairs = np.unique(np.vstack([pairs, more]), axis=0) if len(more) else pairs
    if judge is not None and boxes is not None and len(boxes.pairs):
        pairs = np.unique(np.vstack([pairs, np.sort(boxes.pairs, axis=1)]), axis=0)
    cand = _Candidates(ids, codes, features, pairs, second)
    n = len(cand.rows)
    ok, sims = cand.passing(copy, bits, second=True)
    fits: Callable[[int, np.ndarray], bool] = lambda c, m: cand.fits(c, m, copy, second=True)  # noqa: E731
    if judge is not None:
        ok, fits = _judged(cand, ok, copy, judge, _box_sims(cand, boxes))
    found = cliques(n, cand.pairs[ok], sims[ok], cand.ids, fits)
    out = _groups("near", found, _score(found, n, cand.pairs[ok], sims[ok]), cand.ids)
    if similar is None:
        return out
    group_of = np.full(n, -1)
    for k, m in enumerate(found):
        group_of[m] = k
    return out + _shots(cand, group_of, similar, bits)


def _box_sims(cand: _Candidates, boxes: BoxPairs | None) -> np.ndarray | None:
    """For each candidate pair, the box cosine of the BoxPairs pair it is (NaN where none)."""
    if boxes is None or not len(boxes.pairs):
        return None
    out = np.full(len(cand.pairs), np.nan)
    at = cand.positions(np.searchsorted(cand.rows, np.sort(boxes.pairs, axis=1)))  # all of them are candidates
    np.fmax.at(out, at, boxes.sims)  # a pair both ways (two framed files): the better box
    return out


def _judged(cand: _Candidates, ok: np.ndarray, copy: Check, judge: PairJudge,
            box_sims: np.ndarray | None = None) -> tuple[np.ndarray, Callable[[int, np.ndarray], bool]]:
    """The copy pairs with the judge's verdicts: the pairs the copy check accepted that the judge
    finds to be two photos are refused, and those in its reach the check refused are added where
    the judge finds a copy, as are the pairs a framed file's photo box brings (box_sims: their
    box cosine, NaN elsewhere). A refusal carries over to the copies the judge confirmed: a
    copy of B is no copy of A where B and A are two photos (`_carried`). Also the group-admission
    test that asks the judge where the check says no, and refuses a pair the judge refused."""
    a, b = cand.pairs[:, 0], cand.pairs[:, 1]
    known = ~np.isnan(cand.cos)
    doubt = ~ok & known & (cand.dist <= judge.reach.radius) & (np.nan_to_num(cand.cos) >= judge.reach.min_cosine)
    ok = ok.copy()
    sure = _most_alike(np.flatnonzero(ok), a, b, np.nan_to_num(cand.cos, nan=1.0), MAX_CONFIRM_PER_PHOTO)
    refused: set[tuple[int, int]] = set()
    confirmed = np.zeros(len(ok), bool)  # pairs the judge found to be copies
    if len(sure):
        no = judge.refuted(cand.ids[a[sure]], cand.ids[b[sure]])
        two = sure[no]
        ok[two] = False
        refused = {(int(x), int(y)) for x, y in cand.pairs[two]}
        if refused:  # matched already: the judge answers from its memo
            rest = sure[~no]
            confirmed[rest] = judge.copies(cand.ids[a[rest]], cand.ids[b[rest]])
    at = _most_alike(np.flatnonzero(doubt), a, b, cand.cos, MAX_DOUBT_PER_PHOTO)
    if len(at):
        ok[at] = confirmed[at] = judge.copies(cand.ids[a[at]], cand.ids[b[at]])
    if box_sims is not None:  # a framed file's box against the others, with a budget of its own
        boxed = ~np.isnan(box_sims) & ~ok
        boxed[at] = False
        at = _most_alike(np.flatnonzero(boxed), a, b, box_sims, MAX_DOUBT_PER_PHOTO)
        if len(at):
            ok[at] = confirmed[at] = judge.copies(cand.ids[a[at]], cand.ids[b[at]])
    if refused:
        carried = _carried(refused, cand.pairs[confirmed],
                           lambda x, y: judge.evidence(int(cand.ids[x]), int(cand.ids[y])))
        refused |= carried
        at = cand.positions(np.array(sorted(carried), np.int64).reshape(-1, 2))
        ok[at[at >= 0]] = False
    verified = {(int(x), int(y)) for x, y in cand.pairs[ok]}

    def fits(c: int, members: np.ndarray) -> bool:
        each = cand.fits_each(c, members, copy, second=True)
        if refused and any((min(c, m), max(c, m)) in refused for m in members.tolist()):
            return False
        kin = cand.known[members] & cand.known[c] & (cand.unit[members] @ cand.unit[c] >= KIN_MIN_COSINE)
        unsure = 0
        for m, close in zip(members[~each].tolist(), kin[~each].tolist(), strict=True):
            if (min(c, m), max(c, m)) in verified:
                continue
            verdict = judge.same_content(int(cand.ids[c]), int(cand.ids[m]))
            if verdict is False:
                return False
            unsure += verdict is None and not close
        # members the check cannot tell about (too few sure matches: a noisy or much blurred copy
        # against a screenshot) are let pass where c is a copy of nearly all the others
        return unsure == 0 or len(members) - unsure >= max(2.0, KIN_QUORUM * len(members))

    return ok, fits


def _carried(refused: set[tuple[int, int]], confirmed: np.ndarray,
             evidence: Callable[[int, int], float]) -> set[tuple[int, int]]:
    """The refusals that follow from `refused` over the `confirmed` copy pairs: where B and A are
    two photos (two shots of one scene, two photos of one layout) and C a confirmed copy of B, C is
    no copy of A either. (Two toy-block photos refused, a sharpened copy of one does not join the
    other's group through the copy head's code alone.) Where C is a confirmed copy of both, it
    stays with the one whose match has more `evidence` (a captioned copy of the right shot of a
    stereo pair: 475 matches with it, 164 with the left shot)."""
    apart: dict[int, set[int]] = defaultdict(set)
    for x, y in refused:
        apart[x].add(y)
        apart[y].add(x)
    sure = {(int(x), int(y)) for x, y in confirmed}
    out: set[tuple[int, int]] = set()
    for x, y in sure:
        for c, b in ((x, y), (y, x)):
            for m in apart.get(b, ()):
                pair = (min(c, m), max(c, m))
                if c != m and (pair not in sure or evidence(c, m) < evidence(c, b)):
                    out.add(pair)
    return out - refused


def _most_alike(at: np.ndarray, a: np.ndarray, b: np.ndarray, sims: np.ndarray, per_photo: int) -> np.ndarray:
    """The pairs `at`, keeping for each photo only its `per_photo` most similar ones (a pair stays
    where it is among the first for either photo), in pair order: bounded work on a library where
    one photo has doubtful pairs with many others."""
    if not len(at):
        return at
    order = at[np.argsort(-sims[at], kind="stable")]
    seen: dict[int, int] = defaultdict(int)
    keep = []
    for k, x, y in zip(order.tolist(), a[order].tolist(), b[order].tolist(), strict=True):
        if seen[x] < per_photo or seen[y] < per_photo:
            keep.append(k)
        seen[x] += 1
        seen[y] += 1
    return np.sort(np.array(keep, np.int64))


def similar_groups(ids: np.ndarray, codes: np.ndarray,
                   features: np.ndarray | Callable[[np.ndarray], np.ndarray] | None, bits: int,
                   check: Check, copies: list[Group]) -> list[Group]:
    """Similar shots from another code than the copies' (the semantic code and backbone features,
    where copies come from a copy-detection head): groups under `check`, none chaining, of photos
    that are not already in one of the `copies` groups together."""
    cand = _Candidates(ids, codes, features, pairs_within(codes, bits, check.radius))
    at = {int(i): k for k, i in enumerate(cand.ids.tolist())}
    group_of = np.full(len(cand.rows), -1)
    for k, g in enumerate(copies):
        group_of[[at[i] for i in g.image_ids if i in at]] = k
    return _shots(cand, group_of, check, bits)


def _shots(cand: _Candidates, group_of: np.ndarray, check: Check, bits: int) -> list[Group]:
    """Similar-shot groups over the candidate pairs that are not inside one copy group
    (`group_of`: each candidate photo's copy group, -1 for none)."""
    a, b = cand.pairs[:, 0], cand.pairs[:, 1]
    ok, sims = cand.passing(check, bits)
    ok &= (group_of[a] != group_of[b]) | (group_of[a] < 0)  # not already copies of each other
    shots = cliques(len(cand.rows), cand.pairs[ok], sims[ok], cand.ids, lambda c, m: cand.fits(c, m, check))
    return _groups("similar", shots, _score(shots, len(cand.rows), cand.pairs[ok], sims[ok]), cand.ids)


def _groups(kind: str, members: list[list[int]], scores: list[float], ids: np.ndarray) -> list[Group]:
    """Groups of photo ids, each sorted, ordered by smallest id: the same whatever order the
    photos are stored in."""
    out = [Group(kind, s, sorted(ids[m].tolist())) for m, s in zip(members, scores, strict=True)]
    return sorted(out, key=lambda g: g.image_ids[0])


def exact_groups(rows: list[dict]) -> list[Group]:
    """Byte-identical files (same content hash)."""
    by_hash: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_hash[r["content_hash"]].append(r)
    return [Group("exact", 1.0, [r["id"] for r in g]) for g in by_hash.values() if len(g) > 1]


def order_groups(groups: list[Group]) -> list[Group]:
    """Exact groups first, then near ones by score, then similar shots by score; ties broken by
    their first path."""
    for g in groups:
        order = sorted(range(len(g.paths)), key=lambda i: g.paths[i])
        g.image_ids = [g.image_ids[i] for i in order]
        g.paths = [g.paths[i] for i in order]
        g.sizes = [g.sizes[i] for i in order]
    return sorted(groups, key=lambda g: (KIND_ORDER.get(g.kind, len(KIND_ORDER)), -round(g.score, 6), g.paths[0]))
