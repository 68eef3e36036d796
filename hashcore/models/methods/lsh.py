"""Locality-sensitive hashing with random hyperplanes (Charikar 2002), and LSH for a learned
metric (Jain, Kulis & Grauman 2008): hash G x with random hyperplanes where A = G^T G.

Plain LSH thresholds r^T x at zero, like the lecture's definition and faiss.IndexLSH (whose
default also projects through the origin), so the two can be compared directly. The learned
metric here is RCA (Bar-Hillel et al. 2005): A = inverse within-class covariance, which shrinks
the directions along which images of the same class vary; G = A^(1/2).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hashcore.models.methods.base import HashHead, register
from hashcore.models.methods.itq import pca


def random_hyperplanes(dim: int, bits: int, seed: int, orthogonal: bool = True) -> np.ndarray:
    """(dim, bits) Gaussian directions, orthonormalised when bits <= dim (as faiss does)."""
    rng = np.random.default_rng(seed)
    r = rng.standard_normal((dim, bits))
    if orthogonal and bits <= dim:
        r, _ = np.linalg.qr(r)
    return r.astype(np.float32)


@register
class LSH(HashHead):
    """h(x) = [r^T (x - c) >= 0]; c = 0 by default (through the origin), or the data mean."""

    method = "lsh"

    def fit(self, x: np.ndarray, y: np.ndarray | None = None, progress: Any = None) -> LSH:
        x = np.asarray(x, dtype=np.float32)
        centre = x.mean(axis=0) if self.params.get("center", False) else np.zeros(x.shape[1], np.float32)
        self.state = {"mean": centre.astype(np.float32),
                      "proj": random_hyperplanes(x.shape[1], self.bits, int(self.params.get("seed", 0)))}
        return self

    def encode(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        return (x - self.state["mean"]) @ self.state["proj"] >= 0


def sqrtm_psd(a: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix."""
    vals, vecs = np.linalg.eigh((a + a.T) / 2)
    return (vecs * np.sqrt(np.maximum(vals, floor))) @ vecs.T


def rca_metric(x: np.ndarray, y: np.ndarray, shrink: float = 0.1) -> np.ndarray:
    """A = (within-class covariance, shrunk towards its own diagonal)^-1.

    Shrinking towards the diagonal (not a scaled identity) keeps each direction's own scale, so
    directions whose within-class spread is tiny stay strongly weighted."""
    xc = x - np.stack([x[y == c].mean(axis=0) for c in np.unique(y)])[np.searchsorted(np.unique(y), y)]
    cw = xc.T @ xc / max(len(x) - 1, 1)
    cw = (1 - shrink) * cw + shrink * np.diag(np.diag(cw)) + 1e-9 * np.trace(cw) * np.eye(len(cw))
    return np.linalg.inv(cw)


@register
class MetricLSH(HashHead):
    """LSH on the embedding G x of a learned Mahalanobis metric A = G^T G (G = A^(1/2)).

    The metric lives in the top `pca_dims` principal directions (a full 1280-d within-class
    covariance from a few thousand images is dominated by noise directions). Hashing
    r^T G P^T (x - mean) costs one (D, bits) product: P G^T r is folded into one matrix at fit time. Without labels A falls back to the inverse total covariance
    (whitening), which is the unsupervised analogue.
    """

    method = "lsh-metric"
    supervised = True

    def fit(self, x: np.ndarray, y: np.ndarray | None = None, progress: Any = None) -> MetricLSH:
        x = np.asarray(x, dtype=np.float64)
        mean, pcs = pca(x, min(int(self.params.get("pca_dims", 32)), x.shape[1]))
        v = (x - mean) @ pcs  # the metric is learned where the data has variance
        labels = np.zeros(len(x), np.int64) if y is None else np.asarray(y)
        g = sqrtm_psd(rca_metric(v, labels, float(self.params.get("shrink", 0.1))))
        r = random_hyperplanes(v.shape[1], self.bits, int(self.params.get("seed", 0))).astype(np.float64)
        self.state = {"mean": mean.astype(np.float32), "proj": (pcs @ g.T @ r).astype(np.float32)}
        return self

    def encode(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        return (x - self.state["mean"]) @ self.state["proj"] >= 0
