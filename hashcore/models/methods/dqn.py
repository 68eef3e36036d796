"""Deep quantization network (Cao et al., AAAI 2016).

A network maps features to z (M subspaces of width d). Training minimises the pairwise cosine
loss L = sum_ij (s_ij - cos(z_i, z_j))^2, s in {-1, +1}, plus lambda times the product
quantisation loss Q = sum_i ||z_i - C h_i||^2 with a block-diagonal codebook
C = diag(C_1..C_M) (K codewords per subspace, h_i one-hot per block). Codebooks and assignments
are refitted by k-means after every epoch; the network sees Q through the fixed assignments.

The code of an image is its M codeword indices, log2(K) bits each (bits = M log2 K), so it fits
the same bit store as every other head. Search uses the asymmetric quantiser distance,
AQD(q, i) = sum_m ||z_qm - C_m h_im||^2, computed from a per-query M x K look-up table.
Deviation from the paper: z is L2-normalised before quantisation, because Q alone would
otherwise shrink z towards zero while the scale-free cosine loss does not object.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hashcore.models.methods.base import HashHead, register
from hashcore.models.methods.dsh import (
    build_mlp,
    export_mlp,
    mlp_numpy,
    standardise,
    standardiser,
    torch_setup,
    train_epochs,
)
from hashcore.search.bits import unpack


def cosine_pair_loss(z: Any, s: Any) -> Any:
    """Mean over pairs i < j of (s_ij - cos(z_i, z_j))^2."""
    import torch

    zn = torch.nn.functional.normalize(z, dim=1)
    c = zn @ zn.T
    iu = torch.triu_indices(len(z), len(z), offset=1)
    return (s[iu[0], iu[1]] - c[iu[0], iu[1]]).pow(2).mean()


def kmeans(x: np.ndarray, k: int, iters: int, rng: np.random.Generator, init: np.ndarray | None = None) -> np.ndarray:
    """Lloyd's k-means (k-means++-free: random distinct points); empty clusters are re-seeded."""
    c = x[rng.choice(len(x), k, replace=len(x) < k)].copy() if init is None else init.copy()
    for _ in range(iters):
        a = nearest(x, c)
        for j in range(k):
            members = x[a == j]
            c[j] = members.mean(0) if len(members) else x[rng.integers(len(x))]
    return c.astype(np.float32)


def nearest(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    d = (x * x).sum(1)[:, None] - 2 * x @ c.T + (c * c).sum(1)[None, :]
    return np.argmin(d, axis=1)


def quantise(z: np.ndarray, codebooks: np.ndarray) -> np.ndarray:
    """z (N, M*d) -> codeword indices (N, M) against codebooks (M, K, d)."""
    m, _, d = codebooks.shape
    return np.stack([nearest(z[:, j * d:(j + 1) * d], codebooks[j]) for j in range(m)], axis=1)


def indices_to_bits(idx: np.ndarray, bits_per: int) -> np.ndarray:
    """(N, M) indices -> (N, M*bits_per) bool, little-endian within each index."""
    shifts = np.arange(bits_per)
    return ((idx[:, :, None] >> shifts) & 1).reshape(len(idx), -1).astype(bool)


def bits_to_indices(codes: np.ndarray, bits_per: int) -> np.ndarray:
    b = np.asarray(codes, dtype=np.int64).reshape(len(codes), -1, bits_per)
    return (b << np.arange(bits_per)).sum(-1)


def lookup_tables(zq: np.ndarray, codebooks: np.ndarray) -> np.ndarray:
    """Per-query tables (Q, M, K): squared distance from each query sub-vector to each codeword."""
    m, _, d = codebooks.shape
    q = zq.reshape(len(zq), m, d)
    return ((q * q).sum(-1)[:, :, None] - 2 * np.einsum("qmd,mkd->qmk", q, codebooks)
            + (codebooks * codebooks).sum(-1)[None])


def reconstruct(idx: np.ndarray, codebooks: np.ndarray) -> np.ndarray:
    """Indices (N, M) -> the quantised vectors C h (N, M*d)."""
    return np.concatenate([codebooks[j][idx[:, j]] for j in range(codebooks.shape[0])], axis=1)


@register
class DQN(HashHead):
    method = "dqn"
    supervised = True

    def _layout(self) -> tuple[int, int]:
        """(M subspaces, bits per subspace); K = 2**bits_per."""
        bits_per = int(self.params.get("bits_per_subspace", 8))
        if self.bits % bits_per:
            raise ValueError(f"DQN: {self.bits} bits is not a multiple of {bits_per} bits per subspace")
        return self.bits // bits_per, bits_per

    def fit(self, x: np.ndarray, y: np.ndarray | None = None, progress: Any = None) -> DQN:
        if y is None:
            raise ValueError("DQN is supervised: pass labels y")
        p = self.params
        seed = int(p.get("seed", 0))
        torch = torch_setup(seed)
        rng = np.random.default_rng(seed)
        m, bits_per = self._layout()
        k, d = 2 ** bits_per, int(p.get("subspace_dim", 16))
        norm = dict(zip(("mean", "std"), standardiser(np.asarray(x, np.float32)), strict=True))
        xt, yt = torch.from_numpy(standardise(x, norm)), torch.from_numpy(np.asarray(y))
        net = build_mlp([xt.shape[1], int(p.get("hidden", 512)), m * d], hidden_act="tanh")
        lam, warmup = float(p.get("lam", 1.0)), int(p.get("warmup", 5))
        books = {"c": None, "target": torch.zeros(len(xt), m * d)}

        def embed(xb: Any) -> Any:
            return torch.nn.functional.normalize(net(xb), dim=1)

        def step(idx: np.ndarray) -> Any:
            yi = yt[idx]
            z = embed(xt[idx])
            loss = cosine_pair_loss(z, 2.0 * (yi[:, None] == yi[None, :]).float() - 1.0)
            if books["c"] is not None:
                loss = loss + lam * (z - books["target"][idx]).pow(2).sum(1).mean()
            return loss

        def refit(epoch: int) -> None:
            if epoch + 1 < warmup:
                return
            with torch.no_grad():
                z = embed(xt).numpy()
            old = books["c"]
            books["c"] = np.stack([kmeans(z[:, j * d:(j + 1) * d], k, int(p.get("kmeans_iters", 8)), rng,
                                          None if old is None else old[j]) for j in range(m)])
            books["target"] = torch.from_numpy(reconstruct(quantise(z, books["c"]), books["c"]))

        train_epochs(net, step, np.asarray(y), int(p.get("epochs", 30)), int(p.get("batch", 256)),
                     float(p.get("lr", 1e-3)), seed, progress, self.method,
                     weight_decay=float(p.get("weight_decay", 1e-4)), after_epoch=refit)
        if books["c"] is None:
            refit(warmup)
        self.state = {**norm, **export_mlp(net, "net_"), "codebooks": books["c"].astype(np.float32)}
        return self

    def embed(self, x: np.ndarray) -> np.ndarray:
        """Features -> the normalised deep representation z (N, M*d) that gets quantised."""
        z = mlp_numpy(standardise(x, self.state), self.state, "net_", hidden_act="tanh")
        return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)

    def encode(self, x: np.ndarray) -> np.ndarray:
        _, bits_per = self._layout()
        return indices_to_bits(quantise(self.embed(x), self.state["codebooks"]), bits_per)

    def _indices(self, db_codes: np.ndarray) -> np.ndarray:
        codes = np.asarray(db_codes)
        if codes.dtype == np.uint64:
            codes = unpack(codes, self.bits)
        return bits_to_indices(codes, self._layout()[1])

    def adc_distances(self, query_features: np.ndarray, db_codes: np.ndarray) -> np.ndarray:
        """Asymmetric quantiser distance (Q, N) from raw query features to encoded database items.

        db_codes: (N, bits) bool from `encode`, or (N, words) uint64 packed by hashcore.search.bits.
        """
        return self.adc_from_vectors(self.embed(np.atleast_2d(query_features)), db_codes)

    def sqd_distances(self, query_codes: np.ndarray, db_codes: np.ndarray) -> np.ndarray:
        """Symmetric quantiser distance: both sides replaced by their codewords."""
        books = self.state["codebooks"]
        return self.adc_from_vectors(reconstruct(self._indices(query_codes), books), db_codes)

    def adc_from_vectors(self, zq: np.ndarray, db_codes: np.ndarray) -> np.ndarray:
        """Sum over subspaces of look-up-table entries: M gathers and adds per database item."""
        tables = lookup_tables(np.atleast_2d(zq).astype(np.float32), self.state["codebooks"])
        idx = self._indices(db_codes)
        out = np.zeros((len(tables), len(idx)), np.float32)
        for j in range(idx.shape[1]):
            out += tables[:, j, idx[:, j]]
        return out
