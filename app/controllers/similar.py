"""The similar panel's controller: a query photo (from any grid, a file, a drop or the clipboard)
and its ranked neighbours, searched in a worker."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QWidget

from app import jobs
from app.context import AppContext
from app.controllers.base import PhotoController
from app.similar_panel import SimilarPanel
from app.statusbar import StatusBar
from hashcore.ingest.paths import display_path

IMAGE_FILTER = "Images (*.jpg *.jpeg *.png *.webp *.tif *.tiff *.bmp *.gif *.heic)"


class SimilarController(PhotoController):
    searchFinished = Signal(object)  # jobs.SearchResult
    frontRequested = Signal()  # a new query: the window brings the panel to the front

    def __init__(self, ctx: AppContext, status: StatusBar, panel: SimilarPanel, host: QWidget) -> None:
        super().__init__(ctx, status, panel, host)
        self.panel: SimilarPanel = panel
        panel.searchRequested.connect(self.rerun_search)
        panel.chooseFileRequested.connect(self.choose_query_file)

    def find_similar(self, image_id: int) -> None:
        row = self.ctx.image(image_id)
        self.frontRequested.emit()
        self.panel.set_query({"id": image_id, "path": row["path"]}, self.ctx.thumbs.get(row["path"], self.ctx.edge))
        self.rerun_search()

    def search_with_file(self, path: str, label: str | None = None) -> None:
        self.frontRequested.emit()
        self.panel.set_query({"path": path, "label": label or display_path(Path(path).name)})
        self.start(jobs.preview_job, path, 200, on_result=lambda res: self.panel.set_query_thumb(res[1]),
                   on_error=lambda _m: None)
        self.rerun_search()

    def rerun_search(self) -> None:
        q = self.panel.query
        if q is None:
            return
        k, radius = self.panel.k(), self.panel.radius()
        if q.get("id") is not None:
            self.start(jobs.search_id_job, q["id"], k, radius, on_result=self._search_done)
        else:
            self.start(jobs.search_file_job, q["path"], k, radius, q.get("label"), on_result=self._search_done)

    def _search_done(self, result: jobs.SearchResult) -> None:
        self.panel.set_results(result)
        self.searchFinished.emit(result)

    def choose_query_file(self) -> None:
        f, _ = QFileDialog.getOpenFileName(self.host, "Search with an image", str(Path.home()), IMAGE_FILTER)
        if f:
            self.search_with_file(f)

    def paste_search(self) -> None:
        md = QGuiApplication.clipboard().mimeData()
        if md is not None and md.hasImage():
            img = QGuiApplication.clipboard().image()
            folder = self.ctx.config.cache_dir / "pasted"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"pasted-{int(time.time() * 1000)}.png"
            img.save(str(path), "PNG")
            self.search_with_file(str(path), "pasted image")
        elif md is not None and md.hasUrls() and md.urls()[0].isLocalFile():
            self.search_with_file(md.urls()[0].toLocalFile())
        else:
            self.status.say("The clipboard holds no image to search with")
