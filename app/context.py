"""What every panel shares: the config, the job runner, thumbnails, settings, and a read-only
Library that lives in the GUI thread (workers open their own)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QSettings

from app.photogrid import PhotoModel, ThumbCache
from app.workers import JobRunner, ThumbLoader
from hashcore.config import Config

THUMB_EDGES = (96, 128, 160, 200, 256)
DEFAULT_EDGE = 160


def settings() -> QSettings:
    return QSettings("HashLens", "HashLens")


def auto_tag_enabled(s: QSettings) -> bool:
    """Tag new photos after indexing (keywords in the files, the model's tags); Settings."""
    return bool(s.value("autoTag", True, type=bool))


@dataclass
class AppContext:
    config: Config
    runner: JobRunner
    loader: ThumbLoader
    thumbs: ThumbCache
    lib: Any  # hashcore.library.Library for reads in the GUI thread
    edge: int = DEFAULT_EDGE

    @classmethod
    def open(cls, config: Config, encoder: Any, edge: int, parent: QObject) -> AppContext:
        """The job runner, the thumbnail loader and cache (owned by `parent`), and the GUI
        thread's Library; an edge that is not one of THUMB_EDGES falls back to the default."""
        from hashcore.library import Library

        runner = JobRunner(config, str(config.db_path), encoder, parent)
        loader = ThumbLoader(config.cache_dir, parent=parent)
        return cls(config, runner, loader, ThumbCache(loader, parent=parent), Library(config, encoder=encoder),
                   edge if edge in THUMB_EDGES else DEFAULT_EDGE)

    def photo_model(self) -> PhotoModel:
        return PhotoModel(self.thumbs, self.edge)

    def tags_of(self, image_id: int) -> list[dict[str, Any]]:
        """A photo's tags (tag, source, confidence) for display: a person's own first, then
        keywords from the file, then the model's, most confident first."""
        order = {"user": 0, "file": 1, "auto": 2}
        return sorted(self.lib.store.tags_of(image_id),
                      key=lambda t: (order.get(t["source"], 1), -(t["confidence"] or 0.0), t["tag"]))

    def image(self, image_id: int) -> dict[str, Any]:
        return self.lib.store.image(image_id)
