"""Multi-index hashing must give exactly the reference search's answers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashcore.search import kernels
from hashcore.search.mih import MultiIndexHash, extract, flip_masks, substring_edges
from hashcore.search.scan import CompiledScan, NumpyScan, ReferenceSearch
from tests.core.test_bits_search import clustered_codes

COMPILED = [False, True] if kernels.available() else [False]
BACKENDS = {  # every fast back-end, built from (codes, bits)
    "scan": lambda c, bits: NumpyScan(c),
    "mih-default": lambda c, bits: MultiIndexHash(c, bits=bits, compiled=False),
    "mih-few-parts": lambda c, bits: MultiIndexHash(c, bits=bits, parts=-(-bits // 24), compiled=False),
    "mih-many-parts": lambda c, bits: MultiIndexHash(c, bits=bits, parts=bits // 5, compiled=False),
}
if kernels.available():
    BACKENDS |= {
        "compiled-scan": lambda c, bits: CompiledScan(c),
        "compiled-scan-3-ranges": lambda c, bits: CompiledScan(c, threads=3, min_rows_per_thread=150),
        "mih-compiled": lambda c, bits: MultiIndexHash(c, bits=bits, compiled=True),
        "mih-compiled-few-parts": lambda c, bits: MultiIndexHash(c, bits=bits, parts=-(-bits // 24), compiled=True),
        "mih-compiled-many-parts": lambda c, bits: MultiIndexHash(c, bits=bits, parts=bits // 5, compiled=True),
    }


def as_lists(result):
    return [a.tolist() for a in result]


@pytest.mark.parametrize("make", BACKENDS.values(), ids=BACKENDS.keys())
@pytest.mark.parametrize("bits", [32, 64, 128])
def test_backend_matches_reference(make, bits):
    codes = clustered_codes(600, bits, seed=bits + 1)
    if bits == 32:  # a 32-bit code lives in one word whose high half is zero
        codes &= np.uint64(0xFFFFFFFF)
    fast, ref = make(codes, bits), ReferenceSearch(codes)
    for q in codes[::83]:
        for r in (0, 1, 3, 6, 13):
            assert as_lists(fast.radius(q, r)) == as_lists(ref.radius(q, r)), (r,)
        for k in (1, 10, 100):
            assert as_lists(fast.topk(q, k)) == as_lists(ref.topk(q, k)), (k,)


def test_query_far_from_everything():
    codes = clustered_codes(300, 64)
    q = ~codes[0]
    index, ref = MultiIndexHash(codes), ReferenceSearch(codes)
    assert as_lists(index.radius(q, 3)) == as_lists(ref.radius(q, 3))
    assert as_lists(index.topk(q, 5)) == as_lists(ref.topk(q, 5))


def test_empty_and_tiny_indexes():
    empty = MultiIndexHash(np.zeros((0, 1), np.uint64), bits=64)
    assert empty.radius(np.zeros(1, np.uint64), 3)[0].tolist() == []
    one = MultiIndexHash(np.array([[5]], np.uint64))
    assert as_lists(one.topk(np.array([4], np.uint64), 10)) == [[0], [1]]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(1, 127))
def test_extract_reads_the_right_bits(lo, hi, a):
    code = np.array([[lo, hi]], np.uint64)
    b = min(a + 24, 128)
    whole = lo | (hi << 64)
    assert int(extract(code, a, b)[0]) == (whole >> a) & ((1 << (b - a)) - 1)


def test_substrings_cover_the_code_and_masks_have_the_right_weight():
    edges = substring_edges(128, 6)
    assert edges[0][0] == 0 and edges[-1][1] == 128
    assert all(e[1] == f[0] for e, f in zip(edges, edges[1:], strict=False))
    masks = flip_masks(10, 3)
    assert len(masks) == 120 and set(np.bitwise_count(masks).tolist()) == {3}


@pytest.mark.parametrize("compiled", COMPILED)
@pytest.mark.parametrize("bits,r", [(64, 3), (128, 6), (32, 2)])
def test_batched_radius_matches_one_query_at_a_time(bits, r, compiled):
    codes = clustered_codes(500, bits, seed=7)
    if bits == 32:
        codes &= np.uint64(0xFFFFFFFF)
    index, ref = MultiIndexHash(codes, bits=bits, compiled=compiled), ReferenceSearch(codes)
    queries = np.concatenate([codes[::50], ~codes[:2]])
    if bits == 32:
        queries &= np.uint64(0xFFFFFFFF)
    qi, rows, dist = index.radius_many(queries, r)
    for n, q in enumerate(queries):
        mine = qi == n
        assert [rows[mine].tolist(), dist[mine].tolist()] == as_lists(ref.radius(q, r))


@pytest.mark.parametrize("compiled", COMPILED)
def test_self_join_finds_every_close_pair_once(compiled):
    codes = clustered_codes(300, 64, seed=3)
    i, j = MultiIndexHash(codes, compiled=compiled).self_join(4)
    ref = ReferenceSearch(codes)
    expected = sorted((a, int(b)) for a in range(len(codes)) for b in ref.radius(codes[a], 4)[0] if b > a)
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == expected


@pytest.mark.parametrize("compiled", COMPILED)
def test_a_query_with_thousands_of_hits_is_answered_whole(compiled):
    """A library full of one photo's copies: far more hits than any first guess of buffer size."""
    codes = np.concatenate([np.full((1500, 1), 0x0F0F, np.uint64), clustered_codes(500, 64, seed=9)])
    index = MultiIndexHash(codes, bits=64, compiled=compiled)
    rows, dist = index.radius(codes[0], 2)
    assert rows[:1500].tolist() == list(range(1500)) and set(dist[:1500].tolist()) == {0}
    assert as_lists((rows, dist)) == as_lists(ReferenceSearch(codes).radius(codes[0], 2))
    qi, rows_many, _ = index.radius_many(codes[:3], 2)
    assert np.bincount(qi).tolist() == [len(rows)] * 3
    i, j = index.self_join(0)
    assert len(i) >= 1500 * 1499 // 2


def test_compiled_kernels_are_built_where_a_compiler_exists():
    """`pip install` builds hashcore/search/_kernels.c; CI and a developer machine have gcc, so a silent
    fall-back to the slower NumPy loops there would be a regression the benchmarks only hint at."""
    import os
    import shutil
    import sysconfig

    if os.environ.get("HASHLENS_NO_KERNELS"):
        pytest.skip("HASHLENS_NO_KERNELS is set: the NumPy path was asked for")
    if not shutil.which(sysconfig.get_config_var("CC").split()[0] if sysconfig.get_config_var("CC") else "cc"):
        pytest.skip("no C compiler on this machine: the NumPy path is the one in use")
    assert kernels.available()
