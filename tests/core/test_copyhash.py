"""The copy-detection head (hashcore/models/methods/copyhash.py): its losses are the formulas of
InfoNCE and SSCD's entropy regulariser (checked on inputs small enough to work out by hand), and
a head trained on a toy set of "photos" with shared "edits" keeps the edits of a photo it never
saw closer to each other than to other photos, where the raw features do not."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hashcore.models.methods import load_head  # noqa: E402
from hashcore.models.methods.copyhash import (  # noqa: E402
    CopyHash,
    group_batches,
    ignore_mask,
    info_nce,
    instance_batches,
    koleo,
    quantisation,
)


def test_info_nce_by_hand():
    z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    y = torch.tensor([0, 0, 1])
    # rows 0 and 1: positive at cosine 1, the negative at 0: -log(e / (e + 1)); row 2 has no positive
    assert info_nce(z, y, tau=1.0).item() == pytest.approx(math.log(1 + math.exp(-1)), rel=1e-6)
    # tau 0.5 doubles the logits: -log(e^2 / (e^2 + 1))
    assert info_nce(z, y, tau=0.5).item() == pytest.approx(math.log(1 + math.exp(-2)), rel=1e-6)


def test_info_nce_averages_over_several_positives_by_hand():
    c = 2 ** -0.5
    z = torch.tensor([[1.0, 0.0], [c, c], [0.0, 1.0], [-1.0, 0.0]])
    y = torch.tensor([0, 0, 0, 1])
    sims = z @ z.T

    def row(i: int) -> float:
        others = [j for j in range(4) if j != i]
        denom = sum(math.exp(sims[i, j].item()) for j in others)
        pos = [j for j in others if y[j] == y[i]]
        return -sum(math.log(math.exp(sims[i, j].item()) / denom) for j in pos) / len(pos)

    assert info_nce(z, y, tau=1.0).item() == pytest.approx((row(0) + row(1) + row(2)) / 3, rel=1e-6)


def test_koleo_by_hand():
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    # all different photos: every nearest neighbour is sqrt(2) away
    assert koleo(z, torch.tensor([0, 1, 2])).item() == pytest.approx(-math.log(2 ** 0.5), rel=1e-6)
    # rows 0 and 1 the same photo: row 0's nearest other photo is row 2 (distance 2), rows 1 and 2 sqrt(2)
    expected = -(math.log(2) + 2 * math.log(2 ** 0.5)) / 3
    assert koleo(z, torch.tensor([0, 0, 1])).item() == pytest.approx(expected, rel=1e-6)


def test_quantisation_penalty_by_hand():
    u = torch.tensor([[1.0, -1.0], [0.5, 0.0]])
    # corners cost nothing; 0.5 -> 0.25, 0 -> 1: (0 + 0 + 0.25 + 1) / 4
    assert quantisation(u).item() == pytest.approx(1.25 / 4)


def test_info_nce_leaves_ignored_pairs_out_by_hand():
    z = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    y = torch.tensor([0, 0, 1])
    ignore = torch.tensor([[False, False, True], [False, False, False], [True, False, False]])
    # row 0: its only other candidate (row 2) is ignored, so the positive is certain: loss 0
    # row 1: positive row 0 (cosine 0.6) against negative row 2 (cosine 0.8)
    row1 = -math.log(math.exp(0.6) / (math.exp(0.6) + math.exp(0.8)))
    assert info_nce(z, y, tau=1.0, ignore=ignore).item() == pytest.approx(row1 / 2, rel=1e-6)
    # without the mask row 0 pays for row 2 (cosine 0)
    row0 = -math.log(math.exp(0.6) / (math.exp(0.6) + 1.0))
    assert info_nce(z, y, tau=1.0).item() == pytest.approx((row0 + row1) / 2, rel=1e-6)


def test_koleo_skips_ignored_pairs_by_hand():
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    y = torch.tensor([0, 1, 2])
    ignore = torch.tensor([[False, True, False], [True, False, False], [False, False, False]])
    # rows 0 and 1 may not count each other: row 0's nearest is row 2 (2), row 1's is row 2 (sqrt 2)
    expected = -(math.log(2) + 2 * math.log(2 ** 0.5)) / 3
    assert koleo(z, y, ignore=ignore).item() == pytest.approx(expected, rel=1e-6)


def test_burst_instances_are_ignored_against_their_photo_only():
    y = torch.tensor([0, 0, 1, 10, 11])  # photos 0 and 1; instances 10 and 11 cut from photo 0
    related = torch.tensor([-1, -1, -1, 0, 0])
    m = ignore_mask(y, related)
    assert m[3, 0] and m[0, 3] and m[1, 4] and m[4, 1]  # a frame against its own photo's views
    assert not m[3, 4] and not m[3, 2] and not m[0, 1] and not m[0, 2]  # frames apart, other photos


def test_group_batches_bring_a_photo_with_its_burst_frames():
    y = np.array([0, 0, 0, 1, 1, 1, 10, 10, 11, 11, 12, 12, 13, 13])
    related = np.array([-1] * 6 + [0, 0, 0, 0, 1, 1, 1, 1])
    for _ in range(5):
        idx = next(group_batches(y, related, batch=1, views=2, rng=np.random.default_rng(_)))
        got = set(y[idx].tolist())
        assert got in ({0, 10, 11}, {1, 12, 13})
        assert all((y[idx] == k).sum() == 2 for k in got)


def test_batches_hold_several_views_of_each_photo():
    y = np.repeat(np.arange(10), 3)
    idx = next(instance_batches(y, batch=4, views=2, rng=np.random.default_rng(0)))
    labels, counts = np.unique(y[idx], return_counts=True)
    assert len(labels) == 4 and (counts == 2).all()


def toy(n_items: int, views: int, seed: int, d: int = 48, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Photos as random vectors; an edit adds a large move in a k-dimensional subspace that every
    photo shares (as a colour change or re-compression moves every photo's features alike)."""
    rng = np.random.default_rng(seed)
    edits = np.linalg.qr(np.random.default_rng(0).standard_normal((d, k)))[0]
    base = rng.standard_normal((n_items, d))
    x = np.repeat(base, views, axis=0) + (3.0 * rng.standard_normal((n_items * views, k))) @ edits.T
    return (x + 0.3 * rng.standard_normal(x.shape)).astype(np.float32), np.repeat(np.arange(n_items), views)


def nearest_is_own_photo(e: np.ndarray, y: np.ndarray) -> float:
    s = e @ e.T
    np.fill_diagonal(s, -np.inf)
    return float((y[s.argmax(axis=1)] == y).mean())


def test_trained_head_keeps_edits_of_unseen_photos_together(tmp_path):
    torch.set_num_threads(1)
    x, y = toy(200, 4, seed=1)
    xt, yt = toy(100, 4, seed=2)  # photos the head never saw
    head = CopyHash(16, hidden=128, dim=32, steps=300, batch=64).fit(x, y)
    raw = xt / np.linalg.norm(xt, axis=1, keepdims=True)
    assert nearest_is_own_photo(raw, yt) < 0.7  # the edits dominate the raw features
    emb = head.embed(xt)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert nearest_is_own_photo(emb, yt) > 0.95
    same = (yt[:, None] == yt[None, :]) & ~np.eye(len(yt), dtype=bool)
    other = yt[:, None] != yt[None, :]
    sims = emb @ emb.T
    assert (sims[same] > np.quantile(sims[other], 0.99)).mean() > 0.9
    codes = head.encode(xt)
    ham = (codes[:, None, :] != codes[None, :, :]).sum(-1)
    assert ham[same].mean() < 0.5 * ham[other].mean()
    digest = head.save(tmp_path / "copy.npz")  # a plain .npz, rebuilt by load_head
    loaded = load_head(tmp_path / "copy.npz", sha256=digest)
    np.testing.assert_array_equal(loaded.encode(xt), codes)
    np.testing.assert_allclose(loaded.embed(xt), emb, atol=1e-6)
