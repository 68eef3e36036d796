"""Binary deep neural networks for hashing (Do, Doan & Cheung, ECCV 2016).

UH-BDNN (unsupervised), with H the code layer (L x m, one column per image) and B in {-1,1}^(L x m):

    J = 1/(2m) ||X - W B - c 1^T||^2 + l1/2 sum ||W_l||^2 + l2/(2m) ||H - B||^2
        + l3/2 ||H H^T / m - I||^2 + l4/(2m) ||H 1||^2
        (reconstruction, regularisation, equality, independence, balance)

optimised alternately: with B fixed the decoder (W, c) is a ridge regression of X on B (closed
form) and the encoder takes Adam steps on the equality/independence/balance terms; with the
network fixed B is updated by discrete cyclic coordinate descent, one bit (row) at a time.

SH-BDNN (supervised) drops the decoder and fits 1/(2m) ||H^T H / L - S||^2 with the pairwise label
matrix S (+1 same class, -1 otherwise) plus the same equality/independence/balance terms; with
the network fixed the best B is sign(H).

Adam on minibatches replaces the paper's L-BFGS on the whole set (it parallelises no better on 2
cores and minibatches keep memory flat); B is initialised from ITQ codes.
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
from hashcore.models.methods.itq import ITQ


def code_terms(h: Any, b: Any, l2: float, l3: float, l4: float) -> Any:
    """Equality + independence + balance terms for codes h (m, L) (rows = images) and targets b."""
    import torch

    m, bits = h.shape
    equality = l2 / (2 * m) * (h - b).pow(2).sum()
    independence = l3 / 2 * (h.T @ h / m - torch.eye(bits, dtype=h.dtype)).pow(2).sum()
    balance = l4 / (2 * m) * h.sum(0).pow(2).sum()
    return equality + independence + balance


def uh_bdnn_loss(x: Any, h: Any, b: Any, dec_w: Any, dec_c: Any, l2: float, l3: float, l4: float) -> Any:
    """The UH-BDNN objective without the weight-decay term; x (m, D), h and b (m, L), dec_w (L, D)."""
    m = x.shape[0]
    recon = (x - b @ dec_w - dec_c).pow(2).sum() / (2 * m)
    return recon + code_terms(h, b, l2, l3, l4)


def sh_bdnn_loss(h: Any, b: Any, s: Any, l2: float, l3: float, l4: float) -> Any:
    """The SH-BDNN objective without the weight-decay term; s (m, m) in {-1, +1}."""
    m, bits = h.shape
    fit = (h @ h.T / bits - s).pow(2).sum() / (2 * m)
    return fit + code_terms(h, b, l2, l3, l4)


def fit_decoder(x: np.ndarray, b: np.ndarray, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form (W, c) minimising ||X - B W - c||^2 + ridge ||W||^2; x (m, D), b (m, L)."""
    mean_b, mean_x = b.mean(0), x.mean(0)
    bc = b - mean_b
    w = np.linalg.solve(bc.T @ bc + ridge * np.eye(b.shape[1]), bc.T @ (x - mean_x))
    return w, mean_x - mean_b @ w


def dcc_update(x: np.ndarray, h: np.ndarray, b: np.ndarray, dec_w: np.ndarray, dec_c: np.ndarray,
               l2: float, sweeps: int = 2) -> np.ndarray:
    """Discrete cyclic coordinate descent on B for ||X - B W - c||^2 + l2 ||H - B||^2.

    With Q = (X - c) W^T + l2 H and P = W W^T, the optimal bit k given the others is
    sign(Q[:, k] - sum_{j != k} B[:, j] P[j, k]).
    """
    q = (x - dec_c) @ dec_w.T + l2 * h
    p = dec_w @ dec_w.T
    b = b.copy()
    for _ in range(sweeps):
        for k in range(b.shape[1]):
            rest = b @ p[:, k] - b[:, k] * p[k, k]
            b[:, k] = np.where(q[:, k] - rest >= 0, 1.0, -1.0)
    return b


class _BDNNBase(HashHead):
    def _prepare(self, x: np.ndarray) -> tuple[Any, dict[str, np.ndarray], np.ndarray, Any]:
        p = self.params
        torch = torch_setup(int(p.get("seed", 0)))
        x = np.asarray(x, np.float32)
        norm = dict(zip(("mean", "std"), standardiser(x), strict=True))
        xs = standardise(x, norm)
        net = build_mlp([x.shape[1], int(p.get("hidden", 512)), self.bits], hidden_act="tanh")
        return torch, norm, xs, net

    def _lambdas(self) -> tuple[float, float, float]:
        p = self.params
        return float(p.get("l2", 1.0)), float(p.get("l3", 0.1)), float(p.get("l4", 0.1))

    def encode(self, x: np.ndarray) -> np.ndarray:
        return mlp_numpy(standardise(x, self.state), self.state, "net_", hidden_act="tanh") >= 0


@register
class UHBDNN(_BDNNBase):
    method = "uh-bdnn"

    def fit(self, x: np.ndarray, y: np.ndarray | None = None, progress: Any = None) -> UHBDNN:
        p = self.params
        seed = int(p.get("seed", 0))
        rng = np.random.default_rng(seed)
        x = np.asarray(x, np.float32)
        limit = int(p.get("max_train", 20000))
        if len(x) > limit:
            x = x[np.sort(rng.choice(len(x), limit, replace=False))]
        torch, norm, xs, net = self._prepare(x)
        l2, l3, l4 = self._lambdas()
        b = np.where(ITQ(self.bits, seed=seed).fit(xs).encode(xs), 1.0, -1.0).astype(np.float32)
        xt = torch.from_numpy(xs)
        outer = int(p.get("outer", 8))
        bt = torch.from_numpy(b)

        def step(idx: np.ndarray) -> Any:
            return code_terms(net(xt[idx]), bt[idx], l2, l3, l4)

        for it in range(outer):
            dec_w, dec_c = fit_decoder(xs, b, ridge=float(p.get("l1", 1e-3)) * len(xs))
            train_epochs(net, step, np.zeros(len(xs)), int(p.get("epochs", 3)), int(p.get("batch", 512)),
                         float(p.get("lr", 1e-3)), seed + it, None, weight_decay=float(p.get("l1", 1e-3)))
            with torch.no_grad():
                h = net(xt).numpy()
            b = dcc_update(xs, h, b, dec_w, dec_c, l2).astype(np.float32)
            bt.copy_(torch.from_numpy(b))
            if progress is not None:
                progress(it + 1, outer, self.method)
        self.state = {**norm, **export_mlp(net, "net_")}
        return self


@register
class SHBDNN(_BDNNBase):
    method = "sh-bdnn"
    supervised = True

    def fit(self, x: np.ndarray, y: np.ndarray | None = None, progress: Any = None) -> SHBDNN:
        if y is None:
            raise ValueError("SH-BDNN is supervised: pass labels y")
        p = self.params
        seed = int(p.get("seed", 0))
        torch, norm, xs, net = self._prepare(x)
        l2, l3, l4 = self._lambdas()
        xt, yt = torch.from_numpy(xs), torch.from_numpy(np.asarray(y))
        b = torch.from_numpy(np.where(ITQ(self.bits, seed=seed).fit(xs).encode(xs), 1.0, -1.0).astype(np.float32))
        outer = int(p.get("outer", 5))

        def step(idx: np.ndarray) -> Any:
            yi = yt[idx]
            s = 2.0 * (yi[:, None] == yi[None, :]).float() - 1.0
            return sh_bdnn_loss(net(xt[idx]), b[idx], s, l2, l3, l4)

        for it in range(outer):
            train_epochs(net, step, np.asarray(y), int(p.get("epochs", 8)), int(p.get("batch", 256)),
                         float(p.get("lr", 1e-3)), seed + it, None, weight_decay=float(p.get("l1", 1e-4)))
            with torch.no_grad():
                b.copy_(torch.where(net(xt) >= 0, 1.0, -1.0))
            if progress is not None:
                progress(it + 1, outer, self.method)
        self.state = {**norm, **export_mlp(net, "net_")}
        return self
