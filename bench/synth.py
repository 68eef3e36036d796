"""Synthetic binary codes clustered like a real photo library (see bench/README.md).

Three levels, because that is how a deep hash spreads a real collection over Hamming space:
topics (beach, cats, documents ...) are random codes; scenes (one afternoon at one beach) sit a
few bits away from their topic; photos (a burst, an edit, a re-save) sit 0-3 bits (64-bit codes)
from their scene. Scene sizes are heavy-tailed (most scenes hold 1-3 photos, a few hold
dozens), so there are many exact and near duplicates, but most of the library is far apart.
Everything is vectorised and seeded, so 10M codes take seconds and every run is the same.
"""

from __future__ import annotations

import numpy as np


def _flip(codes: np.ndarray, bits: int, n_flips: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flip n_flips[i] distinct-ish random bits of row i (a repeated position flips once)."""
    out = codes.copy()
    rows = np.arange(len(codes))
    mask = np.zeros_like(codes)
    for j in range(int(n_flips.max(initial=0))):
        pos = rng.integers(0, bits, len(codes))
        live = n_flips > j
        word, bit = pos // 64, (pos % 64).astype(np.uint64)
        mask[rows[live], word[live]] |= np.left_shift(np.uint64(1), bit[live])
    np.bitwise_xor(out, mask, out=out)
    return out


def random_codes(n: int, bits: int, rng: np.random.Generator) -> np.ndarray:
    words = (bits + 63) // 64
    c = rng.integers(0, np.iinfo(np.uint64).max, (n, words), dtype=np.uint64, endpoint=True)
    if bits % 64:
        c[:, -1] &= np.uint64((1 << (bits % 64)) - 1)
    return c


def library_codes(n: int, bits: int = 64, seed: int = 0) -> np.ndarray:
    """(n, bits/64) uint64 codes: topics -> scenes -> photos, rows shuffled."""
    rng = np.random.default_rng(seed)
    scale = bits / 64
    topics = random_codes(max(n // 5000, 16), bits, rng)
    # heavy-tailed scene sizes (Zipf 2.2, at most 60): a quarter of photos alone, mean 2.5
    sizes = np.minimum(rng.zipf(2.2, size=n), 60)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), n) + 1]
    sizes[-1] -= sizes.sum() - n
    scenes = _flip(topics[rng.integers(0, len(topics), len(sizes))], bits,
                   rng.integers(int(6 * scale), int(14 * scale) + 1, len(sizes)), rng)
    photos = np.repeat(scenes, sizes, axis=0)
    photos = _flip(photos, bits, rng.integers(0, int(3 * scale) + 1, n), rng)
    return np.ascontiguousarray(photos[rng.permutation(n)])


def queries(codes: np.ndarray, nq: int, bits: int, seed: int = 1) -> np.ndarray:
    """Query codes drawn like real queries: a library photo with 0-2 (per 64 bits) bits changed."""
    rng = np.random.default_rng(seed)
    picks = codes[rng.integers(0, len(codes), nq)]
    return _flip(picks, bits, rng.integers(0, int(2 * bits / 64) + 1, nq), rng)
