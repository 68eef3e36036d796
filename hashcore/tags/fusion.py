"""A second opinion for a tag query from the photos themselves, in Hamming space.

The text tower places a word's code among the photos' codes; a photo of the thing that lands a
little far from the word often lands near the photos that came first. So a tag query ranks the
library twice: by distance to the word (as before), and by summed distance to the first few
photos of that ranking (pseudo-relevance feedback; those photos are the ones a person or the
automatic tagger gave the word when there are such, since they come first). The two rankings
are merged by reciprocal rank fusion, which needs no common scale between them.

Settings chosen on the training pool of the real-photo benchmark only (bench/eval_tags_real.py
`--pool train`, docs/results_tags_real.md): two seed photos, k = 60, equal weights. With two
seeds the first photo stays first (by the triangle inequality no photo is nearer to both seeds
than they are to each other, and the first one is nearer to the word).
"""

from __future__ import annotations

import numpy as np

SEEDS = 2  # photos of the first ranking whose neighbours are the second ranking
RRF_K = 60  # reciprocal rank fusion: 1 / (RRF_K + rank)
WEIGHT = 1.0  # of the second ranking against the first
_SCALE = 1e12  # fused score -> integer key; keeps ranks apart up to millions of photos


def competition_rank(dist: np.ndarray) -> np.ndarray:
    """For each photo, how many photos are strictly nearer; equal distances share a rank.
    Distances are small non-negative integers (Hamming), so counting replaces sorting."""
    d = np.asarray(dist, np.int64)
    below = np.concatenate([[0], np.cumsum(np.bincount(d))])
    return below[d]


def fused_rank(dist: np.ndarray, seed_dist: np.ndarray, k: int = RRF_K, weight: float = WEIGHT) -> np.ndarray:
    """Reciprocal rank fusion of the distance to the query and the summed distance to the seed
    photos, as a non-negative integer key (smaller first; equal only where both ranks are)."""
    score = 1.0 / (k + competition_rank(dist)) + weight / (k + competition_rank(seed_dist))
    key = np.round(-score * _SCALE).astype(np.int64)
    return key - key.min()
