"""The copy level's second test (the DCT hash beside a copy head's code): a pair is a copy when
its copy codes are close and its embeddings agree (cosine >= t), or when its DCT hashes are
close and its embeddings agree less strictly (cosine >= t2); groups still never chain."""

from __future__ import annotations

import numpy as np

from hashcore.search.dups import Check, SecondCode, near_groups


def unit(*v: float) -> np.ndarray:
    x = np.array(v, np.float32)
    return x / np.linalg.norm(x)


IDS = np.array([1, 2, 3, 4])
# a; b (cosine 0.6 with a); c (0.95 with a, 0.82 with b); d (0.64 with b, 0 with a)
FEATS = np.stack([unit(1, 0, 0), unit(0.6, 0.8, 0), unit(0.95, 0.312, 0), unit(0, 0.8, 0.6)])
# copy codes: a and c one bit apart, b and d far from everyone
COPY = np.array([[0], [0xFFFFFFFF00000000], [1], [0x00000000FFFFFFFF]], np.uint64)
DCT = np.zeros((4, 1), np.uint64)  # every DCT hash equal: the DCT test alone joins every pair


def groups(second: SecondCode | None) -> list[list[int]]:
    return [g.image_ids for g in near_groups(IDS, COPY, FEATS, 64, 6, 0.9, second=second)]


def test_the_dct_test_adds_copies_the_copy_code_missed_without_chaining():
    assert groups(None) == [[1, 3]]  # the copy code and cosine 0.9 alone: only a~c
    both = SecondCode(DCT, np.ones(4, bool), 64, Check(10, 0.5))
    # b joins a and c through the DCT test (cosines 0.6 and 0.82 >= 0.5); d passes it with b
    # (0.64) but not with a (cosine 0): it is left out, the group does not chain through b
    assert groups(both) == [[1, 2, 3]]


def test_a_photo_without_a_dct_hash_is_judged_on_the_copy_code_alone():
    known = np.array([True, False, True, True])
    assert groups(SecondCode(DCT, known, 64, Check(10, 0.5))) == [[1, 3]]
    far = np.array([[0], [0xFFFF], [0], [0]], np.uint64)  # b's hash 16 bits away: beyond radius 10
    assert groups(SecondCode(far, np.ones(4, bool), 64, Check(10, 0.5))) == [[1, 3]]
