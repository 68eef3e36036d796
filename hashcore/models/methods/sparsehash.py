"""SparseHash (Masci, Bronstein, Bronstein, Sprechmann & Sapiro, ICLR 2014).

Encoder: an ISTA network (Gregor & LeCun's LISTA, as drawn in the paper) followed by a tanh
binariser. With b_in = W x (+ bias) and the non-negative shrinkage s_tau(b) = max(b - tau, 0):

    z_0 = s_tau(b_in);  b_k = b_in + S z_{k-1}  (= b_{k-1} + S (z_{k-1} - z_{k-2}));  z_k = s_tau(b_k)
    h(x) = tanh(beta z_K)     code = h > threshold

Shrinkage gives exact zeros, so codes are sparse: few bits are on, which concentrates similar
images in the same code (many radius-0 neighbours) — the paper's point. Loss on a pair (x, x')
with similarity s in {0, 1}:

    L = s ||h - h'||_1 + lambda (1 - s) max(0, M - ||h - h'||_1) + alpha (||h||_1 + ||h'||_1)

Multimodal SparseHash couples two such encoders ("towers") with intra- and inter-modal pairs.
Everything a second tower needs is here and independent of the image tower: `build_ista_encoder`
(a torch module), `export_ista`/`ista_numpy` (numpy inference from a state dict with a key
prefix, so both towers live in one .npz), and `sparsehash_loss`, which takes explicit pairs of
codes, so cross-modal pairs (image code, text code, s) use the same function.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hashcore.models.methods.base import HashHead, register
from hashcore.models.methods.dsh import standardise, standardiser, torch_setup, train_epochs


def sparsehash_loss(h1: Any, h2: Any, s: Any, lam: float, margin: float, alpha: float) -> Any:
    """Mean SparseHash loss over pairs: h1, h2 (P, bits) codes, s (P,) in {0, 1}."""
    import torch

    d = (h1 - h2).abs().sum(1)
    loss = s * d + lam * (1 - s) * torch.clamp(margin - d, min=0) + alpha * (h1.abs().sum(1) + h2.abs().sum(1))
    return loss.mean()


def build_ista_encoder(in_dim: int, bits: int, layers: int = 3, beta: float = 3.0, tau0: float = 0.5) -> Any:
    """A fresh ISTA-network encoder (torch module): x (N, in_dim) -> h (N, bits) in [0, 1)."""
    import torch
    from torch import nn

    class ISTAEncoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.W = nn.Linear(in_dim, bits)
            self.S = nn.Parameter(torch.zeros(bits, bits))
            self.tau = nn.Parameter(torch.full((bits,), float(tau0)))
            self.layers, self.beta = layers, beta

        def shrink(self, b: torch.Tensor) -> torch.Tensor:
            return torch.relu(b - self.tau.abs())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b_in = self.W(x)
            z = self.shrink(b_in)
            for _ in range(self.layers - 1):
                z = self.shrink(b_in + z @ self.S.T)
            return torch.tanh(self.beta * z)

    return ISTAEncoder()


def export_ista(enc: Any, prefix: str) -> dict[str, np.ndarray]:
    """ISTA encoder parameters as float32 arrays under `prefix` (plus its layer count and beta)."""
    def arr(t: Any) -> np.ndarray:
        return t.detach().cpu().numpy().astype(np.float32).copy()

    return {f"{prefix}W": arr(enc.W.weight).T.copy(), f"{prefix}bias": arr(enc.W.bias), f"{prefix}S": arr(enc.S),
            f"{prefix}tau": np.abs(arr(enc.tau)), f"{prefix}layers": np.array(enc.layers, np.int64),
            f"{prefix}beta": np.array(enc.beta, np.float32)}


def ista_numpy(x: np.ndarray, state: dict[str, np.ndarray], prefix: str) -> np.ndarray:
    """The encoder's forward pass from exported arrays: (N, in_dim) -> h (N, bits)."""
    tau = state[f"{prefix}tau"]
    b_in = x @ state[f"{prefix}W"] + state[f"{prefix}bias"]
    z = np.maximum(b_in - tau, 0)
    for _ in range(int(state[f"{prefix}layers"]) - 1):
        z = np.maximum(b_in + z @ state[f"{prefix}S"].T - tau, 0)
    return np.tanh(state[f"{prefix}beta"] * z)


def batch_pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(n, k=1)


@register
class SparseHash(HashHead):
    method = "sparsehash"
    supervised = True

    def fit(self, x: np.ndarray, y: np.ndarray | None = None, progress: Any = None) -> SparseHash:
        if y is None:
            raise ValueError("SparseHash is trained from similar/dissimilar pairs: pass labels y")
        p = self.params
        seed = int(p.get("seed", 0))
        torch = torch_setup(seed)
        norm = dict(zip(("mean", "std"), standardiser(np.asarray(x, np.float32)), strict=True))
        xt, yt = torch.from_numpy(standardise(x, norm)), torch.from_numpy(np.asarray(y))
        enc = build_ista_encoder(xt.shape[1], self.bits, int(p.get("layers", 3)), float(p.get("beta", 3.0)))
        lam, alpha = float(p.get("lam", 1.0)), float(p.get("alpha", 0.02))
        margin = float(p.get("margin", self.bits / 4))

        def step(idx: np.ndarray) -> Any:
            h = enc(xt[idx])
            i, j = (torch.from_numpy(a) for a in batch_pairs(len(idx)))
            yi = yt[idx]
            return sparsehash_loss(h[i], h[j], (yi[i] == yi[j]).float(), lam, margin, alpha)

        train_epochs(enc, step, np.asarray(y), int(p.get("epochs", 40)), int(p.get("batch", 256)),
                     float(p.get("lr", 1e-3)), seed, progress, self.method,
                     weight_decay=float(p.get("weight_decay", 1e-4)))
        self.state = {**norm, **export_ista(enc, "img_")}
        return self

    def activations(self, x: np.ndarray) -> np.ndarray:
        return ista_numpy(standardise(x, self.state), self.state, "img_")

    def encode(self, x: np.ndarray) -> np.ndarray:
        return self.activations(x) > float(self.params.get("threshold", 0.5))
