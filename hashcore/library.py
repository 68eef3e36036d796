"""`Library`: the engine's front door, used by the CLI and the GUI alike.

It owns a Store and an Encoder, keeps the codes of the current model in memory (loaded on first
search, refreshed after indexing), and answers: index these folders, what looks like this
photo, which photos are duplicates, move these to the trash, undo.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hashcore.cleanup import trash
from hashcore.cleanup.keep import choose_removals
from hashcore.config import Config
from hashcore.errors import NotFoundError
from hashcore.ingest.decode import decode_file
from hashcore.ingest.indexer import Indexer, IndexReport, Progress
from hashcore.models.manifest import Encoder, library_head_info
from hashcore.search import dups as dupmod
from hashcore.search.scan import CodeIndex
from hashcore.store.db import Store

DEFAULT_DUP_RADIUS = {32: 3, 64: 6, 128: 12}
DEFAULT_MIN_COSINE = 0.80
MAX_TIES = 2000


@dataclass(frozen=True)
class Hit:
    id: int
    path: str
    distance: int
    exact_code: bool

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "path": self.path, "distance": self.distance}


# Codes loaded from a database, shared by every Library of this process that opens it:
# (database path, model id) -> (store generation when loaded, index).
_INDEX_CACHE: dict[tuple[str, int], tuple[int, CodeIndex]] = {}
_CACHE_LOCK = threading.Lock()


class Library:
    def __init__(self, config: Config | None = None, db_path: str | Path | None = None,
                 encoder: Encoder | None = None) -> None:
        self.config = config or Config()
        self.store = Store(db_path or self.config.db_path)
        self.encoder = encoder or Encoder(library_head_info(self.config))
        self.indexer = Indexer(self.store, self.encoder)
        self.model_id = self.indexer.model_id
        self._index: CodeIndex | None = None
        self._index_gen = -1
        trash.reconcile(self.store)

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    # -- indexing ----------------------------------------------------------------------------
    def index(self, roots: list[str | Path], progress: Progress | None = None,
              cancel: Callable[[], bool] | None = None) -> IndexReport:
        return self.indexer.run(roots, progress, cancel)

    def rescan(self, progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> IndexReport:
        return self.index([r["path"] for r in self.store.roots()], progress, cancel)

    def indexed_since(self, t: float) -> list[int]:
        """Ids of ok photos (re)indexed at or after time `t` (new or changed files)."""
        rows = self.store.conn.execute("SELECT id FROM images WHERE status = 'ok' AND indexed_at >= ? ORDER BY id",
                                       (t,))
        return [r[0] for r in rows]

    # -- search ------------------------------------------------------------------------------
    @property
    def code_index(self) -> CodeIndex:
        """The current model's codes in memory, reloaded only when the database changed."""
        gen = self.store.generation()
        if self._index is not None and self._index_gen == gen:
            return self._index
        key = (self.store.path, self.model_id)
        with _CACHE_LOCK:
            cached = _INDEX_CACHE.get(key) if self.store.path != ":memory:" else None
            if cached is None or cached[0] != gen:
                ids, codes = self.store.codes(self.model_id)
                cached = (gen, CodeIndex(ids, codes, self.encoder.bits))
                if self.store.path != ":memory:":
                    _INDEX_CACHE[key] = cached
        self._index_gen, self._index = cached
        return self._index

    def invalidate(self) -> None:
        """Forget cached codes, here and in the process-wide cache (the generation check makes
        this rarely needed; a model change leaves the old model's codes there otherwise)."""
        self._index = None
        with _CACHE_LOCK:
            _INDEX_CACHE.pop((self.store.path, self.model_id), None)

    def recode(self, progress: Progress | None = None, chunk: int = 4096) -> int:
        """Recompute every photo's code under this library's head from the stored features (no
        photo decoded). Unlike `Indexer.refresh_codes` it also rewrites codes that exist: a file
        changed while another head was in use keeps a stale code under this one otherwise."""
        ids = [r["id"] for r in self.store.images()]
        done = 0
        for start in range(0, len(ids), chunk):
            got, feats = self.store.features(ids[start:start + chunk])
            if len(got):
                with self.store.transaction() as c:
                    self.store.put_codes(c, self.model_id, got, self.encoder.codes(feats))
            done += len(got)
            if progress is not None:
                progress(min(start + chunk, len(ids)), len(ids), "")
        self.invalidate()
        return done

    def query_for_file(self, path: str | Path) -> tuple[np.ndarray, np.ndarray]:
        """(code, feature) of an image file: stored ones if its bytes are indexed, else computed."""
        photo = decode_file(path)
        for row in self.store.images_by_hash(photo.content_hash):
            code = self.store.code_of(self.model_id, row["id"])
            _, feats = self.store.features([row["id"]], status=row["status"])
            if code is not None and len(feats):
                return code, feats[0]
        feats, _ = self.encoder.embed([photo.image])
        return self.encoder.codes(feats)[0], feats[0]

    def query_for_id(self, image_id: int) -> tuple[np.ndarray, np.ndarray | None]:
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
        code, feature = self.query_for_file(path)
        return self.search(code, k, radius, feature=feature)

    def search_id(self, image_id: int, k: int = 20, radius: int | None = None) -> list[Hit]:
        code, feature = self.query_for_id(image_id)
        return self.search(code, k, radius, exclude=image_id, feature=feature)

    # -- duplicates --------------------------------------------------------------------------
    def duplicates(self, radius: int | None = None, min_cosine: float = DEFAULT_MIN_COSINE,
                   include_dismissed: bool = False) -> list[dupmod.Group]:
        radius = DEFAULT_DUP_RADIUS.get(self.encoder.bits, 6) if radius is None else radius
        rows = {r["id"]: r for r in self.store.images()}
        ids, codes = self.store.codes(self.model_id)

        def features_of(rows: np.ndarray) -> np.ndarray:
            """Features of the photos in candidate pairs only (bounded memory at 1M photos)."""
            fids, feats = self.store.features(ids[rows])
            out = np.full((len(rows), feats.shape[1] if len(feats) else 1), np.nan, np.float32)
            out[np.searchsorted(ids[rows], fids)] = feats
            return out

        groups = dupmod.exact_groups(list(rows.values()))
        exact_sets = [set(g.image_ids) for g in groups]
        for g in dupmod.near_groups(ids, codes, features_of, self.encoder.bits, radius, min_cosine):
            members = set(g.image_ids)
            if any(members <= s for s in exact_sets):
                continue  # only byte-identical copies: already an exact group
            if not include_dismissed and any(members <= s for s in self.store.decisions()):
                continue  # the user said "not duplicates" and no new photo joined
            groups.append(g)
        for g in groups:
            g.paths = [rows[i]["path"] for i in g.image_ids]
            g.sizes = [int(rows[i]["size"]) for i in g.image_ids]
        return dupmod.order_groups(groups)

    def dismiss(self, image_ids: list[int]) -> None:
        """Remember that these photos are not duplicates of each other."""
        self.store.add_decision(image_ids)

    def plan_removal(self, group: dupmod.Group, rule: str, preferred: str | None = None) -> tuple[int, list[int]]:
        return self.plan_removals([group], rule, preferred)[0]

    def plan_removals(self, groups: list[dupmod.Group], rule: str,
                      preferred: str | None = None) -> list[tuple[int, list[int]]]:
        """(keep id, remove ids) per group under a keep rule; protected folders are honoured."""
        rows = {r["id"]: r for r in self.store.images(ids={i for g in groups for i in g.image_ids})}
        protected = [r["path"] for r in self.store.roots() if r["protected"]]
        return [choose_removals([rows[i] for i in g.image_ids if i in rows], rule, protected, preferred)
                for g in groups]

    def trash(self, image_ids: list[int]) -> trash.TrashResult:
        return trash.move_to_trash(self.store, image_ids)

    def undo_trash(self) -> list[str]:
        return trash.restore_batch(self.store)

    # -- tag search across modalities (issue 5) ----------------------------------------------
    def tag_model(self) -> Any:
        """The multimodal model: this library's retrained one if any, else the shipped one."""
        from hashcore.tags import search as tagsearch

        return tagsearch.load_model(self.config)

    def find_tag(self, texts: list[str], k: int = 20, mode: str = "any", like: int | str | Path | None = None,
                 radius: int | None = None) -> list[Hit]:
        """Photos for tag texts (any or all of them), optionally also near a photo (an id or a
        file). Photos a person tagged with the very word come first; then Hamming distance."""
        from hashcore.tags import search as tagsearch

        return tagsearch.find(self, texts, k, mode, like, radius)

    def suggest_tags(self, image: int | str | Path, k: int = 8) -> list[tuple[str, int]]:
        """Tags the model would give a photo (id or file), nearest first, minus those it has."""
        from hashcore.tags import search as tagsearch

        return tagsearch.suggest(self, image, k)

    def auto_tag(self, retag: list[int] | None = None) -> int:
        """Store automatic tags (source "auto") from the ImageNet probabilities for photos that
        have none; photos in `retag` (new or changed files) get theirs replaced. Returns count."""
        from hashcore.tags import search as tagsearch

        return tagsearch.auto_tag(self, retag)

    def import_keywords(self, progress: Progress | None = None, ids: list[int] | None = None,
                        cancel: Callable[[], bool] | None = None) -> int:
        """Read keywords already in the photo files (XMP, IPTC, Windows) as tags (source "file"),
        of every photo or only of `ids`."""
        from hashcore.tags import search as tagsearch

        return tagsearch.import_keywords(self, progress, ids, cancel)

    def tag_counts(self) -> list[tuple[str, int, int]]:
        """(tag, photos a person gave it, photos the model gave it) for every tag, by tag."""
        from hashcore.tags import search as tagsearch

        return tagsearch.tag_counts(self)

    def learn_tags(self, progress: Progress | None = None, cancel: Callable[[], bool] | None = None,
                   min_photos: int = 3, steps: int = 600) -> dict[str, Any]:
        """Retrain the tag model from the tags people gave photos; codes follow from stored features."""
        from hashcore.tags import search as tagsearch

        return tagsearch.learn(self, progress, cancel, min_photos, steps)

    def tag_vocabulary(self) -> list[str]:
        """Words to complete in a tag search box: the library's tags, then the model's vocabulary."""
        from hashcore.tags import search as tagsearch

        return tagsearch.vocabulary(self)
