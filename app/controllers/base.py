"""What every controller shares: starting a job whose answers are dropped once the window is
gone, errors out as one signal (the window shows the dialog), and for the panels with a photo
grid, the preview of the current photo."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app import jobs
from app.context import AppContext
from app.photo_panel import PhotoPanel
from app.statusbar import StatusBar
from app.workers import Job
from hashcore.errors import NotFoundError


class Controller(QObject):
    failed = Signal(str)  # a job's error, for the window's dialog

    def __init__(self, ctx: AppContext, status: StatusBar, host: QWidget) -> None:
        super().__init__(host)
        self.ctx = ctx
        self.status = status
        self.host = host  # the window: parent of this controller's dialogs

    def start(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Job:
        kw.setdefault("on_error", self.failed.emit)
        for key in ("on_result", "on_error", "on_progress", "on_finished"):
            if callable(kw.get(key)):
                kw[key] = self._while_alive(kw[key])
        return self.ctx.runner.start(fn, *args, **kw)

    def _while_alive(self, slot: Callable[..., Any]) -> Callable[..., Any]:
        """Drop a worker's late answer once the window is gone (closed, or a test tore it down)."""
        def guarded(*a: Any) -> Any:
            return slot(*a) if shiboken6.isValid(self) else None
        return guarded


class PhotoController(Controller):
    """A controller of a panel with a photo grid: the preview follows the current photo."""

    def __init__(self, ctx: AppContext, status: StatusBar, panel: PhotoPanel, host: QWidget) -> None:
        super().__init__(ctx, status, host)
        self.panel = panel
        self.preview_job: Job | None = None
        panel.selectionChangedTo.connect(self.show_preview)

    def show_preview(self, row: dict[str, Any] | None) -> None:
        if row is not None:
            try:
                row = self.ctx.image(row["id"])  # full facts (search hits only carry id and path)
            except NotFoundError:  # a row that vanished meanwhile: show what we have
                pass
        tags = self.ctx.tags_of(row["id"]) if row else None
        self.panel.show_preview(row, tags, self.ctx.thumbs.get(row["path"], self.ctx.edge) if row else None)
        if row is None:
            return
        if self.preview_job is not None:
            self.preview_job.cancel()
        self.preview_job = self.start(jobs.preview_job, row["path"], 1024,
                                      on_result=lambda res: self.panel.set_preview_image(res[0], res[1]),
                                      on_error=lambda _msg: None)
