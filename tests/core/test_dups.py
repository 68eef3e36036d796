import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from hashcore.search import bits as bitops
from hashcore.search.dups import components, near_groups


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


def test_a_shuffled_chain_of_near_copies_is_one_group():
    # a burst: each frame one bit from the next, stored in random order under random ids
    frames = np.zeros((40, 64), bool)
    for k in range(40):
        frames[k, :k] = True
    rng = np.random.default_rng(3)
    rows = rng.permutation(40)
    ids = rng.permutation(np.arange(100, 140))
    loner = np.zeros((1, 64), bool)
    loner[0, 50:] = True  # 14 bits from the last frame, far from the rest
    codes = codes_of(np.vstack([frames[rows], loner]))
    groups = near_groups(np.append(ids, 7), codes, None, 64, 1, 0.8)
    assert [sorted(g.image_ids) for g in groups] == [sorted(ids.tolist())]
    assert groups[0].score == 1 - 1 / 64


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
