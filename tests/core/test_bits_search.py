import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hashcore.search import bits as bitops
from hashcore.search.dups import pairs_within
from hashcore.search.scan import CodeIndex, NumpyScan, ReferenceSearch


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([8, 32, 48, 64, 100, 128]).flatmap(
    lambda b: arrays(np.bool_, st.tuples(st.integers(1, 20), st.just(b)))))
def test_pack_unpack_round_trip(binary):
    packed = bitops.pack(binary)
    assert packed.dtype == np.uint64 and packed.flags.c_contiguous
    assert np.array_equal(bitops.unpack(packed, binary.shape[1]), binary)
    for row, code in zip(binary, packed, strict=True):
        assert bitops.from_bytes(bitops.to_bytes(code)).tolist() == code.tolist()
        assert bitops.code_to_int(code) == sum(1 << j for j, v in enumerate(row) if v)


def clustered_codes(n, bits, seed=0, flips=4):
    rng = np.random.default_rng(seed)
    centres = rng.random((max(n // 50, 2), bits)) > 0.5
    rows = centres[rng.integers(0, len(centres), n)]
    noise = np.zeros_like(rows)
    for i in range(n):
        noise[i, rng.choice(bits, rng.integers(0, flips + 1), replace=False)] = True
    return bitops.pack(rows ^ noise)


@pytest.mark.parametrize("bits", [32, 64, 128])
def test_numpy_scan_matches_reference(bits):
    codes = clustered_codes(700, bits, seed=bits)
    fast, ref = NumpyScan(codes), ReferenceSearch(codes)
    for q in codes[::97]:
        for k in (1, 10, 50):
            assert [a.tolist() for a in fast.topk(q, k)] == [a.tolist() for a in ref.topk(q, k)]
        for r in (0, 2, 5):
            assert [a.tolist() for a in fast.radius(q, r)] == [a.tolist() for a in ref.radius(q, r)]


def test_topk_larger_than_index_returns_everything_sorted():
    codes = clustered_codes(30, 64)
    rows, dist = NumpyScan(codes).topk(codes[0], 100)
    assert sorted(rows.tolist()) == list(range(30))
    assert dist.tolist() == sorted(dist.tolist()) and dist[0] == 0


def test_code_index_returns_image_ids():
    codes = clustered_codes(50, 64)
    ids = np.arange(1000, 1050)
    index = CodeIndex(ids, codes, 64)
    hits = index.topk(codes[7], 3)
    assert hits[0] == (1007, 0) or hits[0][1] == 0
    assert all(1000 <= i < 1050 for i, _ in hits)
    assert np.array_equal(index.code(1007), codes[7])


@pytest.mark.parametrize("bits,r", [(64, 0), (64, 3), (64, 6), (128, 10), (32, 2)])
def test_pairs_within_equals_brute_force(bits, r):
    codes = clustered_codes(400, bits, seed=r)
    d = np.array([[bin(bitops.code_to_int(a) ^ bitops.code_to_int(b)).count("1") for b in codes]
                  for a in codes])
    ii, jj = np.nonzero(np.triu(d <= r, k=1))
    expected = sorted(zip(ii.tolist(), jj.tolist(), strict=True))
    assert [tuple(p) for p in pairs_within(codes, bits, r).tolist()] == expected


@pytest.mark.parametrize("ids", [np.arange(1000, 1050),  # one unbroken run: kept as a range
                                 np.arange(1000, 1100, 2),  # gaps left by deleted photos
                                 np.arange(1049, 999, -1)])  # not sorted
def test_code_index_maps_rows_to_image_ids_however_ids_are_laid_out(ids):
    codes = clustered_codes(50, 64, seed=5)
    index = CodeIndex(ids, codes, 64)
    ref = ReferenceSearch(codes)
    rows, dist = ref.topk(codes[7], 5)
    assert index.topk(codes[7], 5) == [(int(ids[r]), int(d)) for r, d in zip(rows, dist, strict=True)]
    rows, dist = ref.radius(codes[3], 6)
    assert index.radius(codes[3], 6) == [(int(ids[r]), int(d)) for r, d in zip(rows, dist, strict=True)]
    assert np.array_equal(index.code(int(ids[7])), codes[7])
    assert index.code(999) is None and index.code(5000) is None and index.code(1001 if ids[1] == 1002 else -1) is None
