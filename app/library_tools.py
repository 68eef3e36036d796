"""The Library menu: tag photos automatically (issue 5), adapt the hashing head to this
library's own photos and go back to the shipped one (issue 4).

Each is one long job at a time, never beside indexing: it shows in the status bar's progress
with its Cancel button, asks before it changes anything a person would miss, and hands its
result to the library's controller, which swaps the encoder in the GUI thread once every code
is recomputed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QMessageBox, QWidget

from app import jobs
from app.context import AppContext
from app.controllers.base import Controller
from app.controllers.library import LibraryController
from app.statusbar import StatusBar, eta_text
from hashcore.models.train import MIN_LIBRARY_PHOTOS

SECONDS_PER_IMAGE = 0.04  # the backbone on two CPU cores; only for the rough estimate shown


class LibraryTools(Controller):
    autoTagFinished = Signal(object)  # jobs.TagCounts of Library → Tag photos automatically
    modelChanged = Signal(object)  # jobs.ModelChange: adapted to the library, or back to shipped

    def __init__(self, ctx: AppContext, status: StatusBar, library: LibraryController, host: QWidget) -> None:
        super().__init__(ctx, status, host)
        self.library = library
        self.options = jobs.AdaptOptions()
        self.job: Any = None
        self.verb = ""
        self.announce: Any = None  # the signal to emit once the job has fully ended
        status.cancelRequested.connect(self.cancel)

    def actions(self) -> list[QAction]:
        return [self.auto_tag_action, self.adapt_action, self.shipped_action]

    def build_menu(self, menu: QMenu) -> None:
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
        self.update_actions()

    def _action(self, menu: QMenu, text: str, name: str, slot: Any, tip: str) -> QAction:
        a = QAction(text, self.host)
        a.setObjectName(name)
        a.setStatusTip(tip)
        a.setToolTip(tip)
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    def adapted(self) -> bool:
        """Whether the library uses a head adapted to it (kept in HASHLENS_HOME/models)."""
        info = self.ctx.lib.encoder.info
        return Path(info.path).resolve().parent == (Path(self.ctx.config.home) / "models").resolve()

    def update_actions(self) -> None:
        self.shipped_action.setEnabled(self.adapted())

    def busy(self) -> bool:
        return self.job is not None

    def _can_start(self) -> bool:
        if not self.status.busy():
            return True
        self.status.say("Wait for the current job (indexing, tagging or adapting) to finish, or cancel it")
        return False

    # -- tag photos automatically --------------------------------------------------------------
    def tag_photos(self) -> None:
        if self._can_start():
            self._start("Tagging", jobs.tag_photos_job, on_result=self._tagged)

    def _tagged(self, counts: jobs.TagCounts) -> None:
        self.status.say(f"Tagged photos automatically: {counts.text()}")
        self.library.refresh()
        self.announce = lambda: self.autoTagFinished.emit(counts)

    # -- adapt to my library, or go back ---------------------------------------------------------
    def adapt(self) -> None:
        if not self._can_start():
            return
        snap = self.library.snapshot
        n = int(snap.stats["photos"]) if snap is not None else 0
        if n < MIN_LIBRARY_PHOTOS:
            box = QMessageBox(QMessageBox.Icon.Information, "Adapt to my library",
                              f"Adapting needs at least {MIN_LIBRARY_PHOTOS} photos; this library has {n}.",
                              QMessageBox.StandardButton.Ok, self.host)
            box.setObjectName("adaptRefused")
            box.setInformativeText("Add more folders first. Until then HashLens uses the model it comes with, "
                                   "which works for any photos.")
            box.open()
            return
        use, k = min(n, self.options.max_photos), self.options.images_per_photo
        box = QMessageBox(QMessageBox.Icon.Question, "Adapt to my library",
                          "Adapt similar-photo search to your own photos?", parent=self.host)
        box.setObjectName("confirmAdapt")
        box.setInformativeText(
            f"HashLens learns from {use:,} of your {n:,} photos, each seen {k} ways (crops, colour changes, "
            f"smaller copies), with no labels: roughly {eta_text(use * k * SECONDS_PER_IMAGE)}. This replaces "
            f"the library's hashing model ({self.ctx.lib.encoder.name}); every photo's code is then "
            "recomputed from what is stored, no photo is read again. Library → Use the shipped model goes back.")
        ok = box.addButton(f"Adapt to {use:,} photos", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        self._when_accepted(box, ok, "Learning from your photos", jobs.adapt_job, self.options)

    def use_shipped(self) -> None:
        if not self._can_start():
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Use the shipped model",
                          "Go back to the model HashLens comes with?", parent=self.host)
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
        self.library.use_encoder(change.encoder)
        self.update_actions()
        self.status.say(
            (f"Adapted to {change.samples:,} views of your photos" if change.adapted else "Back to the shipped model")
            + f": {change.name}, {change.recoded:,} codes recomputed in {change.seconds:.0f} s")
        self.announce = lambda: self.modelChanged.emit(change)

    # -- running ---------------------------------------------------------------------------------
    def _start(self, verb: str, fn: Any, *args: Any, on_result: Any) -> None:
        self.verb = verb
        self.status.begin_progress(f"{verb}…", "Stop; nothing is changed")
        self.job = self.start(fn, *args, on_result=on_result, on_error=self._failed, on_finished=self._finished,
                              on_progress=lambda d, t, text: self.status.job_progress(self.verb, d, t, text))

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.status.cancelling("Cancelling…")

    def _failed(self, text: str) -> None:
        if self.job is not None and self.job.cancel_event.is_set():
            self.status.say(text[:1].upper() + text[1:])  # "Training cancelled; nothing …"
        else:
            self.failed.emit(text)

    def _finished(self) -> None:
        self.job = None
        self.status.end_progress()
        announce, self.announce = self.announce, None
        if announce is not None:
            announce()
