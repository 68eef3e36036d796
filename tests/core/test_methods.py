"""Every hashing head: learns something on clustered data, round-trips through its file, and its
loss is the formula from its paper (checked on inputs small enough to work out by hand)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bench.datasets import clustered_data  # noqa: E402
from bench.evaluate import hamming_matrix, mean_average_precision, relevance  # noqa: E402
from hashcore.models.methods import load_head  # noqa: E402
from hashcore.models.methods.base import _REGISTRY as _ALL  # noqa: E402
from hashcore.search.bits import pack  # noqa: E402

# The hashing methods of the seed papers, as the methods package registers them. Taken once at
# import: the multimodal tag model also registers itself when hashcore.tags.multimodal is imported
# (by an earlier test module, say), but it is trained by its own code, not by `fit` on (x, y).
_REGISTRY = {name: cls for name, cls in _ALL.items() if cls.__module__.startswith("hashcore.models.methods.")}
BITS = 16
# Few epochs: enough on this data, and the whole file stays fast on 2 cores.
FAST = {"dsh": {"epochs": 15}, "dnnh": {"epochs": 15}, "dnnh-fc": {"epochs": 15},
        "sh-bdnn": {"outer": 3, "epochs": 4}, "uh-bdnn": {"outer": 3, "epochs": 2},
        "sparsehash": {"epochs": 30, "lr": 1e-2}, "dqn": {"epochs": 10, "bits_per_subspace": 4}}
# lsh-metric is random hyperplanes after a learned linear map; on isotropic clusters that map is
# close to the identity, so it is checked against LSH on data with nuisance directions instead.
LEARNED = sorted(set(_REGISTRY) - {"lsh", "lsh-metric"})


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    torch.set_num_threads(1)
    x, y = clustered_data(1400, 32, 10, spread=2.0, seed=3)
    return {"xq": x[:200], "yq": y[:200], "x": x[200:], "y": y[200:]}


@pytest.fixture(scope="module")
def heads(data: dict[str, np.ndarray]) -> dict[str, object]:
    out = {}
    for name in sorted(_REGISTRY):
        cls = _REGISTRY[name]
        head = cls(BITS, **FAST.get(name, {}))
        head.fit(data["x"], data["y"] if cls.supervised else None)
        out[name] = head
    return out


def hamming_map(head, data) -> float:
    dist = hamming_matrix(head.encode(data["xq"]), head.encode(data["x"]))
    return mean_average_precision(dist, relevance(data["yq"], data["y"]))


@pytest.mark.parametrize("name", LEARNED)
def test_learned_head_beats_random_hyperplanes(name, heads, data):
    lsh = np.mean([hamming_map(_REGISTRY["lsh"](BITS, seed=s).fit(data["x"]), data) for s in range(3)])
    head = heads[name]
    if name == "dqn":  # DQN's codes are codeword indices: they are searched by asymmetric distance
        got = mean_average_precision(head.adc_distances(data["xq"], head.encode(data["x"])),
                                     relevance(data["yq"], data["y"]))
    else:
        got = hamming_map(head, data)
    assert got > lsh + 0.05, f"{name}: mAP {got:.3f} vs random LSH {lsh:.3f}"


@pytest.mark.parametrize("name", sorted(_REGISTRY))
def test_save_load_round_trip(name, heads, data, tmp_path):
    head = heads[name]
    codes = head.encode(data["x"])
    assert codes.shape == (len(data["x"]), BITS) and codes.dtype == np.bool_
    digest = head.save(tmp_path / f"{name}.npz")
    loaded = load_head(tmp_path / f"{name}.npz", sha256=digest)
    assert type(loaded) is type(head) and loaded.bits == BITS
    np.testing.assert_array_equal(loaded.encode(data["x"]), codes)
    with np.load(tmp_path / f"{name}.npz", allow_pickle=False) as z:  # plain arrays only
        assert all(z[k].dtype != object for k in z.files)


@pytest.mark.parametrize("name", sorted(_REGISTRY))
def test_codes_use_every_bit(name, heads, data):
    """A bit that is constant over the data is wasted storage (SparseHash allows rare bits)."""
    codes = heads[name].encode(data["x"])
    assert len(np.unique(pack(codes), axis=0)) > 10
    assert codes.any(axis=0).sum() >= BITS // 2


def test_encode_needs_no_torch_state(heads, data):
    """Inference runs from numpy arrays: the state holds no tensors."""
    for head in heads.values():
        assert all(isinstance(v, np.ndarray) for v in head.state.values())


# --- losses on hand-sized inputs ---------------------------------------------------------------


def test_dsh_loss_by_hand():
    from hashcore.models.methods.dsh import dsh_loss

    b = torch.tensor([[1.0, -1.0], [0.5, 0.5]])
    # ||b1 - b2||^2 = 0.25 + 2.25 = 2.5; regulariser: b1 0, b2 |0.5-1|*2 = 1 -> alpha * 1 = 0.1
    similar = dsh_loss(b, torch.ones(2, 2), margin=4.0, alpha=0.1)
    dissimilar = dsh_loss(b, torch.zeros(2, 2), margin=4.0, alpha=0.1)
    assert similar.item() == pytest.approx(0.5 * 2.5 + 0.1)
    assert dissimilar.item() == pytest.approx(0.5 * (4.0 - 2.5) + 0.1)


def test_triplet_loss_by_hand():
    from hashcore.models.methods.dnnh import triplet_loss

    a = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    p = torch.tensor([[1.0, 0.0], [0.0, 0.5]])
    n = torch.tensor([[0.0, 0.5], [2.0, 0.0]])
    # first: 1 - 0.25 + 1 = 1.75; second: 0.25 - 4 + 1 < 0 -> 0
    assert triplet_loss(a, p, n).item() == pytest.approx((1.75 + 0.0) / 2)


def test_sparsehash_loss_by_hand():
    from hashcore.models.methods.sparsehash import sparsehash_loss

    h1 = torch.tensor([[1.0, 0.0, 0.5], [1.0, 0.0, 0.5]])
    h2 = torch.tensor([[0.0, 0.0, 0.5], [0.0, 0.0, 0.5]])
    s = torch.tensor([1.0, 0.0])
    # L1 = 1. similar: 1 + 0.1*(1.5+0.5) = 1.2; dissimilar: 2*max(0, 3-1) + 0.2 = 4.2
    got = sparsehash_loss(h1, h2, s, lam=2.0, margin=3.0, alpha=0.1)
    assert got.item() == pytest.approx((1.2 + 4.2) / 2)


def test_dqn_cosine_loss_by_hand():
    from hashcore.models.methods.dqn import cosine_pair_loss

    z = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, -1.0]])
    s = torch.tensor([[1.0, 1.0, -1.0], [1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]])
    c = 2 ** -0.5  # cos(z0, z1) = c, cos(z0, z2) = 0, cos(z1, z2) = -c
    expected = ((1 - c) ** 2 + (-1 - 0) ** 2 + (-1 + c) ** 2) / 3
    assert cosine_pair_loss(z, s).item() == pytest.approx(expected, rel=1e-5)


def test_bdnn_losses_by_hand():
    from hashcore.models.methods.bdnn import sh_bdnn_loss, uh_bdnn_loss

    x = torch.tensor([[1.0], [3.0]])
    b = torch.tensor([[1.0], [-1.0]])
    h = torch.tensor([[0.5], [-1.0]])
    # reconstruction: residuals (-2, 2) -> 8 / (2m) = 2; equality: (0.25 + 0) / 4 = 0.0625;
    # independence: ((0.25 + 1)/2 - 1)^2 / 2 = 0.0703125; balance: (-0.5)^2 / 4 = 0.0625
    codes = 0.0625 + 0.0703125 + 0.0625
    got = uh_bdnn_loss(x, h, b, torch.tensor([[1.0]]), torch.tensor([2.0]), 1.0, 1.0, 1.0)
    assert got.item() == pytest.approx(2.0 + codes)
    # SH: H^T H / L - S = [[0.25-1, -0.5+1], [-0.5+1, 1-1]] -> (0.5625 + 0.25 + 0.25) / 4
    s = torch.tensor([[1.0, -1.0], [-1.0, 1.0]])
    assert sh_bdnn_loss(h, b, s, 1.0, 1.0, 1.0).item() == pytest.approx(1.0625 / 4 + codes)


def test_bdnn_discrete_update_is_exact_for_orthogonal_decoder():
    """With orthogonal decoder rows the B-step decouples per bit, so DCC must hit the optimum."""
    from itertools import product

    from hashcore.models.methods.bdnn import dcc_update

    rng = np.random.default_rng(0)
    w = np.linalg.qr(rng.standard_normal((5, 3)))[0].T * 2.0  # (L=3, D=5), orthogonal rows
    x, h, c = rng.standard_normal((6, 5)), rng.standard_normal((6, 3)), rng.standard_normal(5)
    b = dcc_update(x, h, -np.ones((6, 3)), w, c, l2=0.7)

    def cost(bi, i):
        return ((x[i] - bi @ w - c) ** 2).sum() + 0.7 * ((h[i] - bi) ** 2).sum()

    for i in range(6):
        best = min(product((-1.0, 1.0), repeat=3), key=lambda bi: cost(np.array(bi), i))
        np.testing.assert_array_equal(b[i], best)


# --- method-specific behaviour -----------------------------------------------------------------


def test_dqn_lookup_table_distance_equals_brute_force(heads, data):
    from hashcore.models.methods.dqn import bits_to_indices, reconstruct

    head = heads["dqn"]
    codes = head.encode(data["x"][:50])
    recon = reconstruct(bits_to_indices(codes, 4), head.state["codebooks"])
    zq = head.embed(data["xq"][:7])
    brute = ((zq[:, None, :] - recon[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(head.adc_distances(data["xq"][:7], codes), brute, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(head.adc_distances(data["xq"][:7], pack(codes)), brute, rtol=1e-4, atol=1e-5)


def test_dqn_asymmetric_distance_ranks_better_than_hamming(heads, data):
    head, rel = heads["dqn"], relevance(data["yq"], data["y"])
    db = head.encode(data["x"])
    adc = mean_average_precision(head.adc_distances(data["xq"], db), rel)
    assert adc > hamming_map(head, data) + 0.1


def test_sparsehash_codes_are_sparse_and_collide_more(heads, data):
    """The paper's table: fewer unique codes and more radius-0 neighbours than dense codes."""
    sparse = heads["sparsehash"]
    assert sparse.encode(data["x"]).mean() < 0.35 < heads["dsh"].encode(data["x"]).mean()

    def table_row(head):
        codes = head.encode(data["x"])
        dist = hamming_matrix(head.encode(data["xq"]), codes)
        return len(np.unique(pack(codes), axis=0)), (dist == 0).sum(1).mean()

    uniq, r0 = table_row(sparse)
    for dense in ("itq", "sh"):
        d_uniq, d_r0 = table_row(heads[dense])
        assert uniq < d_uniq / 2 and r0 > 2 * d_r0, (dense, uniq, d_uniq, r0, d_r0)


def test_triplets_pair_classmates_against_others():
    from hashcore.models.methods.dnnh import sample_triplets

    y = np.array([0, 0, 1, 1, 2, 0])
    t = sample_triplets(y, 5, np.random.default_rng(0))
    assert len(t) == 5 * 5  # every anchor but the lone class-2 image, five draws each
    assert (y[t[:, 0]] == y[t[:, 1]]).all() and (t[:, 0] != t[:, 1]).all()
    assert (y[t[:, 0]] != y[t[:, 2]]).all()


def test_sparsehash_numpy_path_matches_torch():
    from hashcore.models.methods.sparsehash import build_ista_encoder, export_ista, ista_numpy

    torch.manual_seed(0)
    enc = build_ista_encoder(6, 5, layers=3, beta=2.0)
    with torch.no_grad():
        enc.S.copy_(torch.randn(5, 5) * 0.3)
    x = np.random.default_rng(0).standard_normal((9, 6)).astype(np.float32)
    with torch.no_grad():
        expected = enc(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ista_numpy(x, export_ista(enc, "t_"), "t_"), expected, rtol=1e-5, atol=1e-6)


def test_metric_lsh_uses_square_root_of_metric():
    from hashcore.models.methods.lsh import rca_metric, sqrtm_psd

    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((300, 4)), rng.integers(0, 3, 300)
    a = rca_metric(x, y)
    g = sqrtm_psd(a)
    np.testing.assert_allclose(g @ g, a, rtol=1e-6, atol=1e-9)


def test_metric_lsh_ignores_nuisance_directions():
    """Classes differ along a few dimensions; most variance is class-independent noise. The
    learned metric shrinks the noise, so hashing G x finds classmates that plain LSH misses."""
    rng = np.random.default_rng(2)
    y = rng.integers(0, 5, 1200)
    x = np.zeros((1200, 20))
    x[:, :3] = rng.standard_normal((5, 3))[y] * 2 + 0.3 * rng.standard_normal((1200, 3))
    x[:, 3:] = 5 * rng.standard_normal((1200, 17))
    d = {"xq": x[:200], "yq": y[:200], "x": x[200:], "y": y[200:]}
    plain = _REGISTRY["lsh"](BITS, center=True).fit(d["x"])
    metric = _REGISTRY["lsh-metric"](BITS).fit(d["x"], d["y"])
    assert hamming_map(metric, d) > hamming_map(plain, d) + 0.2


def test_supervised_heads_refuse_missing_labels(data):
    for name, cls in _REGISTRY.items():
        if cls.supervised and name != "lsh-metric":
            with pytest.raises(ValueError):
                cls(BITS).fit(data["x"][:50], None)
