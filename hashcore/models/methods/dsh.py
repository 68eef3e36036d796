"""Deep supervised hashing (Liu et al., CVPR 2016): a pairwise loss on real-valued outputs with a
regulariser that pulls every output towards +1 or -1, instead of a saturating sigmoid.

    L(b1, b2, y) = 1/2 (1 - y) ||b1 - b2||^2 + 1/2 y max(m - ||b1 - b2||^2, 0)
                   + alpha (|| |b1| - 1 ||_1 + || |b2| - 1 ||_1),   y = 0 similar, 1 dissimilar

Over fixed backbone features the network is a small MLP. This module also holds the pieces the
other neural heads share (feature standardisation, MLP export to numpy, the training loop), so
each head's `encode` runs from numpy arrays alone and torch is imported only inside `fit`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from hashcore.models.methods.base import HashHead, register

# --- shared helpers --------------------------------------------------------------------------


def standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and (floored) standard deviation, float32."""
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    return mean.astype(np.float32), np.maximum(std, 1e-3 * max(float(std.mean()), 1e-12)).astype(np.float32)


def standardise(x: np.ndarray, state: dict[str, np.ndarray]) -> np.ndarray:
    return (np.asarray(x, dtype=np.float32) - state["mean"]) / state["std"]


def mlp_numpy(x: np.ndarray, state: dict[str, np.ndarray], prefix: str, hidden_act: str = "relu") -> np.ndarray:
    """Run layers `{prefix}w0, {prefix}b0, ...` (weights stored (in, out)); last layer is linear."""
    n = sum(1 for k in state if k.startswith(f"{prefix}w"))
    for i in range(n):
        x = x @ state[f"{prefix}w{i}"] + state[f"{prefix}b{i}"]
        if i < n - 1:
            x = np.maximum(x, 0) if hidden_act == "relu" else np.tanh(x)
    return x


def build_mlp(dims: list[int], hidden_act: str = "relu") -> Any:
    """torch Sequential of Linear layers with `hidden_act` between them (none after the last)."""
    from torch import nn

    layers: list[Any] = []
    for i in range(len(dims) - 1):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(nn.ReLU() if hidden_act == "relu" else nn.Tanh())
    return nn.Sequential(*layers)


def export_mlp(seq: Any, prefix: str) -> dict[str, np.ndarray]:
    """Linear layers of a torch Sequential -> {prefix}w{i} (in, out), {prefix}b{i} float32 arrays."""
    from torch import nn

    out: dict[str, np.ndarray] = {}
    linears = [m for m in seq.modules() if isinstance(m, nn.Linear)]
    for i, lin in enumerate(linears):
        out[f"{prefix}w{i}"] = lin.weight.detach().cpu().numpy().T.astype(np.float32).copy()
        out[f"{prefix}b{i}"] = lin.bias.detach().cpu().numpy().astype(np.float32).copy()
    return out


def class_batches(y: np.ndarray, batch: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Shuffled minibatch indices for one epoch."""
    order = rng.permutation(len(y))
    for i in range(0, len(order) - 1, batch):
        idx = order[i:i + batch]
        if len(idx) >= 2:
            yield idx


def pair_similarity(y: Any) -> Any:
    """Torch (B, B) float matrix, 1 where labels match (single- or multi-label one-hot rows)."""
    if y.dim() == 1:
        return (y[:, None] == y[None, :]).float()
    return ((y.float() @ y.float().T) > 0).float()


def train_epochs(model: Any, step: Callable[[np.ndarray], Any], y: np.ndarray, epochs: int, batch: int,
                 lr: float, seed: int, progress: Any = None, name: str = "", weight_decay: float = 0.0,
                 after_epoch: Callable[[int], None] | None = None) -> list[float]:
    """Adam over shuffled minibatches; `step(idx)` returns the loss tensor. Returns epoch losses."""
    import torch

    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    rng = np.random.default_rng(seed)
    history = []
    for epoch in range(epochs):
        total, count = 0.0, 0
        for idx in class_batches(y, batch, rng):
            loss = step(idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, count = total + float(loss.detach()), count + 1
        history.append(total / max(count, 1))
        if after_epoch is not None:
            after_epoch(epoch)
        if progress is not None:
            progress(epoch + 1, epochs, name)
    return history


def torch_setup(seed: int) -> Any:
    import torch

    torch.manual_seed(seed)
    return torch


# --- DSH -------------------------------------------------------------------------------------


def dsh_loss(b: Any, sim: Any, margin: float, alpha: float) -> Any:
    """Mean DSH loss over all pairs i < j of a batch of outputs b (B, bits); sim 1 = similar."""
    import torch

    d2 = torch.cdist(b, b).pow(2)
    iu = torch.triu_indices(len(b), len(b), offset=1)
    d, s = d2[iu[0], iu[1]], sim[iu[0], iu[1]]
    pair = 0.5 * s * d + 0.5 * (1 - s) * torch.clamp(margin - d, min=0)
    reg = (b.abs() - 1).abs().sum(dim=1)
    return (pair + alpha * (reg[iu[0]] + reg[iu[1]])).mean()


@register
class DSH(HashHead):
    """MLP (features -> hidden -> bits) trained with the DSH pairwise loss; code = output >= 0."""

    method = "dsh"
    supervised = True

    def fit(self, x: np.ndarray, y: np.ndarray | None = None, progress: Any = None) -> DSH:
        if y is None:
            raise ValueError("DSH is supervised: pass labels y")
        p = self.params
        torch = torch_setup(int(p.get("seed", 0)))
        norm = dict(zip(("mean", "std"), standardiser(np.asarray(x, np.float32)), strict=True))
        xt = torch.from_numpy(standardise(x, norm))
        yt = torch.from_numpy(np.asarray(y))
        net = build_mlp([xt.shape[1], int(p.get("hidden", 512)), self.bits])
        margin, alpha = float(p.get("margin", 2 * self.bits)), float(p.get("alpha", 0.01))

        def step(idx: np.ndarray) -> Any:
            return dsh_loss(net(xt[idx]), pair_similarity(yt[idx]), margin, alpha)

        train_epochs(net, step, np.asarray(y), int(p.get("epochs", 40)), int(p.get("batch", 256)),
                     float(p.get("lr", 1e-3)), int(p.get("seed", 0)), progress, self.method,
                     weight_decay=float(p.get("weight_decay", 1e-4)))
        self.state = {**norm, **export_mlp(net, "net_")}
        return self

    def encode(self, x: np.ndarray) -> np.ndarray:
        return mlp_numpy(standardise(x, self.state), self.state, "net_") >= 0
