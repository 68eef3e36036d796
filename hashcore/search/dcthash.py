"""A second, cheap copy signal: a DCT perceptual hash of a grey, border-trimmed image.

The learned copy embedding (hashcore/models/methods/copyhash.py) sees the photo through the
backbone, which is robust to crops and overlays but moved by global tone changes; a DCT hash
(Zauner's pHash, as imagehash computes it) is the opposite: nearly blind to grey, tone, blur,
noise and re-compression, and broken by crops and padding. Padding at least can be undone:
bars of one colour along the edges (letterboxing, borders, the flat margins of a screenshot) are
trimmed before hashing, so a letterboxed copy hashes like its original.

    grey (L) -> reduced to <= WORK_SIDE px -> trim flat edge bands -> 32x32 (box filter)
    -> 2-D DCT-II -> the 8x8 lowest frequencies -> bit = coefficient > their median (DC left out)

64 bits, packed MSB-first into 8 bytes (np.packbits), compared by Hamming distance
(`dct_distance`). Cost: a few milliseconds on a decoded photo (the conversion and one reduction
dominate), against tens of milliseconds for the backbone. No scipy at run time: the DCT is a
32x32 matrix product.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

HASH_SIDE = 32  # the DCT is taken on a HASH_SIDE x HASH_SIDE grey image
LOW = 8  # the LOW x LOW lowest frequencies make the 64 bits
WORK_SIDE = 256  # the image is reduced to at most this long side before trimming
FLAT_STD = 2.0  # an edge row/column is "flat" padding if its grey values vary less than this ...
FLAT_MEAN_STEP = 8.0  # ... and its mean stays within this of the outermost band's mean
MAX_TRIM = 0.45  # never trim more than this share of a side from one edge


def _dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II matrix C (n x n): C @ x is the DCT of column vector x."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    c = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    c[0] /= np.sqrt(2.0)
    return c


_C = _dct_matrix(HASH_SIDE)


def _flat_run(lines: np.ndarray, limit: int) -> int:
    """How many leading lines (rows of `lines`) are flat and of the first line's shade."""
    if limit <= 0:
        return 0
    std = lines[:limit].std(axis=1)
    mean = lines[:limit].mean(axis=1)
    ok = (std < FLAT_STD) & (np.abs(mean - mean[0]) < FLAT_MEAN_STEP)
    bad = np.flatnonzero(~ok)
    return int(bad[0]) if len(bad) else limit


def trim_borders(grey: np.ndarray) -> np.ndarray:
    """The grey array without flat bands of one shade along its edges (letterbox bars, borders,
    flat screenshot margins); at most MAX_TRIM of each side goes from one edge."""
    for _ in range(3):  # again on what is left: a band is judged along the kept part of the other side
        h, w = grey.shape
        top = _flat_run(grey, int(h * MAX_TRIM))
        bottom = _flat_run(grey[::-1], int(h * MAX_TRIM))
        left = _flat_run(grey.T, int(w * MAX_TRIM))
        right = _flat_run(grey.T[::-1], int(w * MAX_TRIM))
        if not (top or bottom or left or right) or h - top - bottom < 2 or w - left - right < 2:
            break
        grey = grey[top:h - bottom, left:w - right]
    return grey


def dct_hash(img: Image.Image) -> np.ndarray:
    """64-bit DCT hash of the grey, border-trimmed image: uint8 array of 8 bytes (packed bits)."""
    if img.mode not in ("L", "RGB"):
        img = img.convert("RGB")
    w, h = img.size
    factor = max(1, max(w, h) // WORK_SIDE)
    small = img.reduce(factor) if factor > 1 else img
    grey = np.asarray(small.convert("L"), dtype=np.float32)
    trimmed = trim_borders(grey)
    if trimmed.shape[0] < 2 or trimmed.shape[1] < 2:  # a flat image: hash it whole
        trimmed = grey
    pixels = np.asarray(Image.fromarray(trimmed).resize((HASH_SIDE, HASH_SIDE), Image.Resampling.BOX),
                        dtype=np.float64)
    low = (_C @ pixels @ _C.T)[:LOW, :LOW].reshape(-1)
    bits = low > np.median(low[1:])
    bits[0] = False  # the DC term (mean brightness) carries no structure
    return np.packbits(bits)


def dct_hashes(images: list[Image.Image]) -> np.ndarray:
    """(N, 8) uint8 packed hashes of several images."""
    return np.stack([dct_hash(im) for im in images]) if images else np.zeros((0, 8), np.uint8)


def dct_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances between packed hashes (broadcasting: (8,) vs (N, 8), or (N, 1, 8) vs
    (1, M, 8) for a full matrix)."""
    return np.bitwise_count(np.bitwise_xor(a, b)).sum(axis=-1)
