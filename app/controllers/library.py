"""The library panel's controller: folders, indexing, and the snapshot of the library that every
panel shows. Indexing is the long job most people see: it shows in the status bar, can be
cancelled, and folders added meanwhile wait for it. While it runs, the photos it has committed
join the grid batch by batch (`_Fill`): a small read job at most every FILL_EVERY seconds, one at
a time, asks the store what was indexed since the last look."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app import jobs, timeline
from app.context import AppContext, auto_tag_enabled
from app.controllers.base import PhotoController
from app.library_panel import LibraryPanel
from app.statusbar import StatusBar
from app.workers import Job
from hashcore.config import RESOURCES
from hashcore.ingest.paths import display_path

SAMPLES = RESOURCES / "samples"
FILL_EVERY = 0.5  # seconds between two looks at what the indexer has committed


@dataclass
class _Fill:
    """Photos joining the grid while one indexing run goes on."""

    since: float  # indexed_at of the newest photo seen (time.time() of the worker's clock)
    last: float = 0.0  # time.monotonic() of the last look
    job: Job | None = None  # the look under way
    again: bool = False  # the indexer reported progress during that look: look once more
    timer: bool = False  # a look is scheduled


class LibraryController(PhotoController):
    snapshotLoaded = Signal(object)  # jobs.LibrarySnapshot
    indexingFinished = Signal(object)  # IndexReport, after the library read that follows the run
    problemsFound = Signal()  # a run skipped files: the window opens the Problems panel
    encoderChanged = Signal()  # another hashing head: searches on screen should run again

    def __init__(self, ctx: AppContext, status: StatusBar, panel: LibraryPanel, settings: QSettings,
                 host: QWidget) -> None:
        super().__init__(ctx, status, panel, host)
        self.panel: LibraryPanel = panel
        self.settings = settings
        self.snapshot: jobs.LibrarySnapshot | None = None
        self.tag_filter: Callable[[], str | None] = lambda: None  # the tags panel's, read by refresh
        self.index_job: Job | None = None
        self.pending_roots: list[str] = []
        self.show_errors_on_finish = True
        self.last_report: Any = None
        self.last_report_text = ""
        self.fill: _Fill | None = None
        panel.addFolderRequested.connect(self.choose_folder)
        panel.samplesRequested.connect(self.try_samples)
        panel.rescanRequested.connect(self.rescan)
        panel.removeRootRequested.connect(self.remove_root)
        panel.protectRootRequested.connect(self.protect_root)
        status.cancelRequested.connect(self.cancel_indexing)
        status.progressEnded.connect(self._start_pending)

    # -- the snapshot ----------------------------------------------------------------------------
    def refresh(self, then: Callable[[], None] | None = None) -> None:
        """Re-read the library (off the GUI thread) and update every panel; then `then`."""
        self.start(jobs.snapshot_job, self.tag_filter(), on_result=self._snapshot, on_finished=then)

    def _snapshot(self, snap: jobs.LibrarySnapshot) -> None:
        self.snapshot = snap
        self.panel.set_snapshot(snap.images, snap.roots, snap.stats)
        self.snapshotLoaded.emit(snap)

    # -- indexing --------------------------------------------------------------------------------
    def index_folders(self, paths: list[str]) -> None:
        paths = [str(Path(p).expanduser().resolve()) for p in paths]
        if self.status.busy():
            self.pending_roots += [p for p in paths if p not in self.pending_roots]
            self.status.say("Will index the new folder when the current run ends")
            return
        self._start_index(jobs.index_job, paths, auto_tag_enabled(self.settings))

    def rescan(self) -> None:
        if self.index_job is not None:
            return
        if self.status.busy():
            self.status.say("Rescan when the current job has finished, or cancel it")
        else:
            self._start_index(jobs.rescan_job, auto_tag_enabled(self.settings))

    def _start_index(self, fn: Callable[..., Any], *args: Any) -> None:
        self.status.begin_progress("Looking for photos…", "Stop indexing; what is done so far is kept")
        self.fill = _Fill(since=time.time())
        self.index_job = self.start(fn, *args, on_result=self._index_done, on_finished=self._index_finished,
                                    on_progress=self._index_progress)

    def _index_progress(self, done: int, total: int, text: str) -> None:
        self.status.job_progress("Indexing", done, total, text)
        self._fill_soon()

    # -- photos joining the grid while indexing runs -----------------------------------------------
    def _fill_soon(self) -> None:
        """Look at what the indexer committed: now, or when FILL_EVERY has passed since the last
        look, or once the look under way ends; never two looks at a time."""
        f = self.fill
        if f is None:
            return
        if f.job is not None:
            f.again = True
            return
        wait = f.last + FILL_EVERY - time.monotonic()
        if f.last and wait > 0:
            if not f.timer:
                f.timer = True
                QTimer.singleShot(int(wait * 1000) + 1, self, lambda: self._fill_timer(f))
            return
        f.last = time.monotonic()
        f.job = self.start(timeline.fresh_rows_job, f.since, on_result=lambda res: self._filled(f, res),
                           on_finished=lambda: self._fill_done(f))

    def _fill_timer(self, f: _Fill) -> None:
        f.timer = False
        self._fill_soon()

    def _filled(self, f: _Fill, res: tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]) -> None:
        rows, roots, stats = res
        if f is not self.fill or not rows:  # the run ended (its snapshot has it all), or nothing new
            return
        f.since = max(f.since, max(r["indexed_at"] for r in rows))  # that batch again next time: no gap
        self.panel.add_rows(rows, roots, stats)
        self.status.set_stats(stats)

    def _fill_done(self, f: _Fill) -> None:
        f.job = None
        if f.again and f is self.fill:
            f.again = False
            self._fill_soon()

    def _start_pending(self) -> None:
        if self.pending_roots and self.index_job is None:
            roots, self.pending_roots = self.pending_roots, []
            QTimer.singleShot(0, lambda: self.index_folders(roots))

    def cancel_indexing(self) -> None:
        if self.index_job is not None:
            self.index_job.cancel()
            self.status.cancelling("Cancelling… (finishing the current batch)")

    def _index_done(self, outcome: jobs.IndexOutcome) -> None:
        r = outcome.report
        if r.cancelled:
            text = f"Indexing cancelled: {r.indexed:,} photos indexed so far are kept."
        else:
            text = (f"Indexed {r.indexed:,} photos in {r.seconds:.1f} s"
                    + (f", {r.skipped:,} unchanged" if r.skipped else "")
                    + (f", {r.moved} moved" if r.moved else "")
                    + (f", {r.missing} missing" if r.missing else ""))
        if outcome.tags is not None and (outcome.tags.auto or outcome.tags.keywords):
            text += f" · tagged: {outcome.tags.text()}"
        if r.errors:
            text += f" · {len(r.errors)} could not be read (see Problems)"
        self.last_report_text = text
        self.last_report = r
        if r.errors and self.show_errors_on_finish:
            self.problemsFound.emit()

    def _index_finished(self) -> None:
        self.index_job = None
        self.fill = None
        had_pending = bool(self.pending_roots)
        self.status.end_progress()  # starts the folders that waited, if any
        self.ctx.lib.invalidate()  # belt and braces: the store generation also changed
        report = self.last_report
        if report is not None:
            self.status.say(self.last_report_text)
        done = None
        if not had_pending and report is not None:
            self.last_report = None
            # once the library read after the run is shown: the grid may hold every photo before
            # that (it fills while the run goes on), the other panels' counts not yet
            done = lambda: self.indexingFinished.emit(report)  # noqa: E731
        self.refresh(then=done)

    # -- folders ---------------------------------------------------------------------------------
    def choose_folder(self) -> None:
        d = QFileDialog.getExistingDirectory(self.host, "Add a photo folder", str(Path.home()))
        if d:
            self.index_folders([d])

    def try_samples(self) -> None:
        dest = self.ctx.config.home / "sample photos"
        self.start(jobs.copy_samples_job, str(SAMPLES), str(dest), on_result=lambda p: self.index_folders([p]))

    def remove_root(self, root_id: int) -> None:
        root = next((r for r in (self.snapshot.roots if self.snapshot else []) if r["id"] == root_id), None)
        if root is None:
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Remove folder",
                          f"Remove “{display_path(root['path'])}” from the library?\n\nIts {root['indexed']:,} photos leave "
                          "HashLens. The files themselves are not touched.", parent=self.host)
        box.setObjectName("confirmRemoveFolder")
        ok = box.addButton("Remove from library", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        if box.clickedButton() is ok:
            self.start(jobs.roots_job, "remove", root_id, on_result=lambda _: self.refresh())

    def protect_root(self, root_id: int, on: bool) -> None:
        self.start(jobs.roots_job, "protect", root_id, on, on_result=lambda _: self.refresh())

    # -- the hashing head ------------------------------------------------------------------------
    def use_encoder(self, encoder: Any) -> None:
        """Switch every later job and the GUI thread's Library to another hashing head (its codes
        are already in the store), then show what the new codes say."""
        from hashcore.library import Library

        self.ctx.runner.encoder = encoder
        old, self.ctx.lib = self.ctx.lib, Library(self.ctx.config, encoder=encoder)
        old.invalidate()  # the old head's codes leave the process-wide cache
        old.close()
        self.refresh()
        self.encoderChanged.emit()
