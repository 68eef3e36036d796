import itertools
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from hashcore.config import Config
from hashcore.library import Library
from hashcore.search import bits as bitops
from hashcore.search.dups import Check, components, near_groups
from tests.photos import SAMPLES


def codes_of(rows):
    return bitops.pack(np.array(rows, dtype=bool))


def test_features_cut_false_pairs_and_missing_features_fall_back_to_codes():
    base = np.zeros(64, bool)
    near = base.copy()
    near[:2] = True  # distance 2
    other = np.zeros(64, bool)
    other[40:63] = True
    other2 = other.copy()
    other2[0] = True  # distance 1 from `other`
    codes = codes_of([base, near, other, other2])
    ids = np.array([10, 11, 12, 13])
    feats = np.array([[1, 0, 0], [0.99, 0.1, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    groups = near_groups(ids, codes, feats, 64, 3, 0.8)
    assert [g.image_ids for g in groups] == [[10, 11]]  # 12/13: same code, different pictures
    assert 0.98 < groups[0].score <= 1.0

    asked = []

    def lazy(rows):
        asked.append(rows.tolist())
        out = feats[rows].copy()
        out[rows == 3] = np.nan  # photo 13 has codes but no stored features
        return out

    groups = near_groups(ids, codes, lazy, 64, 3, 0.8)
    assert asked == [[0, 1, 2, 3]]  # only photos in candidate pairs are loaded
    assert sorted(g.image_ids for g in groups) == [[10, 11], [12, 13]]
    assert [g.score for g in groups if g.image_ids == [12, 13]] == [1 - 1 / 64]


def test_a_shuffled_chain_is_no_copy_group_but_one_burst_of_similar_shots():
    # a burst: each frame one bit from the next, stored in random order under random ids. Frames
    # 0 and 39 are 39 bits apart: not copies, so the copy level must not chain them together
    # (issue 14); the similar-shots level, wide enough, holds the whole burst.
    frames = np.zeros((40, 64), bool)
    for k in range(40):
        frames[k, :k] = True
    rng = np.random.default_rng(3)
    rows = rng.permutation(40)
    ids = rng.permutation(np.arange(100, 140))
    loner = np.zeros((1, 64), bool)
    loner[0, 50:] = True  # 14 bits from the last frame, far from the rest
    codes = codes_of(np.vstack([frames[rows], loner]))
    frame_of = dict(zip(ids.tolist(), rows.tolist(), strict=True))
    groups = near_groups(np.append(ids, 7), codes, None, 64, 1, 0.8, similar=Check(40, 0.8))
    copies = [g.image_ids for g in groups if g.kind == "near"]
    assert copies and all(len(g) == 2 and abs(frame_of[g[0]] - frame_of[g[1]]) == 1 for g in copies)
    assert len({i for g in copies for i in g}) == sum(map(len, copies))  # no photo in two copy groups
    assert [sorted(g.image_ids) for g in groups if g.kind == "similar"] == [sorted(ids.tolist())]
    # the same photos stored in another order: the same groups
    back = np.argsort(rows)
    again = near_groups(np.append(ids[back], 7), codes_of(np.vstack([frames, loner])), None, 64, 1, 0.8,
                        similar=Check(40, 0.8))
    assert [(g.kind, g.image_ids) for g in again] == [(g.kind, g.image_ids) for g in groups]


def unit(*v):
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


def test_copies_never_chain_a_b_c_where_a_and_c_differ():
    # A~B and B~C pass the copy check, A and C are far apart: never one group, by features...
    a, c = unit(1, 0, 0), unit(0, 1, 0)
    b = unit(1, 1, 0)  # cosine 0.71 to each, 0 between A and C
    codes = codes_of(np.zeros((3, 64), bool))
    for ids in ([1, 2, 3], [3, 2, 1], [2, 3, 1]):
        groups = near_groups(np.array(ids), codes, np.stack([a, b, c]), 64, 3, 0.7)
        assert [g.kind for g in groups] == ["near"]  # B with one of them, the other alone
        assert {ids[0], ids[2]} - set(groups[0].image_ids) and ids[1] in groups[0].image_ids
    # ... and by codes where features are missing (A-B 2 bits, B-C 2 bits, A-C 4 bits, radius 3)
    rows = np.zeros((3, 64), bool)
    rows[1, :2] = True
    rows[2, :4] = True
    groups = near_groups(np.array([1, 2, 3]), codes_of(rows), None, 64, 3, 0.8)
    assert groups and not any({1, 3} <= set(g.image_ids) for g in groups)


def test_a_clique_of_three_stays_one_group_and_a_photo_hanging_off_it_is_a_similar_shot():
    # on a circle: A 0 degrees, B 5, C 25, D 60: A, B, C copies of one another; D a copy of C only
    a, b, c, d = (unit(np.cos(np.radians(t)), np.sin(np.radians(t))) for t in (0, 5, 25, 60))
    feats = np.stack([a, b, c, d])
    cos = feats @ feats.T
    assert min(cos[0, 1], cos[0, 2], cos[1, 2], cos[2, 3]) >= 0.8 and max(cos[0, 3], cos[1, 3]) < 0.6
    codes = codes_of(np.zeros((4, 64), bool))
    ids = np.array([10, 11, 12, 13])
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]):
        groups = near_groups(ids[order], codes, feats[order], 64, 3, 0.8)
        assert [(g.kind, g.image_ids) for g in groups] == [("near", [10, 11, 12])]
    groups = near_groups(ids, codes, feats, 64, 3, 0.8, similar=Check(6, 0.45))
    assert [(g.kind, g.image_ids) for g in groups] == [("near", [10, 11, 12]), ("similar", [10, 11, 12, 13])]
    groups = near_groups(ids, codes, feats, 64, 3, 0.8, similar=Check(6, 0.6))
    assert [(g.kind, g.image_ids) for g in groups] == [("near", [10, 11, 12]), ("similar", [12, 13])]


def test_similar_shots_are_their_own_groups_never_inside_a_copy_group():
    # two bursts: x1~x2 copies, x3 a similar shot of both; y1, y2 similar shots, no copies at all
    base, other = unit(1, 0, 0, 0), unit(0, 0, 1, 0)
    feats = np.stack([base, unit(1, 0.1, 0, 0), unit(1, 0.9, 0, 0), other, unit(0, 0.8, 1, 0)])
    rows = np.zeros((5, 64), bool)
    rows[2, :5] = True  # 5 bits from x1: beyond the copy radius, inside the similar one
    rows[3:, 30:] = True
    rows[4, :2] = True
    ids = np.array([1, 2, 3, 4, 5])
    groups = near_groups(ids, codes_of(rows), feats, 64, 3, 0.9)
    assert [(g.kind, g.image_ids) for g in groups] == [("near", [1, 2])]  # no similar level asked
    groups = near_groups(ids, codes_of(rows), feats, 64, 3, 0.9, similar=Check(6, 0.6))
    copies = [set(g.image_ids) for g in groups if g.kind == "near"]
    shots = [set(g.image_ids) for g in groups if g.kind == "similar"]
    assert copies == [{1, 2}]
    assert sorted(map(sorted, shots)) == [[1, 2, 3], [4, 5]]
    assert not any(s <= c for s in shots for c in copies)


@settings(max_examples=150, deadline=None)
@given(st.integers(2, 14).flatmap(lambda n: st.tuples(
    st.lists(st.lists(st.integers(-3, 3), min_size=3, max_size=3), min_size=n, max_size=n),
    st.lists(st.integers(0, 7), min_size=n, max_size=n), st.permutations(range(n)))))
def test_every_two_photos_of_a_group_pass_the_check_whatever_the_order(case):
    vecs, flips, perm = case
    n = len(vecs)
    feats = np.array(vecs, np.float32) + np.float32(0.05)  # no zero vectors
    rows = np.zeros((n, 64), bool)
    for k, f in enumerate(flips):
        rows[k, :f] = True  # codes on one line: k bits from the all-zero code
    codes, ids = codes_of(rows), np.arange(100, 100 + n)
    copy, shots = Check(3, 0.8), Check(6, 0.5)
    groups = near_groups(ids, codes, feats, 64, copy.radius, copy.min_cosine, similar=shots)
    unitf = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    for kind, check in (("near", copy), ("similar", shots)):
        mine = [g.image_ids for g in groups if g.kind == kind]
        assert len({i for g in mine for i in g}) == sum(map(len, mine))  # a partition
        for g in mine:
            for i, j in itertools.combinations(g, 2):
                assert unitf[i - 100] @ unitf[j - 100] >= check.min_cosine - 1e-6
    p = np.array(perm)
    again = near_groups(ids[p], codes[p], feats[p], 64, copy.radius, copy.min_cosine, similar=shots)
    assert sorted((g.kind, sorted(g.image_ids)) for g in again) == sorted((g.kind, sorted(g.image_ids)) for g in groups)


def union_find_groups(n, pairs):
    parent = list(range(n))

    def root(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in pairs:
        parent[root(a)] = root(b)
    members = {}
    for x in range(n):
        members.setdefault(root(x), []).append(x)
    return sorted(m for m in members.values() if len(m) > 1)


@given(st.integers(1, 60).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=80))))
def test_components_equal_a_plain_union_find_in_a_fixed_order(graph):
    n, edges = graph
    pairs = np.array(sorted({(min(a, b), max(a, b)) for a, b in edges if a != b}),
                     np.int64).reshape(-1, 2)
    groups = components(n, pairs)
    assert groups == union_find_groups(n, pairs.tolist())  # sorted members, by smallest member
    assert components(n, pairs[::-1].copy()) == groups  # pair order does not matter


@pytest.fixture(scope="module")
def shots_library(tmp_path_factory: pytest.TempPathFactory):
    """Real photos: two samples, a half-size copy of the first, a byte-identical copy of the second."""
    root = tmp_path_factory.mktemp("shots")
    for name in ("coffee.jpg", "rocket-launch.jpg"):
        shutil.copy2(SAMPLES / name, root / name)
    with Image.open(SAMPLES / "coffee.jpg") as img:
        img.convert("RGB").resize((img.width // 2, img.height // 2)).save(root / "coffee-small.jpg", quality=85)
    (root / "backup").mkdir()
    shutil.copy2(SAMPLES / "rocket-launch.jpg", root / "backup" / "rocket-launch.jpg")
    home = tmp_path_factory.mktemp("home")
    with Library(Config(home=home), db_path=home / "library.db") as lib:
        lib.index([root])
        yield lib


def test_similar_shots_are_listed_apart_and_never_planned_for_removal(shots_library):
    lib = shots_library
    default = lib.duplicates()
    assert {g.kind for g in default} == {"exact", "near"}  # the copy level only, as before
    near = next(g for g in default if g.kind == "near")
    assert [p.rsplit("/", 1)[-1] for p in near.paths] == ["coffee-small.jpg", "coffee.jpg"]
    assert lib.plan_removal(near)[1]  # a copy is proposed for removal
    # a copy level so strict that the half-size copy is no longer a copy: it is a similar shot
    groups = lib.duplicates(min_cosine=0.999, similar=True)
    assert [g.kind for g in groups] == ["exact", "similar"]
    shots = groups[1]
    assert shots.image_ids == near.image_ids and shots.reclaimable == 0
    plans = lib.plan_removals(groups)
    assert plans[0][1] and plans[1][1] == []  # the exact copy is planned, the similar shots never
    assert "not copies" in plans[1].reason
    for rule in ("resolution", "size", "oldest", "newest"):
        assert lib.plan_removals(groups, rule)[1][1] == []


class TableJudge:
    """A judge answering from a table of what each pair of photos is (the geometric judge's
    place in the grouping; its own tests are tests/core/test_geometry.py): "copy" with its
    evidence (matches on the homography), or "two" (two photos: two shots, one layout)."""

    reach = Check(16, 0.3)

    def __init__(self, table: dict[tuple[int, int], tuple[str, float]]) -> None:
        self.table = {(min(k), max(k)): v for k, v in table.items()}

    def _is(self, a: int, b: int) -> tuple[str, float]:
        return self.table.get((min(a, b), max(a, b)), ("unknown", 0.0))

    def copies(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.array([self._is(x, y)[0] == "copy" for x, y in zip(a.tolist(), b.tolist(), strict=True)], bool)

    def same_content(self, a: int, b: int) -> bool | None:
        what = self._is(a, b)[0]
        return True if what == "copy" else False if what == "two" else None

    def refuted(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.array([self._is(x, y)[0] == "two" for x, y in zip(a.tolist(), b.tolist(), strict=True)], bool)

    def evidence(self, a: int, b: int) -> float:
        return self._is(a, b)[1]


def test_a_copy_of_one_of_two_photos_never_joins_the_other_photos_group():
    """A and B are two photos the copy head takes for copies (two shots of one scene); A2 is a
    copy of A, B2 a copy of B. The judge refuses A~B, and matches A2 and B2 more weakly to the
    other photo than to their own: every group holds one photo's files only, whatever the order."""
    a, a2, b, b2 = 1, 2, 3, 4
    judge = TableJudge({(a, b): ("two", 300.0), (a, a2): ("copy", 470.0), (b, b2): ("copy", 420.0),
                        (a2, b): ("copy", 160.0), (a, b2): ("copy", 110.0), (a2, b2): ("unknown", 0.0)})
    feats = np.stack([unit(1, 0.01 * k, 0) for k in range(4)])  # every pair passes the copy check
    codes = codes_of(np.zeros((4, 64), bool))
    ids = np.array([a, a2, b, b2])
    for order in itertools.permutations(range(4)):
        order = list(order)
        groups = near_groups(ids[order], codes, feats[order], 64, 12, 0.88, judge=judge)
        got = sorted(sorted(g.image_ids) for g in groups)
        assert got == [[a, a2], [b, b2]], (order, got)
    # without the judge the copy head puts all four together
    assert [sorted(g.image_ids) for g in near_groups(ids, codes, feats, 64, 12, 0.88)] == [[a, a2, b, b2]]


def test_a_copy_the_check_cannot_tell_about_against_one_member_joins_when_it_matches_the_rest():
    """A screenshot S of photo A is a verified copy of A and of most of A's copies; against one
    noisy copy the geometric check cannot tell (too few sure matches) and the copy cosine is low.
    S joins the group; against most of the group unknown, it stays out."""
    members = [10, 11, 12, 13, 14]  # A and four copies: copies of one another by the copy check
    s = 20
    feats = np.stack([unit(1, 0.01 * k, 0) for k in range(5)] + [unit(1, 0, 1.6)])  # S: cosine ~0.53
    codes = codes_of(np.zeros((6, 64), bool))
    ids = np.array(members + [s])
    table: dict[tuple[int, int], tuple[str, float]] = {(s, m): ("copy", 200.0) for m in members[:4]}
    groups = near_groups(ids, codes, feats, 64, 12, 0.88, judge=TableJudge(table))
    assert [sorted(g.image_ids) for g in groups] == [members + [s]]
    table = {(s, m): ("copy", 200.0) for m in members[:2]}  # S a copy of 2 of 5: unsure of the rest
    groups = near_groups(ids, codes, feats, 64, 12, 0.88, judge=TableJudge(table))
    assert [sorted(g.image_ids) for g in groups] == [members]
