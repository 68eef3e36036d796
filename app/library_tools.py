"""The Library menu: tag photos automatically (issue 5), adapt the hashing head to this
library's own photos and go back to the shipped one (issue 4).

Each is one long job at a time, never beside indexing: it shows in the status bar's progress
with its Cancel button, asks before it changes anything a person would miss, and hands its
result to the window, which swaps the encoder in the GUI thread once every code is recomputed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QMessageBox

from app import jobs
from hashcore.models.train import MIN_LIBRARY_PHOTOS

if TYPE_CHECKING:
    from app.window import MainWindow

SECONDS_PER_IMAGE = 0.04  # the backbone on two CPU cores; only for the rough estimate shown


class LibraryTools(QObject):
    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
        self.win = win
        self.options = jobs.AdaptOptions()
        self.job: Any = None
        self.verb = ""
        self.announce: Any = None  # the window signal to emit once the job has fully ended

    def build_menu(self, menu: QMenu) -> None:
        w = self.win
        self.auto_tag_action = self._action(
            menu, "Tag photos &automatically", "autoTagAction", self.tag_photos,
            "Read the keywords already in your photo files and add tags for what the model sees "
            "(shown in grey italics, never as your own tags)")
        menu.addSeparator()
        self.adapt_action = self._action(
            menu, "&Adapt to my library…", "adaptAction", self.adapt,
            "Fit similar-photo search to your own photos (no labels needed); replaces this library's model")
        self.shipped_action = self._action(
            menu, "Use the &shipped model…", "shippedModelAction", self.use_shipped,
            "Go back from the model adapted to your photos to the one HashLens comes with")
        w.addActions([self.auto_tag_action, self.adapt_action, self.shipped_action])
        self.update_actions()

    def _action(self, menu: QMenu, text: str, name: str, slot: Any, tip: str) -> QAction:
        a = QAction(text, self.win)
        a.setObjectName(name)
        a.setStatusTip(tip)
        a.setToolTip(tip)
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    def adapted(self) -> bool:
        """Whether the library uses a head adapted to it (kept in HASHLENS_HOME/models)."""
        info = self.win.ctx.lib.encoder.info
        return Path(info.path).resolve().parent == (Path(self.win.ctx.config.home) / "models").resolve()

    def update_actions(self) -> None:
        self.shipped_action.setEnabled(self.adapted())

    def busy(self) -> bool:
        return self.job is not None

    def _can_start(self) -> bool:
        if self.win.index_job is None and self.job is None:
            return True
        self.win.status_label.setText("Wait for the current job (indexing, tagging or adapting) to finish, "
                                      "or cancel it")
        return False

    # -- tag photos automatically --------------------------------------------------------------
    def tag_photos(self) -> None:
        if self._can_start():
            self._start("Tagging", jobs.tag_photos_job, on_result=self._tagged)

    def _tagged(self, counts: jobs.TagCounts) -> None:
        self.win.status_label.setText(f"Tagged photos automatically: {counts.text()}")
        self.win.refresh()
        self.announce = lambda: self.win.autoTagFinished.emit(counts)

    # -- adapt to my library, or go back ---------------------------------------------------------
    def adapt(self) -> None:
        if not self._can_start():
            return
        snap = self.win.snapshot
        n = int(snap.stats["photos"]) if snap is not None else 0
        if n < MIN_LIBRARY_PHOTOS:
            box = QMessageBox(QMessageBox.Icon.Information, "Adapt to my library",
                              f"Adapting needs at least {MIN_LIBRARY_PHOTOS} photos; this library has {n}.",
                              QMessageBox.StandardButton.Ok, self.win)
            box.setObjectName("adaptRefused")
            box.setInformativeText("Add more folders first. Until then HashLens uses the model it comes with, "
                                   "which works for any photos.")
            box.open()
            return
        use, k = min(n, self.options.max_photos), self.options.images_per_photo
        from app.window import eta_text

        box = QMessageBox(QMessageBox.Icon.Question, "Adapt to my library",
                          "Adapt similar-photo search to your own photos?", parent=self.win)
        box.setObjectName("confirmAdapt")
        box.setInformativeText(
            f"HashLens learns from {use:,} of your {n:,} photos, each seen {k} ways (crops, colour changes, "
            f"smaller copies), with no labels: roughly {eta_text(use * k * SECONDS_PER_IMAGE)}. This replaces "
            f"the library's hashing model ({self.win.ctx.lib.encoder.name}); every photo's code is then "
            "recomputed from what is stored, no photo is read again. Library → Use the shipped model goes back.")
        ok = box.addButton(f"Adapt to {use:,} photos", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        self._when_accepted(box, ok, "Learning from your photos", jobs.adapt_job, self.options)

    def use_shipped(self) -> None:
        if not self._can_start():
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Use the shipped model",
                          "Go back to the model HashLens comes with?", parent=self.win)
        box.setObjectName("confirmShippedModel")
        box.setInformativeText("Similar-photo search and duplicates then use the shipped model instead of the "
                               "one adapted to your photos. Codes are recomputed from what is stored (seconds); "
                               "you can adapt again at any time.")
        ok = box.addButton("Use the shipped model", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        self._when_accepted(box, ok, "Recomputing codes", jobs.shipped_model_job)

    def _when_accepted(self, box: QMessageBox, ok: Any, verb: str, fn: Any, *args: Any) -> None:
        """Open the question window-modal (the event loop runs on); start the job on `ok`."""
        def answered(_result: int) -> None:
            if box.clickedButton() is ok and self._can_start():
                self._start(verb, fn, *args, on_result=self._model_changed)

        box.finished.connect(answered)
        box.open()

    def _model_changed(self, change: jobs.ModelChange) -> None:
        self.win.use_encoder(change.encoder)
        self.update_actions()
        self.win.status_label.setText(
            (f"Adapted to {change.samples:,} views of your photos" if change.adapted else "Back to the shipped model")
            + f": {change.name}, {change.recoded:,} codes recomputed in {change.seconds:.0f} s")
        self.announce = lambda: self.win.modelChanged.emit(change)

    # -- running ---------------------------------------------------------------------------------
    def _start(self, verb: str, fn: Any, *args: Any, on_result: Any) -> None:
        w = self.win
        self.verb = verb
        w.begin_progress(f"{verb}…", "Stop; nothing is changed")
        self.job = w.start(fn, *args, on_result=on_result, on_error=self._failed, on_finished=self._finished,
                           on_progress=lambda d, t, text: w.job_progress(self.verb, d, t, text))

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.win.cancel_btn.setEnabled(False)
            self.win.progress_label.setText("Cancelling…")

    def _failed(self, text: str) -> None:
        if self.job is not None and self.job.cancel_event.is_set():
            self.win.status_label.setText(text[:1].upper() + text[1:])  # "Training cancelled; nothing …"
        else:
            self.win.show_error(text)

    def _finished(self) -> None:
        self.job = None
        self.win.end_progress()
        announce, self.announce = self.announce, None
        if announce is not None:
            announce()
