"""The main window: four panels in tabs, a status bar with indexing progress, a problems panel.

The window is the one place that starts jobs and routes their results to panels; panels only
emit requests. Signals named `...Finished`/`...Loaded` let tests (and screenshots) wait for work.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QIcon,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import jobs
from app.context import DEFAULT_EDGE, THUMB_EDGES, AppContext, settings
from app.duplicates_panel import DuplicatesPanel
from app.library_panel import LibraryPanel
from app.library_tools import LibraryTools
from app.photogrid import PhotoGrid, ThumbCache
from app.similar_panel import SimilarPanel
from app.tags_panel import TagsPanel
from app.widgets import PreviewPane, copy_text, human_bytes, open_file, show_in_folder
from app.workers import JobRunner, ThumbLoader
from hashcore.cleanup import trash as trashmod
from hashcore.config import RESOURCES, SUPPORTED_BITS, Config
from hashcore.ingest.decode import is_photo_name

PACKAGING = Path(__file__).resolve().parent.parent / "packaging"
ICON_PATH = PACKAGING / "hashlens.svg"
SAMPLES = RESOURCES / "samples"
PANELS = ("library", "similar", "duplicates", "tags")


def app_icon() -> QIcon:
    return QIcon(str(ICON_PATH)) if ICON_PATH.is_file() else QIcon()


def eta_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class MainWindow(QMainWindow):
    snapshotLoaded = Signal()
    indexingFinished = Signal(object)  # IndexReport
    searchFinished = Signal(object)  # SearchResult
    tagSearchFinished = Signal(object)  # TagSearchResult
    duplicatesFound = Signal(object)  # DupResult
    plansApplied = Signal()
    trashFinished = Signal(object)  # TrashResult
    undoFinished = Signal(object)  # list of restored paths
    autoTagFinished = Signal(object)  # jobs.TagCounts of Library → Tag photos automatically
    modelChanged = Signal(object)  # jobs.ModelChange: adapted to the library, or back to shipped
    jobFailed = Signal(str)

    def __init__(self, config: Config, encoder: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from hashcore.library import Library

        self.setObjectName("mainWindow")
        self.setWindowTitle("HashLens")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.settings = settings()
        edge = int(self.settings.value("thumbEdge", DEFAULT_EDGE))
        runner = JobRunner(config, str(config.db_path), encoder, self)
        loader = ThumbLoader(config.cache_dir, parent=self)
        self.ctx = AppContext(config, runner, loader, ThumbCache(loader, parent=self),
                              Library(config, encoder=encoder), edge if edge in THUMB_EDGES else DEFAULT_EDGE)
        self.index_job: Any = None
        self.pending_roots: list[str] = []
        self.preview_job: Any = None
        self.snapshot: jobs.LibrarySnapshot | None = None
        self.errors_shown_once = False
        self.show_errors_on_finish = True

        self.library = LibraryPanel(self.ctx)
        self.similar = SimilarPanel(self.ctx)
        self.duplicates = DuplicatesPanel(self.ctx)
        self.tags = TagsPanel(self.ctx)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.library, "Library")
        self.tabs.addTab(self.similar, "Similar")
        self.tabs.addTab(self.duplicates, "Duplicates")
        self.tabs.addTab(self.tags, "Tags")
        self.setCentralWidget(self.tabs)
        self._build_errors_dock()
        self._build_status()
        self.tools = LibraryTools(self)
        self._build_menus()
        self._connect()
        self._restore()
        self.refresh()
        self.duplicates.set_can_undo(trashmod.last_batch(self.ctx.lib.store) is not None)

    # -- construction ------------------------------------------------------------------------
    def _build_errors_dock(self) -> None:
        self.errors_dock = QDockWidget("Problems", self)
        self.errors_dock.setObjectName("errorsPanel")
        self.errors_table = QTableWidget(0, 2)
        self.errors_table.setObjectName("errorsTable")
        self.errors_table.setHorizontalHeaderLabels(["File or folder", "What went wrong"])
        self.errors_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.errors_table.horizontalHeader().setStretchLastSection(True)
        self.errors_table.setColumnWidth(0, 460)
        self.errors_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.errors_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.errors_table.verticalHeader().setVisible(False)
        self.errors_table.itemDoubleClicked.connect(
            lambda it: show_in_folder(self.errors_table.item(it.row(), 0).text()))
        hint = QLabel("These files were skipped; the rest of the library is fine. Fix or remove them "
                      "and press Rescan (F5). Double-click a row to open its folder.")
        hint.setWordWrap(True)
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.addWidget(hint)
        lay.addWidget(self.errors_table)
        self.errors_dock.setWidget(box)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.errors_dock)
        self.errors_dock.hide()

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.status_label = QLabel("")
        self.progress_label = QLabel("")
        self.progress_label.setObjectName("progressLabel")
        self.progress = QProgressBar()
        self.progress.setObjectName("indexProgress")
        self.progress.setFixedWidth(220)
        self.progress.setTextVisible(True)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setObjectName("cancelIndexing")
        self.cancel_btn.setToolTip("Stop indexing; what is done so far is kept")
        self.cancel_btn.clicked.connect(self.cancel_running)
        self.errors_btn = QToolButton()
        self.errors_btn.setObjectName("errorsButton")
        self.errors_btn.setAutoRaise(True)
        self.errors_btn.clicked.connect(self.toggle_problems)
        self.stats_label = QLabel("")
        self.stats_label.setObjectName("statsLabel")
        sb.addWidget(self.status_label, 1)
        sb.addPermanentWidget(self.stats_label)
        sb.addPermanentWidget(self.progress_label)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_btn)
        sb.addPermanentWidget(self.errors_btn)
        self._show_progress(False)

    def _action(self, menu: QMenu, text: str, slot: Any, shortcut: Any = None, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(slot)
        menu.addAction(a)
        self.addAction(a)
        return a

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self._action(f, "&Add folder…", self.choose_folder, QKeySequence.StandardKey.Open)
        self._action(f, "Try the &sample photos", self.try_samples)
        self.rescan_action = self._action(f, "&Rescan library", self.rescan, "F5")
        self._action(f, "Search with an image &file…", self.choose_query_file, "Ctrl+Shift+O")
        f.addSeparator()
        self._action(f, "&Settings…", self.open_settings, QKeySequence.StandardKey.Preferences)
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        e = mb.addMenu("&Photo")
        self._action(e, "&Open", lambda: self._on_current(open_file), "Ctrl+Return")
        self._action(e, "Show in &folder", lambda: self._on_current(show_in_folder), "Ctrl+Shift+F")
        self._action(e, "Find &similar", lambda: self._on_current_row(lambda r: self.find_similar(r["id"])), "Ctrl+F")
        self._action(e, "&Copy path", self.copy_selected_paths, "Ctrl+Shift+C")
        self._action(e, "&Tag selected…", self.tag_selected, "Ctrl+T")
        e.addSeparator()
        self._action(e, "Search with &pasted image", self.paste_search, QKeySequence.StandardKey.Paste)
        v = mb.addMenu("&View")
        for n, name in enumerate(("&Library", "&Similar", "&Duplicates", "&Tags")):
            self._action(v, name, lambda _=False, n=n: self.tabs.setCurrentIndex(n), f"Ctrl+{n + 1}")
        v.addSeparator()
        self._action(v, "&Problems", self.toggle_problems, "Ctrl+E")
        self.tools.build_menu(mb.addMenu("&Library"))
        h = mb.addMenu("&Help")
        self._action(h, "&About HashLens", self.about)

    def _connect(self) -> None:
        lp = self.library
        lp.addFolderRequested.connect(self.choose_folder)
        lp.samplesRequested.connect(self.try_samples)
        lp.rescanRequested.connect(self.rescan)
        lp.removeRootRequested.connect(self.remove_root)
        lp.protectRootRequested.connect(self.protect_root)
        for panel in (self.library, self.similar, self.tags):
            panel.selectionChangedTo.connect(lambda row, p=panel.preview: self.show_preview(p, row))
            panel.preview.findSimilar.connect(self.find_similar)
            panel.grid.activatedPhoto.connect(self.find_similar)
            panel.grid.customContextMenuRequested.connect(lambda pos, g=panel.grid: self.grid_menu(g, pos))
        sp = self.similar
        sp.searchRequested.connect(self.rerun_search)
        sp.chooseFileRequested.connect(self.choose_query_file)
        dp = self.duplicates
        dp.findRequested.connect(self.find_duplicates)
        dp.planRequested.connect(self.apply_rule)
        dp.trashRequested.connect(self.confirm_and_trash)
        dp.undoRequested.connect(self.undo)
        dp.dismissRequested.connect(self.dismiss)
        dp.compareImagesWanted.connect(self.load_compare_images)
        dp.chooseFolderRequested.connect(self.choose_preferred)
        tp = self.tags
        tp.tagRequested.connect(self.change_tags)
        tp.filterChanged.connect(lambda _tag: self.refresh())
        tp.set_semantic_search(self.find_tag)
        tp.semanticSearchRequested.connect(self.find_tag)
        tp.learnRequested.connect(self.learn_tags)
        tp.selectionChangedTo.connect(self.suggest_tags)
        self.start(jobs.tag_vocabulary_job, on_result=tp.set_completions, on_error=lambda _m: None)
        self.tabs.currentChanged.connect(lambda n: self.settings.setValue("lastPanel", PANELS[n]))

    def _restore(self) -> None:
        s = self.settings
        geo = s.value("geometry")
        if isinstance(geo, QByteArray) and not geo.isEmpty():
            self.restoreGeometry(geo)
        else:
            self.resize(1320, 840)
        state = s.value("windowState")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        last = s.value("lastPanel", "library")
        self.tabs.setCurrentIndex(PANELS.index(last) if last in PANELS else 0)
        self.similar.k_spin.setValue(int(s.value("similar/k", 24)))
        self.similar.radius_spin.setValue(int(s.value("similar/radius", -1)))
        self.duplicates.level.setValue(int(s.value("duplicates/level", 2)))
        rule = s.value("duplicates/rule", "resolution")
        idx = self.duplicates.rule.findData(rule)
        self.duplicates.rule.setCurrentIndex(max(idx, 0))
        pref = s.value("duplicates/preferred", "")
        if pref:
            self.duplicates.set_preferred(str(pref))

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("geometry", self.saveGeometry())
        s.setValue("windowState", self.saveState())
        s.setValue("lastPanel", PANELS[self.tabs.currentIndex()])
        s.setValue("similar/k", self.similar.k_spin.value())
        s.setValue("similar/radius", self.similar.radius_spin.value())
        s.setValue("duplicates/level", self.duplicates.level.value())
        s.setValue("duplicates/rule", self.duplicates.rule.currentData())
        s.setValue("duplicates/preferred", self.duplicates.preferred or "")
        s.setValue("thumbEdge", self.ctx.edge)
        s.sync()

    def closeEvent(self, e: QCloseEvent) -> None:  # noqa: N802
        self.save_settings()
        self.ctx.loader.shutdown()
        self.ctx.runner.shutdown()
        self.ctx.lib.close()
        super().closeEvent(e)

    # -- jobs ----------------------------------------------------------------------------------
    def start(self, fn: Any, *args: Any, **kw: Any) -> Any:
        kw.setdefault("on_error", self.show_error)
        for key in ("on_result", "on_error", "on_progress", "on_finished"):
            if callable(kw.get(key)):
                kw[key] = self._while_alive(kw[key])
        return self.ctx.runner.start(fn, *args, **kw)

    def _while_alive(self, slot: Any) -> Any:
        """Drop a worker's late answer once this window is gone (closed, or a test tore it down)."""
        def guarded(*a: Any) -> Any:
            return slot(*a) if shiboken6.isValid(self) else None
        return guarded

    def show_error(self, text: str) -> None:
        self.status_label.setText(f"Error: {text}")
        self.jobFailed.emit(text)
        box = QMessageBox(QMessageBox.Icon.Warning, "HashLens", text, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("errorDialog")
        box.open()  # window-modal, never blocks the event loop

    def refresh(self) -> None:
        """Re-read the library (off the GUI thread) and update every panel."""
        self.start(jobs.snapshot_job, self.tags.current_tag(), on_result=self._snapshot)

    def _snapshot(self, snap: jobs.LibrarySnapshot) -> None:
        self.snapshot = snap
        self.library.set_snapshot(snap.images, snap.roots, snap.stats)
        self.tags.set_tags(snap.tags, len(snap.images))
        if snap.tag_filter == self.tags.current_tag():
            if snap.filtered_ids is None:
                rows = snap.images
            else:
                keep = set(snap.filtered_ids)
                rows = [r for r in snap.images if r["id"] in keep]
            self.tags.set_rows(rows, snap.tag_filter)
        self._fill_errors(snap.errors)
        st = snap.stats
        self.stats_label.setText(f"{st['photos']:,} photos in {st['roots']} folder{'s' if st['roots'] != 1 else ''}"
                                 + (f" · {st['missing']} missing" if st["missing"] else ""))
        self.rescan_action.setEnabled(bool(snap.roots))
        self.snapshotLoaded.emit()

    def show_problems(self) -> None:
        if not self.errors_dock.isVisible():
            self.errors_dock.show()
            self.resizeDocks([self.errors_dock], [200], Qt.Orientation.Vertical)

    def toggle_problems(self) -> None:
        if self.errors_dock.isVisible():
            self.errors_dock.hide()
        else:
            self.show_problems()

    def _fill_errors(self, errors: list[dict[str, Any]]) -> None:
        self.errors_table.setRowCount(len(errors))
        for n, e in enumerate(errors):
            self.errors_table.setItem(n, 0, QTableWidgetItem(e["path"]))
            self.errors_table.setItem(n, 1, QTableWidgetItem(e["error"]))
        self.errors_btn.setText(f"⚠ {len(errors)} problem{'s' if len(errors) != 1 else ''}" if errors else "No problems")
        self.errors_btn.setToolTip("Show the files that could not be indexed (Ctrl+E)")
        self.errors_btn.setEnabled(bool(errors))

    # -- indexing ------------------------------------------------------------------------------
    def index_folders(self, paths: list[str]) -> None:
        paths = [str(Path(p).expanduser().resolve()) for p in paths]
        if self.index_job is not None or self.tools.busy():
            self.pending_roots += [p for p in paths if p not in self.pending_roots]
            self.status_label.setText("Will index the new folder when the current run ends")
            return
        self._start_index(jobs.index_job, paths, self.auto_tag_enabled())

    def rescan(self) -> None:
        if self.tools.busy():
            self.status_label.setText("Rescan when the current job has finished, or cancel it")
        elif self.index_job is None:
            self._start_index(jobs.rescan_job, self.auto_tag_enabled())

    def auto_tag_enabled(self) -> bool:
        """Tag new photos after indexing (keywords in the files, the model's tags); Settings."""
        return bool(self.settings.value("autoTag", True, type=bool))

    def _start_index(self, fn: Any, *args: Any) -> None:
        self.index_t0 = time.monotonic()
        self.begin_progress("Looking for photos…", "Stop indexing; what is done so far is kept")
        self.index_job = self.start(fn, *args, on_progress=self._index_progress, on_result=self._index_done,
                                    on_finished=self._index_finished)

    def begin_progress(self, text: str, cancel_tip: str) -> None:
        """The status bar's progress for one long job (indexing, tagging, adapting)."""
        self.rate_start: tuple[str, float, int] | None = None
        self._show_progress(True)
        self.progress.setRange(0, 0)
        self.progress_label.setText(text)
        self.cancel_btn.setToolTip(cancel_tip)

    def end_progress(self) -> None:
        self._show_progress(False)
        if self.pending_roots and self.index_job is None:
            roots, self.pending_roots = self.pending_roots, []
            QTimer.singleShot(0, lambda: self.index_folders(roots))

    def _show_progress(self, on: bool) -> None:
        for w in (self.progress, self.progress_label, self.cancel_btn):
            w.setVisible(on)
        self.cancel_btn.setEnabled(on)

    def _index_progress(self, done: int, total: int, text: str) -> None:
        self.job_progress("Indexing", done, total, text)

    def job_progress(self, verb: str, done: int, total: int, text: str) -> None:
        """Count, rate and time left; a job's phase ("Reading keywords") replaces its verb."""
        name, sep, path = text.partition(jobs.PHASE_SEP)
        verb, path = (name, path) if sep else (verb, text)
        now = time.monotonic()
        if self.rate_start is None or self.rate_start[0] != verb:
            self.rate_start = (verb, now, done)
        _, t_first, d_first = self.rate_start
        rate = (done - d_first) / (now - t_first) if now - t_first > 0.5 and done > d_first else 0.0
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done:,} / {total:,}")
        left = f" · about {eta_text((total - done) / rate)} left" if rate > 0 else ""
        self.progress_label.setText(f"{verb} {Path(path).name}".strip() if rate == 0 else
                                    f"{verb} · {rate:.1f} photos/s{left}")
        self.progress_label.setToolTip(path)

    def cancel_running(self) -> None:
        if self.index_job is not None:
            self.cancel_indexing()
        else:
            self.tools.cancel()

    def cancel_indexing(self) -> None:
        if self.index_job is not None:
            self.index_job.cancel()
            self.cancel_btn.setEnabled(False)
            self.progress_label.setText("Cancelling… (finishing the current batch)")

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
            self.show_problems()

    def _index_finished(self) -> None:
        self.index_job = None
        had_pending = bool(self.pending_roots)
        self.end_progress()  # starts the folders that waited, if any
        self.ctx.lib.invalidate()  # belt and braces: the store generation also changed
        self.refresh()
        report = getattr(self, "last_report", None)
        if report is not None:
            self.status_label.setText(self.last_report_text)
        if not had_pending and report is not None:
            self.last_report = None
            self.indexingFinished.emit(report)

    # -- library actions -----------------------------------------------------------------------
    def use_encoder(self, encoder: Any) -> None:
        """Switch every later job and the GUI thread's Library to another hashing head (its codes
        are already in the store), then show what the new codes say."""
        from hashcore.library import Library

        self.ctx.runner.encoder = encoder
        old, self.ctx.lib = self.ctx.lib, Library(self.ctx.config, encoder=encoder)
        old.invalidate()  # the old head's codes leave the process-wide cache
        old.close()
        self.refresh()
        if self.similar.query is not None:
            self.rerun_search()
        if self.duplicates.result is not None:
            self.find_duplicates()

    def choose_folder(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Add a photo folder", str(Path.home()))
        if d:
            self.index_folders([d])

    def try_samples(self) -> None:
        dest = self.ctx.config.home / "sample photos"
        self.start(jobs.copy_samples_job, str(SAMPLES), str(dest),
                   on_result=lambda p: self.index_folders([p]))

    def remove_root(self, root_id: int) -> None:
        root = next((r for r in (self.snapshot.roots if self.snapshot else []) if r["id"] == root_id), None)
        if root is None:
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Remove folder",
                          f"Remove “{root['path']}” from the library?\n\nIts {root['indexed']:,} photos leave "
                          "HashLens. The files themselves are not touched.", parent=self)
        box.setObjectName("confirmRemoveFolder")
        ok = box.addButton("Remove from library", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        if box.clickedButton() is ok:
            self.start(jobs.roots_job, "remove", root_id, on_result=lambda _: self.refresh())

    def protect_root(self, root_id: int, on: bool) -> None:
        self.start(jobs.roots_job, "protect", root_id, on, on_result=lambda _: self.refresh())

    # -- preview -------------------------------------------------------------------------------
    def show_preview(self, pane: PreviewPane, row: dict[str, Any] | None) -> None:
        if row is not None:
            try:
                row = self.ctx.image(row["id"])  # full facts (search hits only carry id and path)
            except Exception:  # noqa: BLE001 - a row that vanished meanwhile: show what we have
                pass
        pane.show_row(row, self.ctx.tags_of(row["id"]) if row else None)
        if row is None:
            return
        thumb = self.ctx.thumbs.get(row["path"], self.ctx.edge)
        if thumb is not None:
            pane.image.set_image(thumb)
        if self.preview_job is not None:
            self.preview_job.cancel()
        self.preview_job = self.start(jobs.preview_job, row["path"], 1024,
                                      on_result=lambda res, p=pane: p.set_image(res[0], res[1]),
                                      on_error=lambda _msg: None)

    # -- find similar --------------------------------------------------------------------------
    def find_similar(self, image_id: int) -> None:
        row = self.ctx.image(image_id)
        self.tabs.setCurrentWidget(self.similar)
        self.similar.set_query({"id": image_id, "path": row["path"]},
                               self.ctx.thumbs.get(row["path"], self.ctx.edge))
        self.rerun_search()

    def search_with_file(self, path: str, label: str | None = None) -> None:
        self.tabs.setCurrentWidget(self.similar)
        self.similar.set_query({"path": path, "label": label or Path(path).name})
        self.start(jobs.preview_job, path, 200, on_result=lambda res: self.similar.set_query_thumb(res[1]),
                   on_error=lambda _m: None)
        self.rerun_search()

    def rerun_search(self) -> None:
        q = self.similar.query
        if q is None:
            return
        k, radius = self.similar.k_spin.value(), self.similar.radius()
        if q.get("id") is not None:
            self.start(jobs.search_id_job, q["id"], k, radius, on_result=self._search_done)
        else:
            self.start(jobs.search_file_job, q["path"], k, radius, q.get("label"), on_result=self._search_done)

    def _search_done(self, result: jobs.SearchResult) -> None:
        self.similar.set_results(result)
        self.searchFinished.emit(result)

    def choose_query_file(self) -> None:
        f, _ = QFileDialog.getOpenFileName(self, "Search with an image", str(Path.home()),
                                           "Images (*.jpg *.jpeg *.png *.webp *.tif *.tiff *.bmp *.gif *.heic)")
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
            self.status_label.setText("The clipboard holds no image to search with")

    # -- drag and drop -------------------------------------------------------------------------
    def dragEnterEvent(self, e: QDragEnterEvent) -> None:  # noqa: N802
        md = e.mimeData()
        if md.hasImage() or (md.hasUrls() and any(u.isLocalFile() for u in md.urls())):
            e.acceptProposedAction()

    def dropEvent(self, e: QDropEvent) -> None:  # noqa: N802
        md = e.mimeData()
        files = [u.toLocalFile() for u in md.urls() if u.isLocalFile()] if md.hasUrls() else []
        folders = [f for f in files if os.path.isdir(f)]
        images = [f for f in files if os.path.isfile(f) and is_photo_name(f)]
        if folders:
            self.index_folders(folders)
            self.tabs.setCurrentWidget(self.library)
        elif images:
            self.search_with_file(images[0])
        elif md.hasImage():
            QGuiApplication.clipboard().setImage(md.imageData())
            self.paste_search()
        e.acceptProposedAction()

    # -- context menus and photo actions ---------------------------------------------------------
    def current_grid(self) -> PhotoGrid | None:
        w = self.tabs.currentWidget()
        return getattr(w, "grid", None)

    def _on_current_row(self, fn: Any) -> None:
        g = self.current_grid()
        row = g.current_row() if g else None
        if row:
            fn(row)

    def _on_current(self, fn: Any) -> None:
        self._on_current_row(lambda r: fn(r["path"]))

    def copy_selected_paths(self) -> None:
        g = self.current_grid()
        rows = g.selected_rows() if g else []
        if rows:
            copy_text("\n".join(r["path"] for r in rows))
            self.status_label.setText(f"Copied {len(rows)} path{'s' if len(rows) != 1 else ''}")

    def tag_selected(self) -> None:
        g = self.current_grid()
        ids = g.selected_ids() if g else []
        if not ids:
            return
        dlg = QDialog(self)
        dlg.setWindowTitle("Tag photos")
        edit = QLineEdit()
        edit.setPlaceholderText("tags, separated by commas")
        lay = QFormLayout(dlg)
        lay.addRow(f"Tags for {len(ids)} photo{'s' if len(ids) != 1 else ''}:", edit)
        bb = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        bb.accepted.connect(dlg.accept)
        bb.rejected.connect(dlg.reject)
        lay.addRow(bb)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            tags = [t.strip() for t in edit.text().split(",") if t.strip()]
            if tags:
                self.change_tags("add", ids, tags)

    def grid_menu(self, grid: PhotoGrid, pos: Any) -> None:
        idx = grid.indexAt(pos)
        if not idx.isValid():
            return
        if not grid.selectionModel().isSelected(idx):
            grid.setCurrentIndex(idx)
        row = grid.current_row()
        menu = QMenu(self)
        menu.setObjectName("photoMenu")
        menu.addAction("Open", lambda: open_file(row["path"]))
        menu.addAction("Show in folder", lambda: show_in_folder(row["path"]))
        menu.addAction("Find similar", lambda: self.find_similar(row["id"]))
        menu.addAction("Copy path", self.copy_selected_paths)
        menu.addSeparator()
        menu.addAction("Add tag…", self.tag_selected)
        menu.popup(grid.viewport().mapToGlobal(pos))

    # -- tags ----------------------------------------------------------------------------------
    def find_tag(self, text: str) -> None:
        """Tag search across modalities (issue 5): runs in a worker, results land in the grid."""
        if not text.strip():
            self.tags.count.setText("Type a word to search for, e.g. cat, beach, car")
            return
        self.status_label.setText(f"Searching for “{text.strip()}”…")
        self.start(jobs.tag_search_job, text, on_result=self._tag_search_done)

    def _tag_search_done(self, result: jobs.TagSearchResult) -> None:
        self.status_label.setText("")
        self.tags.show_tag_results(result)
        self.tagSearchFinished.emit(result)

    def suggest_tags(self, row: dict[str, Any] | None) -> None:
        if row is not None:
            self.start(jobs.suggest_tags_job, row["id"], on_result=lambda r: self.tags.set_suggestions(*r),
                       on_error=lambda _m: None)

    def learn_tags(self) -> None:
        self.tags.learn_btn.setEnabled(False)

        def done(info: dict[str, Any]) -> None:
            self.status_label.setText(f"Learned {len(info['tags'])} tags from {info['photos']} photos "
                                      f"in {info['seconds']:.0f} s")
            self.start(jobs.tag_vocabulary_job, on_result=self.tags.set_completions, on_error=lambda _m: None)

        self.start(jobs.learn_tags_job, on_result=done,
                   on_progress=lambda d, t, text: self.status_label.setText(f"{text} ({d}/{t})"),
                   on_finished=lambda: self.tags.learn_btn.setEnabled(True))

    def change_tags(self, action: str, ids: list[int], tags: list[str]) -> None:
        def done(_: Any) -> None:
            self.status_label.setText(f"{'Tagged' if action == 'add' else 'Untagged'} {len(ids)} photo"
                                      f"{'s' if len(ids) != 1 else ''}: {', '.join(tags)}")
            self.refresh()
        self.start(jobs.tag_job, action, ids, tags, on_result=done)

    # -- duplicates ----------------------------------------------------------------------------
    def find_duplicates(self) -> None:
        radius, cos, rule, pref = self.duplicates.params()
        if rule == "folder" and not pref:
            rule = "resolution"
        self.duplicates.set_busy(True, "Looking for duplicates…")
        self.start(jobs.duplicates_job, radius, cos, rule, pref, on_result=self._dups_done,
                   on_finished=lambda: self.duplicates.set_busy(False))

    def _dups_done(self, result: jobs.DupResult) -> None:
        self.duplicates.set_result(result)
        self.duplicatesFound.emit(result)

    def apply_rule(self) -> None:
        dp = self.duplicates
        if dp.result is None:
            return
        _, _, rule, pref = dp.params()
        self.start(jobs.plan_job, dp.result.groups, rule, pref, on_result=self._plans_done)

    def _plans_done(self, plans: list[tuple[int, list[int]]]) -> None:
        self.duplicates.set_plans(plans)
        self.plansApplied.emit()

    def choose_preferred(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Prefer copies in this folder", str(Path.home()))
        if d:
            self.duplicates.set_preferred(d)

    def load_compare_images(self, paths: list[str]) -> None:
        self.start(jobs.full_images_job, paths,
                   on_result=lambda res: self.duplicates.compare.set_images({p: q for p, q, _ in res}))

    def confirm_and_trash(self, ids: list[int], nbytes: int) -> None:
        n = len(ids)
        box = QMessageBox(QMessageBox.Icon.Question, "Move to Trash",
                          f"Move {n} photo{'s' if n != 1 else ''} ({human_bytes(nbytes)}) to the Trash?", parent=self)
        box.setObjectName("confirmTrash")
        box.setInformativeText("One copy of every group stays where it is. You can put the moved photos back "
                               "with “Undo last removal”, or from your system's Trash.")
        ok = box.addButton(f"Move {n} to Trash", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        if box.clickedButton() is not ok:
            return
        self.duplicates.set_busy(True, f"Moving {n} photos to the Trash…")
        self.start(jobs.trash_job, ids, on_result=self._trash_done,
                   on_finished=lambda: self.duplicates.set_busy(False))

    def _trash_done(self, res: Any) -> None:
        text = f"Moved {len(res.moved)} photo{'s' if len(res.moved) != 1 else ''} ({human_bytes(res.bytes)}) to the Trash."
        if res.failed:
            text += f" {len(res.failed)} could not be moved: " + "; ".join(
                f"{Path(f['path']).name}: {f['error']}" for f in res.failed[:3])
        text += " “Undo last removal” puts them back."
        self.duplicates.banner.setText(text)
        self.status_label.setText(text)
        self.duplicates.set_can_undo(bool(res.moved) or trashmod.last_batch(self.ctx.lib.store) is not None)
        self.refresh()
        self.find_duplicates()
        self.trashFinished.emit(res)

    def undo(self) -> None:
        self.duplicates.set_busy(True, "Putting photos back…")
        self.start(jobs.undo_job, on_result=self._undo_done, on_finished=lambda: self.duplicates.set_busy(False))

    def _undo_done(self, restored: list[str]) -> None:
        text = f"Put back {len(restored)} photo{'s' if len(restored) != 1 else ''} from the Trash."
        self.duplicates.banner.setText(text)
        self.status_label.setText(text)
        self.duplicates.set_can_undo(trashmod.last_batch(self.ctx.lib.store) is not None)
        self.refresh()
        self.find_duplicates()
        self.undoFinished.emit(restored)

    def dismiss(self, ids: list[int]) -> None:
        self.start(jobs.dismiss_job, ids, on_result=self.duplicates.remove_group)

    # -- settings and about ----------------------------------------------------------------------
    def open_settings(self) -> None:
        dlg = SettingsDialog(self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            dlg.apply()

    def set_thumb_edge(self, edge: int) -> None:
        self.ctx.edge = edge
        for panel in (self.library, self.similar, self.tags):
            panel.model.set_edge(edge)
        self.settings.setValue("thumbEdge", edge)

    def about(self) -> None:
        QMessageBox.about(self, "About HashLens",
                          "<b>HashLens</b><br>Offline photo search: similar photos, duplicates and tags, "
                          "with deep hashing. Your photos never leave this computer.<br><br>"
                          f"Data: {self.ctx.config.home}<br>Model: {self.ctx.lib.encoder.name} "
                          f"({self.ctx.config.bits}-bit codes)")


class SettingsDialog(QDialog):
    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
        self.win = win
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        s = win.settings
        self.bits = QComboBox()
        for b in SUPPORTED_BITS:
            self.bits.addItem(f"{b} bits", b)
        self.bits.setCurrentIndex(self.bits.findData(win.ctx.config.bits))
        self.bits.setToolTip("Longer codes tell similar photos apart more finely; shorter ones are faster")
        self.edge = QComboBox()
        for e in THUMB_EDGES:
            self.edge.addItem(f"{e} px", e)
        self.edge.setCurrentIndex(max(self.edge.findData(win.ctx.edge), 0))
        self.home = QLineEdit(str(s.value("dataHome", "") or win.ctx.config.home))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        home_row = QHBoxLayout()
        home_row.addWidget(self.home, 1)
        home_row.addWidget(browse)
        self.auto_tag = QCheckBox("Tag new photos automatically after indexing")
        self.auto_tag.setObjectName("autoTagSetting")
        self.auto_tag.setToolTip("Read the keywords already in the files and add tags for what the model sees; "
                                 "those are shown in grey italics, never as your own tags")
        self.auto_tag.setChecked(win.auto_tag_enabled())
        form = QFormLayout(self)
        form.addRow("Code length:", self.bits)
        form.addRow("Tags:", self.auto_tag)
        form.addRow("Thumbnail size:", self.edge)
        form.addRow("Data location:", home_row)
        note = QLabel("Code length and data location take effect the next time HashLens starts. "
                      + ("(HASHLENS_HOME is set, so it overrides the data location.)" if os.environ.get("HASHLENS_HOME") else ""))
        note.setWordWrap(True)
        form.addRow(note)
        bb = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        bb.accepted.connect(self.accept)
        bb.rejected.connect(self.reject)
        form.addRow(bb)

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Where HashLens keeps its database and thumbnails", self.home.text())
        if d:
            self.home.setText(d)

    def apply(self) -> None:
        s = self.win.settings
        s.setValue("bits", self.bits.currentData())
        s.setValue("dataHome", self.home.text().strip())
        s.setValue("autoTag", self.auto_tag.isChecked())
        self.win.set_thumb_edge(int(self.edge.currentData()))
        s.sync()
