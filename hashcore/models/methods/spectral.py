"""Spectral hashing (Weiss, Torralba & Fergus 2008).

PCA, then each bit is an analytical eigenfunction of the 1-D Laplacian on the range of one
principal direction, sin(pi/2 + k pi (x - a) / (b - a)); the bits taken are the (direction, mode)
pairs with the smallest eigenvalues, i.e. the lowest spatial frequencies relative to the range.
Follows the reference `trainSH`/`compressSH` code, including its choice to skip mode 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hashcore.models.methods.base import HashHead, register
from hashcore.models.methods.itq import pca


def select_modes(ranges: np.ndarray, bits: int) -> np.ndarray:
    """(bits, dims) integer frequencies: one non-zero entry per row, lowest omega first."""
    dims = len(ranges)
    max_mode = np.ceil((bits + 1) * ranges / ranges.max()).astype(int)
    rows = [np.zeros(dims, int)]
    for i in range(dims):
        for k in range(1, max_mode[i]):
            row = np.zeros(dims, int)
            row[i] = k
            rows.append(row)
    modes = np.array(rows)
    omega2 = ((modes * (np.pi / ranges)) ** 2).sum(axis=1)
    order = np.argsort(omega2, kind="stable")
    return modes[order[1:bits + 1]]


@register
class SpectralHashing(HashHead):
    method = "sh"

    def fit(self, x: np.ndarray, y: np.ndarray | None = None, progress: Any = None) -> SpectralHashing:
        x = np.asarray(x, dtype=np.float64)
        dims = min(self.bits, x.shape[1])
        mean, pc = pca(x, dims)
        v = (x - mean) @ pc
        lo, hi = v.min(axis=0) - 1e-6, v.max(axis=0) + 1e-6
        modes = select_modes(hi - lo, self.bits)
        self.state = {"mean": mean, "pc": pc, "low": lo.astype(np.float32),
                      "omega": (modes * (np.pi / (hi - lo))).astype(np.float32)}
        return self

    def encode(self, x: np.ndarray) -> np.ndarray:
        v = (np.asarray(x, dtype=np.float32) - self.state["mean"]) @ self.state["pc"] - self.state["low"]
        omega = self.state["omega"]  # (bits, dims), one non-zero per row
        axis = np.argmax(omega != 0, axis=1)
        w = omega[np.arange(len(omega)), axis]
        return np.sin(np.pi / 2 + v[:, axis] * w) > 0
