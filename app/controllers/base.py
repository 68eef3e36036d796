"""What every controller shares: starting a job whose answers are dropped once the window is
gone, errors out as one signal (the window shows the dialog), long jobs in the status bar's one
shape (count, rate, time left, Cancel), and for the panels with a photo grid, the preview of the
current photo."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from app import jobs
from app.context import AppContext
from app.photo_panel import PhotoPanel
from app.statusbar import StatusBar
from app.workers import Job
from hashcore.errors import NotFoundError

CANCEL_TIP = "Stop; nothing is changed"


class Controller(QObject):
    failed = Signal(str)  # a job's error, for the window's dialog

    def __init__(self, ctx: AppContext, status: StatusBar, host: QWidget) -> None:
        super().__init__(host)
        self.ctx = ctx
        self.status = status
        self.host = host  # the window: parent of this controller's dialogs
        self._waiting: Callable[[], None] | None = None  # a long job waiting for the status bar
        self._waits = False

    def start(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Job:
        kw.setdefault("on_error", self.failed.emit)
        for key in ("on_result", "on_error", "on_progress", "on_finished"):
            if callable(kw.get(key)):
                kw[key] = self._while_alive(kw[key])
        return self.ctx.runner.start(fn, *args, **kw)

    def start_long(self, verb: str, fn: Callable[..., Any], *args: Any, unit: str = "photos",
                   cancel_tip: str = CANCEL_TIP, retry: Callable[[], None] | None = None,
                   on_cancelled: Callable[[], None] | None = None, **kw: Any) -> Job | None:
        """A job that may take more than a second: in the status bar's progress area (count, rate,
        time left, Cancel), one at a time. While another long job runs, `retry` (the request
        again) waits for it, the latest of this controller's requests winning, and None is
        returned. A cancelled job ends with `on_cancelled` (or a line in the status bar), never
        with an error dialog."""
        if self.status.busy():
            self.status.say(f"{verb}: waits for the current job to finish")
            self._waiting = retry or (lambda: self.start_long(verb, fn, *args, unit=unit, cancel_tip=cancel_tip,
                                                              on_cancelled=on_cancelled, **kw))
            if not self._waits:
                self._waits = True
                self.status.progressEnded.connect(lambda: QTimer.singleShot(0, self._start_waiting))
            return None
        user_finished, user_error = kw.pop("on_finished", None), kw.pop("on_error", self.failed.emit)
        self.status.begin_progress(f"{verb}…", cancel_tip, unit)
        holder: list[Job] = []

        def cancel() -> None:
            if holder and not holder[0].done.is_set():
                holder[0].cancel()
                self.status.cancelling("Cancelling…")

        def error(text: str) -> None:
            if holder and holder[0].cancel_event.is_set():
                (on_cancelled or (lambda: self.status.say(f"{verb}: cancelled")))()
            else:
                user_error(text)

        def finished() -> None:
            self.status.cancelRequested.disconnect(cancel)
            if user_finished is not None:
                user_finished()
            self.status.end_progress()

        self.status.cancelRequested.connect(cancel)
        holder.append(self.start(fn, *args, on_error=error, on_finished=finished,
                                 on_progress=lambda d, t, text: self.status.job_progress(verb, d, t, text), **kw))
        return holder[0]

    def _start_waiting(self) -> None:
        waiting, self._waiting = self._waiting, None
        if waiting is not None and shiboken6.isValid(self):
            waiting()  # busy again (another waiter was first): it waits once more

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
