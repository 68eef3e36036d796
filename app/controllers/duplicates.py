"""The duplicates panel's controller: finding groups, keep rules, the confirmed move to the Trash
and its undo, each in a worker; the panel decides nothing is removed without being seen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app import jobs
from app.context import AppContext
from app.controllers.base import Controller
from app.controllers.library import LibraryController
from app.duplicates_panel import DuplicatesPanel
from app.statusbar import StatusBar
from app.widgets import human_bytes
from hashcore.cleanup import trash as trashmod
from hashcore.ingest.paths import display_path


class DuplicatesController(Controller):
    duplicatesFound = Signal(object)  # jobs.DupResult
    plansApplied = Signal()
    trashFinished = Signal(object)  # TrashResult
    undoFinished = Signal(object)  # list of restored paths

    def __init__(self, ctx: AppContext, status: StatusBar, panel: DuplicatesPanel, library: LibraryController,
                 host: QWidget) -> None:
        super().__init__(ctx, status, host)
        self.panel = panel
        self.library = library
        panel.findRequested.connect(self.find_duplicates)
        panel.planRequested.connect(self.apply_rule)
        panel.trashRequested.connect(self.confirm_and_trash)
        panel.undoRequested.connect(self.undo)
        panel.dismissRequested.connect(self.dismiss)
        panel.compareImagesWanted.connect(self.load_compare_images)
        panel.chooseFolderRequested.connect(self.choose_preferred)
        panel.set_can_undo(self._can_undo())

    def _can_undo(self) -> bool:
        return trashmod.last_batch(self.ctx.lib.store) is not None

    def find_duplicates(self) -> None:
        scale, shift, rule, pref = self.panel.params()
        if rule == "folder" and not pref:
            rule = "resolution"
        self.panel.set_busy(True, "Looking for duplicates…")
        job = self.start_long("Finding duplicates", jobs.duplicates_job, scale, shift, rule, pref,
                              self.panel.want_similar(), unit="groups", retry=self.find_duplicates,
                              cancel_tip="Stop looking for duplicates", on_result=self._dups_done,
                              on_cancelled=lambda: self.status.say("Duplicate search cancelled"),
                              on_finished=lambda: self.panel.set_busy(False))
        if job is None:
            self.panel.set_busy(True, "Looking for duplicates once the current job has finished…")

    def find_again(self) -> None:
        """The groups on screen, found again (another hashing head gives other codes)."""
        if self.panel.result is not None:
            self.find_duplicates()

    def _dups_done(self, result: jobs.DupResult) -> None:
        self.panel.set_result(result)
        self.duplicatesFound.emit(result)

    def apply_rule(self) -> None:
        if self.panel.result is None:
            return
        _, _, rule, pref = self.panel.params()
        self.start(jobs.plan_job, self.panel.result.groups, rule, pref, on_result=self._plans_done)

    def _plans_done(self, plans: list[tuple[int, list[int]]]) -> None:
        self.panel.set_plans(plans)
        self.plansApplied.emit()

    def choose_preferred(self) -> None:
        d = QFileDialog.getExistingDirectory(self.host, "Prefer copies in this folder", str(Path.home()))
        if d:
            self.panel.set_preferred(d)

    def load_compare_images(self, paths: list[str]) -> None:
        self.start(jobs.full_images_job, paths,
                   on_result=lambda res: self.panel.set_compare_images({p: q for p, q, _ in res}))

    def dismiss(self, ids: list[int]) -> None:
        self.start(jobs.dismiss_job, ids, on_result=self.panel.remove_group)

    # -- the Trash -------------------------------------------------------------------------------
    def confirm_and_trash(self, ids: list[int], nbytes: int) -> None:
        n = len(ids)
        box = QMessageBox(QMessageBox.Icon.Question, "Move to Trash",
                          f"Move {n} photo{'s' if n != 1 else ''} ({human_bytes(nbytes)}) to the Trash?",
                          parent=self.host)
        box.setObjectName("confirmTrash")
        box.setInformativeText("One copy of every group stays where it is. You can put the moved photos back "
                               "with “Undo last removal”, or from your system's Trash.")
        ok = box.addButton(f"Move {n} to Trash", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        if box.clickedButton() is not ok:
            return
        self.panel.set_busy(True, f"Moving {n} photos to the Trash…")
        self.start(jobs.trash_job, ids, on_result=self._trash_done, on_finished=lambda: self.panel.set_busy(False))

    def _trash_done(self, res: Any) -> None:
        text = f"Moved {len(res.moved)} photo{'s' if len(res.moved) != 1 else ''} ({human_bytes(res.bytes)}) to the Trash."
        if res.failed:
            text += f" {len(res.failed)} could not be moved: " + "; ".join(
                display_path(f"{Path(f['path']).name}: {f['error']}") for f in res.failed[:3])
        text += " “Undo last removal” puts them back."
        self._changed(text, bool(res.moved) or self._can_undo())
        self.trashFinished.emit(res)

    def undo(self) -> None:
        self.panel.set_busy(True, "Putting photos back…")
        self.start(jobs.undo_job, on_result=self._undo_done, on_finished=lambda: self.panel.set_busy(False))

    def _undo_done(self, restored: list[str]) -> None:
        self._changed(f"Put back {len(restored)} photo{'s' if len(restored) != 1 else ''} from the Trash.",
                      self._can_undo())
        self.undoFinished.emit(restored)

    def _changed(self, text: str, can_undo: bool) -> None:
        """After files moved: say so, and show the library and the groups as they are now."""
        self.panel.set_banner(text)
        self.status.say(text)
        self.panel.set_can_undo(can_undo)
        self.library.refresh()
        self.find_duplicates()
