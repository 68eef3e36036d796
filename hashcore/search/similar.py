"""SimilarService: "photos like this one", over one Store and one hashing model.

The model's codes live in memory as one CodeIndex, kept in the store's shared code cache (every
Library of the process that opens the same file shares it) and rebuilt only when the database
changed. Radius 0 is answered by the SQLite bucket table; a small radius by the multi-index hash
once it pays (CodeIndex.ball_backend); the k nearest by a popcount scan. Hits are then ordered
within each distance by float-feature similarity when the query's feature is known.

Where the library has a copy-detection head (a second code per photo, issue 14 part 5), "photos
like this one" (`search_id`, `search_file`) lists the query's copies first, marked as copies:
photos whose copy code is within the head's operating-point radius of the query's and whose copy
embedding (from the stored features) reaches its cosine (or, where the head uses the DCT hash, whose
DCT hash is within its dct radius and whose copy cosine reaches its dct cosine), most similar first. The semantic ranking
follows as before. A search with an explicit radius stays a plain semantic-code search.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hashcore.errors import NotFoundError
from hashcore.ingest.frame import VERSION as FRAME_VERSION
from hashcore.search.dups import DOUBT_MIN_COSINE, DOUBT_RADIUS_64
from hashcore.search.hits import Hit
from hashcore.search.scan import CodeIndex
from hashcore.store.db import Store

if TYPE_CHECKING:
    from hashcore.models.manifest import CopyEncoder

MAX_TIES = 2000  # photos at the k-th distance that feature re-ranking may choose among
LIKELY_POOL = 3  # semantic neighbours (times k) whose copy cosine may make them likely copies
FileQuery = Callable[[str | Path], tuple[np.ndarray, np.ndarray]]  # image file -> (code, feature)


def framed_boxes(store: Store, copy: CopyEncoder, copy_model_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, copy codes, copy embeddings) of the photo boxes found in framed files (a screenshot's
    photo: hashcore/ingest/frame.py), from their stored features; kept in memory until the
    database changes. Search and the duplicate finder both read them."""
    def build(_previous: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ids, feats = store.frames(FRAME_VERSION)
        if not len(ids):
            return ids, np.zeros((0, max(1, copy.bits // 64)), np.uint64), np.zeros((0, 1), np.float32)
        return ids, copy.codes(feats), copy.embed(feats)

    return store.cached(("frames", copy_model_id), build)


class SimilarService:
    def __init__(self, store: Store, model_id: int, bits: int, file_query: FileQuery,
                 copy: CopyEncoder | None = None, copy_model_id: int | None = None,
                 refresh_copy_codes: Callable[[], int] | None = None, dct_model_id: int | None = None) -> None:
        """file_query: the code and feature of any image file (stored when its bytes are indexed).
        copy, copy_model_id: the library's copy-detection head and its model row, if any;
        refresh_copy_codes computes the copy codes photos lack (a library made before the head);
        dct_model_id: the model row of the photos' DCT hashes, where the head uses them."""
        self.store, self.model_id, self.bits, self.file_query = store, model_id, bits, file_query
        self.copy, self.copy_model_id, self.refresh_copy_codes = copy, copy_model_id, refresh_copy_codes
        self.dct_model_id = dct_model_id

    @property
    def cache_key(self) -> tuple[str, int]:
        return ("codes", self.model_id)

    def _index(self, model_id: int, bits: int) -> CodeIndex:
        """A model's codes in memory, reloaded only when the database changed, and then kept
        as they were (with the index built over them) when the codes themselves did not."""
        def build(previous: CodeIndex | None) -> CodeIndex:
            ids, codes = self.store.codes(model_id)
            if previous is not None and previous.holds(ids, codes):
                return previous
            return CodeIndex(ids, codes, bits)

        return self.store.cached(("codes", model_id), build)

    @property
    def code_index(self) -> CodeIndex:
        """The semantic model's codes in memory (see `_index`)."""
        return self._index(self.model_id, self.bits)

    def invalidate(self) -> None:
        """Drop the cached codes (for this process); the next search loads them again."""
        self.store.forget_cached(self.cache_key)
        if self.copy_model_id is not None:
            self.store.forget_cached(("codes", self.copy_model_id))

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

    def copies(self, feature: np.ndarray, exclude: int | None = None,
               dct_code: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(id, copy-embedding cosine) of the indexed photos that are copies of a photo with this
        backbone feature, most similar first: copy codes within the head's radius, verified by
        the embedding's cosine; and, given the photo's DCT hash where the head uses one, DCT
        hashes within its dct radius at its (lower) dct cosine. Empty without a copy head."""
        if self.copy is None or self.copy_model_id is None:
            return []
        radius, min_cosine = self.copy.operating_point
        query = np.asarray(feature, np.float32)[None]
        index = self._index(self.copy_model_id, self.copy.bits)
        if len(index) < len(self.code_index) and self.refresh_copy_codes is not None:
            self.refresh_copy_codes()  # photos coded before the copy head came: from their stored features
            index = self._index(self.copy_model_id, self.copy.bits)
        need = {i: min_cosine for i, _ in index.radius(self.copy.codes(query)[0], radius) if i != exclude}
        point = self.copy.dct_point
        if point is not None and dct_code is not None and self.dct_model_id is not None:
            for i, _ in self._index(self.dct_model_id, 64).radius(dct_code, point[0]):
                if i != exclude:
                    need[i] = min(need.get(i, 1.0), point[1])
        ids, feats = self.store.features(sorted(need))
        if not len(ids):
            return []
        cos = self.copy.embed(feats) @ self.copy.embed(query)[0]
        found = [(int(i), float(c)) for i, c in zip(ids.tolist(), cos.tolist(), strict=True) if c >= need[int(i)]]
        return sorted(found, key=lambda p: (-p[1], p[0]))

    def _copies_first(self, code: np.ndarray, feature: np.ndarray, k: int, exclude: int | None,
                      query_path: str | None = None, dct_code: np.ndarray | None = None) -> list[Hit]:
        """The query's copies (marked, most similar first; the query's own file among them is
        not marked), then the semantic ranking without them: k hits in all. Every hit's distance
        is its semantic code's Hamming distance to the query's."""
        found = self.copies(feature, exclude, dct_code)[:k]
        semantic = self.search(code, LIKELY_POOL * k, None, exclude, feature)
        likely = self.likely_copies(feature, exclude, {i for i, _ in found}, [h.id for h in semantic])[:k]
        if exclude is not None:  # another shot of the scene, as the duplicate finder found: not a copy
            shots = self._other_shots(exclude, [i for i, _ in found + likely])
            found = [p for p in found if p[0] not in shots]
            likely = [p for p in likely if p[0] not in shots]
        taken = {i for i, _ in found} | {i for i, _ in likely}
        rest = [h for h in semantic if h.id not in taken]
        index = self.code_index
        exact = set(self.store.bucket(self.model_id, code))
        rows = {r["id"]: r for r in self.store.images(ids=taken)}
        first: list[Hit] = []
        marked = {i for i, _ in found}
        for i, _ in found + likely:
            own = index.code(i)
            if i not in rows or own is None:
                continue
            dist = int(np.bitwise_count(np.bitwise_xor(own, code)).sum())
            path = rows[i]["path"]
            first.append(Hit(i, path, dist, i in exact, copy=i in marked and path != query_path,
                             maybe_copy=i not in marked))
        # the query's own file (not a copy of itself) first, then the copies, then the likely ones
        first.sort(key=lambda h: (h.copy or h.id not in marked, h.id not in marked))
        return (first + rest)[:k]

    def _other_shots(self, image_id: int, ids: list[int]) -> set[int]:
        """Those of `ids` that the duplicate finder's geometric check found to be another shot of
        image_id's scene (its verdicts kept in the library; none before a Duplicates run)."""
        from hashcore.search.geometry import VERSION, Match, Rule, pair_key

        if not ids:
            return set()
        hashes = {r["id"]: r["content_hash"] for r in self.store.images(status=None, ids=[image_id, *ids])}
        own = hashes.get(image_id)
        if own is None:
            return set()
        kept = self.store.verdicts_of(own, [hashes[i] for i in ids if i in hashes], VERSION)
        rule = Rule()
        return {i for i in ids if i in hashes and (got := kept.get(pair_key(own, hashes[i]))) is not None
                and rule.refutes(Match.from_numbers(got))}

    def likely_copies(self, feature: np.ndarray, exclude: int | None = None,
                      skip: set[int] | frozenset[int] = frozenset(),
                      also: list[int] | None = None) -> list[tuple[int, float]]:
        """(id, copy-embedding cosine) of photos that may be copies but are not verified ones (a
        crop to half, a screenshot of the photo): copy cosine >= DOUBT_MIN_COSINE, among the photos
        whose copy codes lie within DOUBT_RADIUS_64 bits (scaled by code length) and those in
        `also` (the semantic neighbours); and the photos a framed file's photo box ties to the
        query the same way (`_framed_near`). Listed after the copies, unmarked, most similar first,
        before the semantic ranking."""
        if self.copy is None or self.copy_model_id is None:
            return []
        query = np.asarray(feature, np.float32)[None]
        index = self._index(self.copy_model_id, self.copy.bits)
        reach = max(self.copy.operating_point[0], DOUBT_RADIUS_64 * self.copy.bits // 64)
        pool = {i for i, _ in index.radius(self.copy.codes(query)[0], reach)} | set(also or ())
        near = sorted(i for i in pool if i != exclude and i not in skip)
        ids, feats = self.store.features(near)
        if not len(ids):
            return []
        cos = self.copy.embed(feats) @ self.copy.embed(query)[0]
        best = {int(i): float(c) for i, c in zip(ids.tolist(), cos.tolist(), strict=True) if c >= DOUBT_MIN_COSINE}
        for i, c in self._framed_near(query, exclude, reach):
            if i not in skip and c > best.get(i, -1.0):
                best[i] = c
        return sorted(best.items(), key=lambda p: (-p[1], p[0]))

    def _framed_near(self, query: np.ndarray, exclude: int | None, reach: int) -> list[tuple[int, float]]:
        """(id, cosine) of the photos a framed file's photo box ties to the query, in the zone of
        doubt (copy codes within `reach`, copy cosine >= DOUBT_MIN_COSINE): framed files whose box
        is near the query photo; and, where the query (`exclude`, an indexed photo) is a framed
        file, the photos near its own box. The page around a photo puts a screenshot far from
        it in the copy code of the whole file."""
        assert self.copy is not None and self.copy_model_id is not None
        ids, codes, embs = framed_boxes(self.store, self.copy, self.copy_model_id)
        if not len(ids):
            return []
        out: list[tuple[int, float]] = []
        q_code, q_emb = self.copy.codes(query)[0], self.copy.embed(query)[0]
        near = np.flatnonzero((np.bitwise_count(codes ^ q_code).sum(axis=1) <= reach) & (embs @ q_emb >= DOUBT_MIN_COSINE))
        out += [(int(ids[n]), float(embs[n] @ q_emb)) for n in near if int(ids[n]) != exclude]
        own = np.flatnonzero(ids == exclude) if exclude is not None else np.zeros(0, np.int64)
        if len(own):  # the query is a framed file: the photos near its box
            box_code, box_emb = codes[own[0]], embs[own[0]]
            pool = sorted(i for i, _ in self._index(self.copy_model_id, self.copy.bits).radius(box_code, reach)
                          if i != exclude)
            got, feats = self.store.features(pool)
            if len(got):
                cos = self.copy.embed(feats) @ box_emb
                out += [(int(i), float(c)) for i, c in zip(got.tolist(), cos.tolist(), strict=True)
                        if c >= DOUBT_MIN_COSINE]
        return out

    def search_file(self, path: str | Path, k: int = 20, radius: int | None = None) -> list[Hit]:
        code, feature = self.file_query(path)
        if self.copy is not None and radius is None:
            dct = None
            if self.dct_model_id is not None:
                from hashcore.ingest.decode import decode_file
                from hashcore.models.manifest import dct_codes

                dct = dct_codes([decode_file(path).image])[0]
            return self._copies_first(code, feature, k, None, str(Path(path).absolute()), dct)
        return self.search(code, k, radius, feature=feature)

    def search_id(self, image_id: int, k: int = 20, radius: int | None = None) -> list[Hit]:
        code, feature = self.query_for_id(image_id)
        if self.copy is not None and radius is None and feature is not None:
            dct = None if self.dct_model_id is None else self.store.code_of(self.dct_model_id, image_id)
            return self._copies_first(code, feature, k, image_id, dct_code=dct)
        return self.search(code, k, radius, exclude=image_id, feature=feature)
