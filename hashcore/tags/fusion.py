"""A second opinion for a tag query from the photos themselves, in Hamming space.

The text tower places a word's code among the photos' codes; a photo of the thing that lands a
little far from the word often lands near the photos that came first. So a tag query ranks the
library twice: by distance to the word (as before), and by summed distance to the first few
photos of that ranking (pseudo-relevance feedback; those photos are the ones a person or the
automatic tagger gave the word when there are such, since they come first). The two rankings
are merged by reciprocal rank fusion, which needs no common scale between them.

Where a person gave the word to some photos, those are the seeds instead (up to 16 of them): they
are the person's own examples of the word, not the model's guess, and all of them count, so that
tagging a few photos helps the untagged ones at once, before any retraining. On the learning
benchmark (bench/eval_tags_learn.py, 5 categories x 4 draws of 10 tagged photos) the untagged
photos' mAP right after tagging: 0.828 with the first two photos as seeds, 0.856 with the nearest
tagged photo, 0.868 with the summed distance to all of them (chosen on those draws).

Settings chosen on the training pool of the real-photo benchmark only (bench/eval_tags_real.py
`--pool train`, docs/results_tags_real.md): two seed photos, k = 60, equal weights. With two
seeds the first photo stays first (by the triangle inequality no photo is nearer to both seeds
than they are to each other, and the first one is nearer to the word).
"""

from __future__ import annotations

import numpy as np

SEEDS = 2  # photos of the first ranking whose neighbours are the second ranking
MAX_EXAMPLES = 16  # a person's tagged photos used as seeds (spread over them when there are more): one
# scan of the library each, about 1 ms per 100,000 photos
RRF_K = 60  # reciprocal rank fusion: 1 / (RRF_K + rank)
WEIGHT = 1.0  # of the second ranking against the first
_SCALE = 1e12  # fused score -> integer key; keeps ranks apart up to millions of photos


def examples(rows: np.ndarray, limit: int = MAX_EXAMPLES) -> np.ndarray:
    """At most `limit` of a person's tagged photos (rows), spread evenly over them, as examples."""
    rows = np.asarray(rows, np.int64)
    if len(rows) <= limit:
        return rows
    return rows[np.linspace(0, len(rows) - 1, limit).round().astype(np.int64)]


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
