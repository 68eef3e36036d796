"""Iterative quantisation (Gong & Lazebnik 2011): PCA, then a rotation that minimises the
quantisation error to the hypercube vertices. The standard unsupervised baseline."""

from __future__ import annotations

from typing import Any

import numpy as np

from hashcore.models.methods.base import HashHead, register


def pca(x: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and the top `dims` principal directions (D, dims) of x."""
    mean = x.mean(axis=0)
    xc = x - mean
    cov = xc.T @ xc / max(len(x) - 1, 1)
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1][:dims]
    return mean.astype(np.float32), vecs[:, order].astype(np.float32)


def itq_rotation(v: np.ndarray, iters: int, rng: np.random.Generator) -> np.ndarray:
    """Alternate B = sign(VR) and the orthogonal Procrustes solution for R."""
    k = v.shape[1]
    r, _ = np.linalg.qr(rng.standard_normal((k, k)))
    for _ in range(iters):
        b = np.where(v @ r >= 0, 1.0, -1.0)
        u, _, wt = np.linalg.svd(b.T @ v)
        r = (u @ wt).T
    return r.astype(np.float32)


@register
class ITQ(HashHead):
    method = "itq"

    def fit(self, x: np.ndarray, y: np.ndarray | None = None, progress: Any = None) -> ITQ:
        x = np.asarray(x, dtype=np.float64)
        if len(x) < self.bits:
            raise ValueError(f"ITQ needs at least {self.bits} training vectors, got {len(x)}")
        rng = np.random.default_rng(self.params.get("seed", 0))
        mean, w = pca(x, self.bits)
        v = (x - mean) @ w
        r = itq_rotation(v, int(self.params.get("iters", 50)), rng)
        self.state = {"mean": mean, "proj": (w @ r).astype(np.float32)}
        return self

    def encode(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        return (x - self.state["mean"]) @ self.state["proj"] >= 0
