"""DNNH (Lai et al., CVPR 2015): triplet ranking loss and the divide-and-encode module.

    l(F(I), F(I+), F(I-)) = max(0, ||F(I) - F(I+)||^2 - ||F(I) - F(I-)||^2 + 1),  F in [0, 1]^q

Over fixed backbone features a shared hidden layer stands in for the paper's CNN. The
divide-and-encode module splits that layer into q equal slices and maps each slice to exactly
one bit (sigmoid), so bits see disjoint evidence; the fully-connected encoder ("dnnh-fc") maps
the whole layer to every bit, for the paper's comparison. Code = sigmoid output > 0.5.
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


def triplet_loss(a: Any, p: Any, n: Any, margin: float = 1.0) -> Any:
    """Mean over triplets of max(0, ||a - p||^2 - ||a - n||^2 + margin)."""
    import torch

    return torch.clamp((a - p).pow(2).sum(1) - (a - n).pow(2).sum(1) + margin, min=0).mean()


def sample_triplets(y: np.ndarray, per_anchor: int, rng: np.random.Generator) -> np.ndarray:
    """(T, 3) positions (anchor, positive, negative) inside one batch with labels y: for every
    anchor with a classmate in the batch, `per_anchor` random (positive, negative) draws."""
    n = len(y)
    same = (y[:, None] == y[None, :]) & ~np.eye(n, dtype=bool)
    diff = y[:, None] != y[None, :]
    ok = same.any(1) & diff.any(1)
    scores = rng.random((per_anchor, n, n))
    pos = np.argmax(np.where(same, scores, -1.0), axis=2)
    neg = np.argmax(np.where(diff, scores, -1.0), axis=2)
    anchor = np.broadcast_to(np.arange(n), pos.shape)
    t = np.stack([anchor, pos, neg], axis=-1).reshape(-1, 3)
    return t[np.tile(ok, per_anchor)]


def divide_encode_numpy(hidden: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Slice j of the hidden layer (width w.shape[1]) -> logit of bit j: (N, q)."""
    n, q, s = len(hidden), w.shape[0], w.shape[1]
    return np.einsum("nqs,qs->nq", hidden.reshape(n, q, s), w) + b


def _build_divide_encode(in_dim: int, bits: int, slice_width: int) -> Any:
    import torch
    from torch import nn

    class DivideEncode(nn.Module):
        """Shared hidden layer, then one independent linear unit per slice."""

        def __init__(self) -> None:
            super().__init__()
            self.trunk = nn.Sequential(nn.Linear(in_dim, bits * slice_width), nn.ReLU())
            self.w = nn.Parameter(torch.randn(bits, slice_width) / slice_width ** 0.5)
            self.b = nn.Parameter(torch.zeros(bits))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.trunk(x).view(len(x), bits, slice_width)
            return (h * self.w).sum(-1) + self.b

    return DivideEncode()


@register
class DNNH(HashHead):
    method = "dnnh"
    supervised = True
    divide_and_encode = True

    def _net(self, in_dim: int) -> Any:
        hidden = int(self.params.get("hidden", 512))
        if self.divide_and_encode:
            return _build_divide_encode(in_dim, self.bits, max(1, round(hidden / self.bits)))
        return build_mlp([in_dim, hidden, self.bits])

    def fit(self, x: np.ndarray, y: np.ndarray | None = None, progress: Any = None) -> DNNH:
        if y is None:
            raise ValueError("DNNH is supervised: pass labels y")
        p = self.params
        seed = int(p.get("seed", 0))
        torch = torch_setup(seed)
        norm = dict(zip(("mean", "std"), standardiser(np.asarray(x, np.float32)), strict=True))
        xt = torch.from_numpy(standardise(x, norm))
        y = np.asarray(y)
        net = self._net(xt.shape[1])
        rng = np.random.default_rng(seed + 1)
        per_anchor, margin = int(p.get("triplets_per_anchor", 4)), float(p.get("margin", 1.0))

        def step(idx: np.ndarray) -> Any:
            t = torch.from_numpy(sample_triplets(y[idx], per_anchor, rng))
            f = torch.sigmoid(net(xt[idx]))
            return triplet_loss(f[t[:, 0]], f[t[:, 1]], f[t[:, 2]], margin)

        train_epochs(net, step, y, int(p.get("epochs", 40)), int(p.get("batch", 256)),
                     float(p.get("lr", 1e-3)), seed, progress, self.method,
                     weight_decay=float(p.get("weight_decay", 1e-4)))
        self.state = {**norm, **self._export(net)}
        return self

    def _export(self, net: Any) -> dict[str, np.ndarray]:
        if not self.divide_and_encode:
            return export_mlp(net, "net_")
        state = export_mlp(net.trunk, "trunk_")
        state["de_w"] = net.w.detach().numpy().astype(np.float32).copy()
        state["de_b"] = net.b.detach().numpy().astype(np.float32).copy()
        return state

    def logits(self, x: np.ndarray) -> np.ndarray:
        z = standardise(x, self.state)
        if "de_w" not in self.state:
            return mlp_numpy(z, self.state, "net_")
        hidden = np.maximum(z @ self.state["trunk_w0"] + self.state["trunk_b0"], 0)
        return divide_encode_numpy(hidden, self.state["de_w"], self.state["de_b"])

    def encode(self, x: np.ndarray) -> np.ndarray:
        return self.logits(x) > 0  # sigmoid(logit) > 0.5


@register
class DNNHFullyConnected(DNNH):
    """DNNH's triplet loss with a fully-connected encoder, the paper's ablation of divide-and-encode."""

    method = "dnnh-fc"
    divide_and_encode = False
