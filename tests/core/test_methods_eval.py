"""The evaluation's metrics on rankings small enough to score by hand, and the dataset reader."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from bench.datasets import FASHION_MNIST_DIR, load_fashion_mnist, protocol_split, read_idx
from bench.evaluate import (
    average_precision,
    hamming_matrix,
    mean_average_precision,
    radius_stats,
    relevance,
    unique_codes,
)


def test_average_precision_by_hand():
    # relevant at ranks 1 and 3: (1/1 + 2/3) / 2
    assert average_precision(np.array([1, 0, 1, 0], bool)) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision(np.array([0, 0], bool)) == 0.0


def test_map_breaks_ties_by_database_order():
    dist = np.array([[1, 0, 0, 2]])
    rel = np.array([[True, False, True, False]])
    # stable order: item1 (d0, no), item2 (d0, yes), item0 (d1, yes), item3 -> (1/2 + 2/3) / 2
    assert mean_average_precision(dist, rel) == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_radius_stats_by_hand():
    dist = np.array([[0, 1, 2, 3], [3, 3, 3, 3]])
    rel = np.array([[True, False, True, True], [True, True, False, False]])
    s = radius_stats(dist, rel)
    assert s["precision_r0"] == pytest.approx((1.0 + 0.0) / 2)  # empty ball counts as 0
    assert s["precision_r2"] == pytest.approx((2 / 3 + 0.0) / 2)
    assert s["recall_r1"] == pytest.approx((1 / 3 + 0.0) / 2)
    assert s["mean_neighbours_r2"] == pytest.approx((3 + 0) / 2)


def test_hamming_matrix_matches_counting_bits():
    rng = np.random.default_rng(0)
    a, b = rng.random((7, 70)) > 0.5, rng.random((11, 70)) > 0.5
    expected = (a[:, None, :] != b[None, :, :]).sum(-1)
    np.testing.assert_array_equal(hamming_matrix(a, b), expected)
    assert unique_codes(np.vstack([a, a[:3]])) == len(np.unique(a, axis=0))


def test_relevance_single_and_multi_label():
    assert relevance(np.array([1, 2]), np.array([2, 1, 1])).tolist() == [[False, True, True], [True, False, False]]
    multi = relevance(np.array([[1, 0, 1]]), np.array([[0, 0, 1], [0, 1, 0]]))
    assert multi.tolist() == [[True, False]]


def write_idx(path, arr: np.ndarray, code: int = 0x08, compress: bool = False) -> None:
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    data = header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    (gzip.open if compress else open)(path, "wb").write(data)


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trip(tmp_path, compress):
    img = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.idx", img, compress=compress)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), img)
    ints = np.array([-5, 70000], dtype=np.int32)
    write_idx(tmp_path / "b.idx", ints, code=0x0C, compress=compress)
    np.testing.assert_array_equal(read_idx(tmp_path / "b.idx"), ints)


def test_read_idx_rejects_truncated(tmp_path):
    write_idx(tmp_path / "a.idx", np.zeros((4, 4), np.uint8))
    data = (tmp_path / "a.idx").read_bytes()
    (tmp_path / "a.idx").write_bytes(data[:-3])
    with pytest.raises(ValueError):
        read_idx(tmp_path / "a.idx")


def test_protocol_split_counts():
    labels = np.tile(np.arange(10), 700)  # 7000 "images": the last 1000 play the test set
    sp = protocol_split(labels, n_train_images=6000, queries_per_class=10, train_per_class=50)
    assert len(sp.query) == 100 and (sp.query >= 6000).all()
    assert np.bincount(labels[sp.query]).tolist() == [10] * 10
    assert len(np.intersect1d(sp.query, sp.database)) == 0 and len(sp.database) == 6900
    assert np.isin(sp.train_supervised, sp.database).all()
    assert np.bincount(labels[sp.train_supervised]).tolist() == [50] * 10


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_mnist_from_debian_package():
    images, labels = load_fashion_mnist()
    assert images.shape == (70000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [7000] * 10
