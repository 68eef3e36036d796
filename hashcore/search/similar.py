"""SimilarService: "photos like this one", over one Store and one hashing model.

The model's codes live in memory as one CodeIndex, kept in the store's shared code cache (every
Library of the process that opens the same file shares it) and rebuilt only when the database
changed. Radius 0 is answered by the SQLite bucket table; a small radius by the multi-index hash
once it pays (CodeIndex.ball_backend); the k nearest by a popcount scan. Hits are then ordered
within each distance by float-feature similarity when the query's feature is known.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from hashcore.errors import NotFoundError
from hashcore.search.hits import Hit
from hashcore.search.scan import CodeIndex
from hashcore.store.db import Store

MAX_TIES = 2000  # photos at the k-th distance that feature re-ranking may choose among
FileQuery = Callable[[str | Path], tuple[np.ndarray, np.ndarray]]  # image file -> (code, feature)


class SimilarService:
    def __init__(self, store: Store, model_id: int, bits: int, file_query: FileQuery) -> None:
        """file_query: the code and feature of any image file (stored when its bytes are indexed)."""
        self.store, self.model_id, self.bits, self.file_query = store, model_id, bits, file_query

    @property
    def cache_key(self) -> tuple[str, int]:
        return ("codes", self.model_id)

    @property
    def code_index(self) -> CodeIndex:
        """The model's codes in memory, reloaded only when the database changed, and then kept
        as they were (with the index built over them) when the codes themselves did not."""
        def build(previous: CodeIndex | None) -> CodeIndex:
            ids, codes = self.store.codes(self.model_id)
            if previous is not None and previous.holds(ids, codes):
                return previous
            return CodeIndex(ids, codes, self.bits)

        return self.store.cached(self.cache_key, build)

    def invalidate(self) -> None:
        """Drop the cached codes (for this process); the next search loads them again."""
        self.store.forget_cached(self.cache_key)

    def query_for_id(self, image_id: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(code, feature or None) of an indexed photo."""
        row = self.store.image(image_id)
        code = self.store.code_of(self.model_id, image_id)
        if code is None:
            raise NotFoundError(f"photo {image_id} has no code yet; index its folder first")
        _, feats = self.store.features([image_id], status=row["status"])
        return code, (feats[0] if len(feats) else None)

    def search(self, code: np.ndarray, k: int = 20, radius: int | None = None,
               exclude: int | None = None, feature: np.ndarray | None = None) -> list[Hit]:
        """Ranked hits: all within `radius` if given (up to k), else the k nearest.

        Within one Hamming distance, hits are ordered by float-feature similarity to the query
        when its feature is known, so the photo itself and its closest copies come first.
        """
        index = self.code_index
        want = k + (1 if exclude is not None else 0)
        if radius == 0:  # exact code: straight from the SQLite bucket table, no scan
            pairs = [(i, 0) for i in self.store.bucket(self.model_id, code)]
        else:
            pairs = index.radius(code, radius) if radius is not None else index.topk(code, want)
        if feature is not None and pairs:
            if radius is None:  # take every tie at the k-th distance, so re-ranking can pick among them
                ties = index.radius(code, pairs[-1][1])
                pairs = ties if len(ties) <= want + MAX_TIES else pairs
            pairs = self._rerank(pairs, feature)
        pairs = pairs[:want]
        exact = set(self.store.bucket(self.model_id, code))
        rows = {r["id"]: r for r in self.store.images(ids=[i for i, _ in pairs])}
        hits = [Hit(i, rows[i]["path"], d, i in exact) for i, d in pairs if i in rows and i != exclude]
        return hits[:k]

    def _rerank(self, pairs: list[tuple[int, int]], feature: np.ndarray) -> list[tuple[int, int]]:
        ids, feats = self.store.features([i for i, _ in pairs])
        q = feature / max(float(np.linalg.norm(feature)), 1e-12)
        norms = np.maximum(np.linalg.norm(feats, axis=1), 1e-12) if len(feats) else feats
        cos = dict(zip(ids.tolist(), (feats @ q / norms).tolist() if len(feats) else [], strict=True))
        return sorted(pairs, key=lambda p: (p[1], -cos.get(p[0], -1.0), p[0]))

    def search_file(self, path: str | Path, k: int = 20, radius: int | None = None) -> list[Hit]:
        code, feature = self.file_query(path)
        return self.search(code, k, radius, feature=feature)

    def search_id(self, image_id: int, k: int = 20, radius: int | None = None) -> list[Hit]:
        code, feature = self.query_for_id(image_id)
        return self.search(code, k, radius, exclude=image_id, feature=feature)
