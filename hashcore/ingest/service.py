"""IndexingService: folders in, rows and codes out, for one Store and one hashing model; and
the code of any image file, indexed or not (what a "photos like this file" search starts from)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from hashcore.ingest.decode import decode_file
from hashcore.ingest.indexer import Indexer, IndexReport, Progress, recode_all
from hashcore.models.manifest import Encoder
from hashcore.store.db import Store


class IndexingService:
    def __init__(self, store: Store, encoder: Encoder) -> None:
        self.store, self.encoder = store, encoder
        self.indexer = Indexer(store, encoder)
        self.model_id = self.indexer.model_id

    def index(self, roots: list[str | Path], progress: Progress | None = None,
              cancel: Callable[[], bool] | None = None) -> IndexReport:
        return self.indexer.run(roots, progress, cancel)

    def rescan(self, progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> IndexReport:
        """Index every library folder again (only new, changed, moved and vanished files cost)."""
        return self.index([r["path"] for r in self.store.roots()], progress, cancel)

    def indexed_since(self, t: float) -> list[int]:
        """Ids of ok photos (re)indexed at or after time `t` (new or changed files)."""
        return self.store.indexed_since(t)

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

    def recode(self, progress: Progress | None = None, chunk: int = 4096) -> int:
        """Recompute every photo's code under this model from the stored features (no photo
        decoded). Unlike `Indexer.refresh_codes` it also rewrites codes that exist: a file
        changed while another head was in use keeps a stale code under this one otherwise."""
        return recode_all(self.store, self.model_id, self.encoder.codes, progress, chunk)
