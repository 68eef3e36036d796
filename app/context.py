"""What every panel shares: the config, the job runner, thumbnails, settings, and a read-only
Library that lives in the GUI thread (workers open their own)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSettings

from app.photogrid import PhotoModel, ThumbCache
from app.workers import JobRunner, ThumbLoader
from hashcore.config import Config

THUMB_EDGES = (96, 128, 160, 200, 256)
DEFAULT_EDGE = 160


def settings() -> QSettings:
    return QSettings("HashLens", "HashLens")


@dataclass
class AppContext:
    config: Config
    runner: JobRunner
    loader: ThumbLoader
    thumbs: ThumbCache
    lib: Any  # hashcore.library.Library for reads in the GUI thread
    edge: int = DEFAULT_EDGE

    def photo_model(self) -> PhotoModel:
        return PhotoModel(self.thumbs, self.edge)

    def tags_of(self, image_id: int) -> list[str]:
        """Tags for display: a person's own first; machine ones are labelled as such."""
        label = {"user": "", "file": " (from file)", "auto": " (auto)"}
        rows = sorted(self.lib.store.tags_of(image_id), key=lambda t: (t["source"] != "user", t["tag"]))
        return [t["tag"] + label.get(t["source"], f" ({t['source']})") for t in rows]

    def image(self, image_id: int) -> dict[str, Any]:
        return self.lib.store.image(image_id)
