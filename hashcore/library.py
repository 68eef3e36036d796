"""`Library`: the engine's front door, used by the CLI and the GUI alike.

It opens one Store and one Encoder and composes the typed services that do the work, each in
its room and each built over that Store:

- `indexing` (hashcore/ingest/service.py): index folders, rescan, recode, the code of a file;
- `similar` (hashcore/search/similar.py): photos like this one, over the shared code cache;
- `dedupe` (hashcore/cleanup/duplicates.py): duplicate groups and which copies to remove;
- `trashcan` (hashcore/cleanup/trash.py): move to the system trash, undo;
- `tagging` (hashcore/tags/search.py): tag search, suggestions, automatic tags, learning.

The methods below are the stable surface the CLI, the app and the tests use; each delegates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hashcore.cleanup.duplicates import DEFAULT_DUP_RADIUS, DEFAULT_MIN_COSINE, DuplicateService
from hashcore.cleanup.keep import DEFAULT_RULE, Plan
from hashcore.cleanup.trash import TrashResult, TrashService
from hashcore.config import Config
from hashcore.ingest.indexer import IndexReport, Progress
from hashcore.ingest.service import IndexingService
from hashcore.models.manifest import CopyEncoder, Encoder, library_copy_info, library_head_info
from hashcore.search.dups import Group
from hashcore.search.hits import Hit
from hashcore.search.scan import CodeIndex
from hashcore.search.similar import MAX_TIES, SimilarService
from hashcore.store.db import Store
from hashcore.tags.search import PhotoRef, TagService

if TYPE_CHECKING:
    from hashcore.tags.multimodal import MultimodalSparseHash

__all__ = ["DEFAULT_DUP_RADIUS", "DEFAULT_MIN_COSINE", "MAX_TIES", "Hit", "Library"]


class Library:
    def __init__(self, config: Config | None = None, db_path: str | Path | None = None,
                 encoder: Encoder | None = None) -> None:
        self.config = config or Config()
        self.store = Store(db_path or self.config.db_path)
        self.encoder = encoder or Encoder(library_head_info(self.config))
        self.indexing = IndexingService(self.store, self.encoder)
        self.indexer = self.indexing.indexer
        self.model_id = self.indexing.model_id
        # the second code per photo (issue 14): the copy-detection head, where one is shipped or adapted
        copy_info = library_copy_info(self.config)
        self.copy = CopyEncoder(copy_info) if copy_info is not None else None
        self.indexer.use_copy_head(self.copy)
        self.copy_model_id = self.indexer.copy_model_id
        self.similar = SimilarService(self.store, self.model_id, self.encoder.bits, self.indexing.query_for_file,
                                      self.copy, self.copy_model_id, self.indexer.refresh_copy_codes,
                                      self.indexer.dct_model_id)
        self.dedupe = DuplicateService(self.store, self.model_id, self.encoder.bits, self.copy, self.copy_model_id,
                                       self.indexer.refresh_copy_codes, self.indexer.dct_model_id)
        self.trashcan = TrashService(self.store)
        self.tagging = TagService(self.store, self.config, lambda path: self.indexing.query_for_file(path)[1])
        self.trashcan.reconcile()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    # -- indexing ----------------------------------------------------------------------------
    def index(self, roots: list[str | Path], progress: Progress | None = None,
              cancel: Callable[[], bool] | None = None) -> IndexReport:
        return self.indexing.index(roots, progress, cancel)

    def rescan(self, progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> IndexReport:
        return self.indexing.rescan(progress, cancel)

    def indexed_since(self, t: float) -> list[int]:
        """Ids of ok photos (re)indexed at or after time `t` (new or changed files)."""
        return self.indexing.indexed_since(t)

    def recode(self, progress: Progress | None = None, chunk: int = 4096) -> int:
        """Recompute every photo's code under this library's head from the stored features, and
        its copy code under the copy head (if any). Returns the photos recoded."""
        done = self.indexing.recode(progress, chunk)
        self.indexer.recode_copies(progress, chunk)
        self.invalidate()
        return done

    # -- search ------------------------------------------------------------------------------
    @property
    def code_index(self) -> CodeIndex:
        """The current model's codes in memory, reloaded only when the database changed."""
        return self.similar.code_index

    def invalidate(self) -> None:
        """Forget cached codes in the process-wide cache (the generation check makes this rarely
        needed; a model change leaves the old model's codes there otherwise)."""
        self.similar.invalidate()

    def query_for_file(self, path: str | Path) -> tuple[np.ndarray, np.ndarray]:
        """(code, feature) of an image file: stored ones if its bytes are indexed, else computed."""
        return self.indexing.query_for_file(path)

    def query_for_id(self, image_id: int) -> tuple[np.ndarray, np.ndarray | None]:
        return self.similar.query_for_id(image_id)

    def search(self, code: np.ndarray, k: int = 20, radius: int | None = None,
               exclude: int | None = None, feature: np.ndarray | None = None) -> list[Hit]:
        """Ranked hits: all within `radius` if given (up to k), else the k nearest."""
        return self.similar.search(code, k, radius, exclude, feature)

    def search_file(self, path: str | Path, k: int = 20, radius: int | None = None) -> list[Hit]:
        return self.similar.search_file(path, k, radius)

    def search_id(self, image_id: int, k: int = 20, radius: int | None = None) -> list[Hit]:
        return self.similar.search_id(image_id, k, radius)

    # -- duplicates --------------------------------------------------------------------------
    def duplicates(self, radius: int | None = None, min_cosine: float | None = None,
                   include_dismissed: bool = False, similar: bool = False, progress: Progress | None = None,
                   cancel: Callable[[], bool] | None = None) -> list[Group]:
        """Copy groups ("exact", "near"), in which every two photos are copies of each other or
        share their pixels; with `similar`, also groups of similar shots ("similar"), never
        planned for removal. radius and min_cosine set the copy level; None:
        `duplicate_defaults()`. Doubtful pairs get a geometric check that reads their files
        (`progress` hears of it, `cancel` stops it)."""
        return self.dedupe.duplicates(radius, min_cosine, include_dismissed, similar, progress, cancel)

    def duplicate_defaults(self) -> tuple[int, float]:
        """(radius, min_cosine) of the copy level: the copy head's operating point (its code and
        embedding), or the semantic code's defaults (DEFAULT_DUP_RADIUS, DEFAULT_MIN_COSINE) without one."""
        return self.dedupe.defaults()

    def dismiss(self, image_ids: list[int]) -> None:
        """Remember that these photos are not duplicates of each other."""
        self.dedupe.dismiss(image_ids)

    def plan_removal(self, group: Group, rule: str = DEFAULT_RULE, preferred: str | None = None) -> Plan:
        return self.dedupe.plan_removals([group], rule, preferred)[0]

    def plan_removals(self, groups: list[Group], rule: str = DEFAULT_RULE,
                      preferred: str | None = None) -> list[Plan]:
        """(keep id, remove ids) per group under a keep rule, each with `.reason`; protected
        folders are honoured. The default rule, "best", keeps the original (hashcore/cleanup/keep.py)."""
        return self.dedupe.plan_removals(groups, rule, preferred)

    def trash(self, image_ids: list[int]) -> TrashResult:
        return self.trashcan.move(image_ids)

    def undo_trash(self) -> list[str]:
        """Put the last batch back; where undo cannot find trashed files (macOS, Windows) this
        raises UndoUnavailable, saying where they are, and changes nothing."""
        return self.trashcan.undo()

    def can_undo_trash(self) -> bool:
        """Whether undo works on this platform (the freedesktop trash of Linux and the BSDs)."""
        return self.trashcan.undo_available()

    # -- tag search across modalities (issue 5) ----------------------------------------------
    def tag_model(self) -> MultimodalSparseHash:
        """The multimodal model: this library's retrained one if any, else the shipped one."""
        return self.tagging.model()

    def find_tag(self, texts: str | Sequence[str], k: int = 20, mode: str = "any",
                 like: PhotoRef | None = None, radius: int | None = None) -> list[Hit]:
        """Photos for tag texts (a str is one tag; any or all of several), optionally also near
        a photo (an id or a file). Photos a person tagged with the very word come first; then
        Hamming distance."""
        return self.tagging.find(texts, k, mode, like, radius)

    def tag_query_is_weak(self, texts: str | Sequence[str]) -> bool:
        """Whether find_tag's matches for these texts are weak: the models cannot place any of
        them ("zzxq") and no photo carries one as a tag. The hits are still the nearest photos."""
        return self.tagging.weak(texts)

    def suggest_tags(self, image: PhotoRef, k: int = 8) -> list[tuple[str, int]]:
        """Tags the model would give a photo (id or file), nearest first, minus those it has."""
        return self.tagging.suggest(image, k)

    def auto_tag(self, retag: list[int] | None = None) -> int:
        """Store automatic tags (source "auto") from the ImageNet probabilities for photos that
        have none; photos in `retag` (new or changed files) get theirs replaced. Returns count."""
        return self.tagging.auto_tag(retag)

    def import_keywords(self, progress: Progress | None = None, ids: list[int] | None = None,
                        cancel: Callable[[], bool] | None = None) -> int:
        """Read keywords already in the photo files (XMP, IPTC, Windows) as tags (source "file"),
        of every photo or only of `ids`."""
        return self.tagging.import_keywords(progress, ids, cancel)

    def tag_counts(self) -> list[tuple[str, int, int]]:
        """(tag, photos a person gave it, photos the model gave it) for every tag, by tag."""
        return self.tagging.tag_counts()

    def learn_tags(self, progress: Progress | None = None, cancel: Callable[[], bool] | None = None,
                   min_photos: int = 3, steps: int = 600) -> dict[str, Any]:
        """Retrain the tag model from the tags people gave photos; codes follow from stored features."""
        return self.tagging.learn(progress, cancel, min_photos, steps)

    def tag_vocabulary(self) -> list[str]:
        """Words to complete in a tag search box: the library's tags, then the model's vocabulary."""
        return self.tagging.vocabulary()
