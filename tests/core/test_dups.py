import numpy as np

from hashcore.search import bits as bitops
from hashcore.search.dups import near_groups


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
