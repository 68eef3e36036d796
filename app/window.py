"""The main window: four panels in tabs, the viewer over them, a status bar with the long job's
progress, a problems panel, menus, and the window's place and settings remembered.

The window fits its screen: a first start takes the screen's available area (never more), a
restored place is moved and shrunk onto the screen the window is on now, and no panel asks for
more width than a 1280-pixel screen has.

The window only composes: each panel owns its widgets, each panel's controller (app/controllers)
starts its jobs and routes their results back, and the window connects them. The window's
signals named `...Finished`/`...Loaded` repeat the controllers' ones, so tests (and screenshots)
can wait for work on the window alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QByteArray, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QIcon,
    QKeySequence,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QMainWindow,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QTabWidget,
    QWidget,
)

from app import jobs
from app.context import DEFAULT_EDGE, AppContext, settings
from app.controllers.duplicates import DuplicatesController
from app.controllers.library import LibraryController
from app.controllers.similar import SimilarController
from app.controllers.tags import TagsController
from app.duplicates_panel import DuplicatesPanel
from app.library_panel import LibraryPanel
from app.library_tools import LibraryTools
from app.photo_panel import PhotoPanel
from app.photogrid import PhotoGrid
from app.problems import ProblemsDock
from app.settings_dialog import SettingsDialog
from app.similar_panel import SimilarPanel
from app.statusbar import StatusBar
from app.tags_panel import TagsPanel
from app.viewer import Viewer, ViewerController
from hashcore.config import RESOURCES, Config
from hashcore.ingest.decode import is_photo_name

ICON_PATH = RESOURCES / "icons" / "hashlens.svg"
PANELS = ("library", "similar", "duplicates", "tags")
FILL_BELOW = 1440  # screens up to this wide: a first start takes the whole available area
FIRST_MAX = QSize(1680, 1050)  # on bigger screens a first start is roomy, not huge


def fit_rect(rect: QRect, avail: QRect) -> QRect:
    """`rect` shrunk to `avail` (a screen's available geometry) and moved inside it."""
    w, h = min(rect.width(), avail.width()), min(rect.height(), avail.height())
    x = min(max(rect.x(), avail.x()), avail.x() + avail.width() - w)
    y = min(max(rect.y(), avail.y()), avail.y() + avail.height() - h)
    return QRect(x, y, w, h)


def first_rect(avail: QRect) -> QRect:
    """A first start's place: the whole available area of a small screen, else a roomy window
    centred on it; never wider or taller than the screen."""
    if avail.width() <= FILL_BELOW:
        return QRect(avail)
    w = min(int(avail.width() * 0.85), FIRST_MAX.width())
    h = min(int(avail.height() * 0.9), FIRST_MAX.height())
    return QRect(avail.x() + (avail.width() - w) // 2, avail.y() + (avail.height() - h) // 2, w, h)


def app_icon() -> QIcon:
    return QIcon(str(ICON_PATH)) if ICON_PATH.is_file() else QIcon()


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
        self.setObjectName("mainWindow")
        self.setWindowTitle("HashLens")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.settings = settings()
        self.ctx = AppContext.open(config, encoder, int(self.settings.value("thumbEdge", DEFAULT_EDGE)), self)

        self.library = LibraryPanel(self.ctx)
        self.similar = SimilarPanel(self.ctx)
        self.duplicates = DuplicatesPanel(self.ctx)
        self.tags = TagsPanel(self.ctx)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.setDocumentMode(True)
        for panel, name in ((self.library, "Library"), (self.similar, "Similar"),
                            (self.duplicates, "Duplicates"), (self.tags, "Tags")):
            self.tabs.addTab(panel, name)
        self.viewer = Viewer(self.ctx)
        self.stack = QStackedWidget()
        self.stack.setObjectName("mainStack")
        self.stack.addWidget(self.tabs)
        self.stack.addWidget(self.viewer)
        self.setCentralWidget(self.stack)
        self.viewer_from: tuple[int, QWidget | None] = (0, None)  # tab and focus to return to
        self.fitted = False  # the first show fits the frame into the screen
        self.errors_dock = ProblemsDock(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.errors_dock)
        self.errors_dock.hide()
        self.status_bar = StatusBar(self)
        self.setStatusBar(self.status_bar)

        status = self.status_bar
        self.library_ctl = LibraryController(self.ctx, status, self.library, self.settings, self)
        self.similar_ctl = SimilarController(self.ctx, status, self.similar, self)
        self.duplicates_ctl = DuplicatesController(self.ctx, status, self.duplicates, self.library_ctl, self)
        self.tags_ctl = TagsController(self.ctx, status, self.tags, self.library_ctl, self)
        self.tools = LibraryTools(self.ctx, status, self.library_ctl, self)
        self.viewer_ctl = ViewerController(self.ctx, status, self.viewer, self)
        self._build_menus()
        self._connect()
        self._restore()
        self.library_ctl.refresh()

    @property
    def snapshot(self) -> jobs.LibrarySnapshot | None:
        """The library as last read (None until the first read ends)."""
        return self.library_ctl.snapshot

    # -- construction ------------------------------------------------------------------------
    def _action(self, menu: QMenu, text: str, slot: Any, shortcut: Any = None) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        a.triggered.connect(slot)
        menu.addAction(a)
        self.addAction(a)
        return a

    def _on_photos(self, fn: Callable[[PhotoPanel], Any]) -> Callable[[], None]:
        """A Photo menu action: on the current panel's photos, where it has a grid."""
        def run() -> None:
            panel = self.tabs.currentWidget()
            if isinstance(panel, PhotoPanel):
                fn(panel)
        return run

    def _build_menus(self) -> None:
        mb, lc, sc = self.menuBar(), self.library_ctl, self.similar_ctl
        f = mb.addMenu("&File")
        self._action(f, "&Add folder…", lc.choose_folder, QKeySequence.StandardKey.Open)
        self._action(f, "Try the &sample photos", lc.try_samples)
        self.rescan_action = self._action(f, "&Rescan library", lc.rescan, "F5")
        self._action(f, "Search with an image &file…", sc.choose_query_file, "Ctrl+Shift+O")
        f.addSeparator()
        self._action(f, "&Settings…", self.open_settings, QKeySequence.StandardKey.Preferences)
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        e = mb.addMenu("&Photo")
        self._action(e, "&Open", self._on_photos(PhotoPanel.open_current), "Ctrl+Return")
        self._action(e, "Show in &folder", self._on_photos(PhotoPanel.show_current_in_folder), "Ctrl+Shift+F")
        self._action(e, "Find &similar", self._on_photos(PhotoPanel.find_similar_current), "Ctrl+F")
        self._action(e, "&Copy path", self._on_photos(PhotoPanel.copy_selected_paths), "Ctrl+Shift+C")
        self._action(e, "&Tag selected…", self._on_photos(PhotoPanel.tag_selected), "Ctrl+T")
        e.addSeparator()
        self._action(e, "Search with &pasted image", sc.paste_search, QKeySequence.StandardKey.Paste)
        v = mb.addMenu("&View")
        for n, name in enumerate(("&Library", "&Similar", "&Duplicates", "&Tags")):
            self._action(v, name, lambda _=False, n=n: self.show_panel(n), f"Ctrl+{n + 1}")
        v.addSeparator()
        self._action(v, "&Problems", self.errors_dock.toggle, "Ctrl+E")
        self.tools.build_menu(mb.addMenu("&Library"))
        self.addActions(self.tools.actions())
        h = mb.addMenu("&Help")
        self._action(h, "&About HashLens", self.about)

    def _connect(self) -> None:
        lc, sc, dc, tc = self.library_ctl, self.similar_ctl, self.duplicates_ctl, self.tags_ctl
        for ctl in (lc, sc, dc, tc, self.tools):
            ctl.failed.connect(self.show_error)
        for panel in (self.library, self.similar, self.tags):
            panel.findSimilarRequested.connect(sc.find_similar)
            panel.tagRequested.connect(tc.change_tags)
            panel.message.connect(self.status_bar.say)
        sc.frontRequested.connect(lambda: self.show_panel(PANELS.index("similar")))
        self.viewer.closed.connect(self.close_viewer)
        self.viewer.findSimilarRequested.connect(sc.find_similar)  # brings the Similar panel up
        for panel in (self.library, self.similar, self.tags):  # Enter or double-click on a photo
            panel.grid.open_requested.connect(self._opener(panel.grid))
        self.duplicates.openRequested.connect(self._opener(self.duplicates.members))
        lc.problemsFound.connect(self.errors_dock.show_problems)
        lc.encoderChanged.connect(sc.rerun_search)
        lc.encoderChanged.connect(dc.find_again)
        lc.snapshotLoaded.connect(self._snapshot)
        self.status_bar.problemsClicked.connect(self.errors_dock.toggle)
        self.tabs.currentChanged.connect(lambda n: self.settings.setValue("lastPanel", PANELS[n]))
        for source, own in ((lc.indexingFinished, self.indexingFinished), (sc.searchFinished, self.searchFinished),
                            (tc.tagSearchFinished, self.tagSearchFinished), (dc.duplicatesFound, self.duplicatesFound),
                            (dc.plansApplied, self.plansApplied), (dc.trashFinished, self.trashFinished),
                            (dc.undoFinished, self.undoFinished), (self.tools.autoTagFinished, self.autoTagFinished),
                            (self.tools.modelChanged, self.modelChanged)):
            source.connect(own)

    def _restore(self) -> None:
        s = self.settings
        geo = s.value("geometry")
        if isinstance(geo, QByteArray) and not geo.isEmpty() and self.restoreGeometry(geo):
            if not self.maximized():
                self.setGeometry(fit_rect(self.geometry(), self.available_geometry()))
        else:
            self.setGeometry(first_rect(self.available_geometry()))
        state = s.value("windowState")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        last = s.value("lastPanel", "library")
        self.tabs.setCurrentIndex(PANELS.index(last) if last in PANELS else 0)
        self.similar.restore(s)
        self.duplicates.restore(s)

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("geometry", self.saveGeometry())
        s.setValue("windowState", self.saveState())
        s.setValue("lastPanel", PANELS[self.tabs.currentIndex()])
        self.similar.save(s)
        self.duplicates.save(s)
        s.setValue("thumbEdge", self.ctx.edge)
        s.sync()

    def closeEvent(self, e: QCloseEvent) -> None:  # noqa: N802
        self.save_settings()
        self.ctx.loader.shutdown()
        self.ctx.runner.shutdown()
        self.ctx.lib.close()
        super().closeEvent(e)

    def fit_to_screen(self) -> None:
        """Move and shrink the window, frame included, into its screen's available area."""
        avail, frame, geo = self.available_geometry(), self.frameGeometry(), self.geometry()
        if avail.contains(frame) or self.maximized():
            return
        left, top = geo.x() - frame.x(), geo.y() - frame.y()
        extra_w, extra_h = frame.width() - geo.width(), frame.height() - geo.height()
        f = fit_rect(frame, avail)
        self.setGeometry(QRect(f.x() + left, f.y() + top, f.width() - extra_w, f.height() - extra_h))

    def maximized(self) -> bool:
        """Maximized or full screen: the window system places it, no clamp is needed."""
        return bool(self.windowState() & (Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen))

    def showEvent(self, e: QShowEvent) -> None:  # noqa: N802
        super().showEvent(e)
        if not self.fitted:
            self.fitted = True
            self.fit_to_screen()
            QTimer.singleShot(0, self.fit_to_screen)  # a window manager's frame may come later

    def available_geometry(self) -> QRect:
        """The available area of the screen the window is on (else the primary one)."""
        screen = QGuiApplication.screenAt(self.geometry().center()) or self.screen() or QGuiApplication.primaryScreen()
        return screen.availableGeometry()

    # -- panels and the viewer -------------------------------------------------------------------
    def show_panel(self, n: int) -> None:
        if self.stack.currentWidget() is self.viewer:
            self.stack.setCurrentWidget(self.tabs)
        self.tabs.setCurrentIndex(n)

    def _opener(self, origin: QWidget) -> Callable[[list[int], int], None]:
        """The slot for a view's `open_requested(ids, index)`: rows by id from its model."""
        def open_ids(ids: list[int], index: int) -> None:
            model = origin.model()
            rows_of = getattr(model, "rows", None)
            by_id = {r["id"]: r for r in rows_of} if isinstance(rows_of, list) else {}
            rows = [by_id.get(i) or {"id": i, "path": self.ctx.image(i)["path"]} for i in ids]
            self.open_viewer(rows, index, origin)
        return open_ids

    def open_viewer(self, rows: list[dict[str, Any]], index: int, origin: QWidget | None = None) -> None:
        """Show rows[index] full-window; Esc comes back to this tab and `origin` (a grid)."""
        if not rows:
            return
        self.viewer_from = (self.tabs.currentIndex(), origin or QApplication.focusWidget())
        self.stack.setCurrentWidget(self.viewer)
        self.viewer.open(rows, index)

    def close_viewer(self, image_id: int | None = None) -> None:
        """Back to where the person was, the photo last viewed made current there."""
        tab, origin = self.viewer_from
        self.stack.setCurrentWidget(self.tabs)
        self.tabs.setCurrentIndex(tab)
        if isinstance(origin, PhotoGrid) and image_id is not None:
            origin.select_id(image_id)
        elif origin is self.duplicates.members and image_id is not None:
            self.duplicates.select_member(image_id)
        if origin is not None:
            origin.setFocus()

    def viewing(self) -> bool:
        return self.stack.currentWidget() is self.viewer

    # -- what reaches the window -----------------------------------------------------------------
    def show_error(self, text: str) -> None:
        self.status_bar.say(f"Error: {text}")
        self.jobFailed.emit(text)
        box = QMessageBox(QMessageBox.Icon.Warning, "HashLens", text, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("errorDialog")
        box.open()  # window-modal, never blocks the event loop

    def _snapshot(self, snap: jobs.LibrarySnapshot) -> None:
        """The window's share of a new snapshot (the panels took theirs from their controllers)."""
        self.errors_dock.set_errors(snap.errors)
        self.status_bar.set_problems(len(snap.errors))
        self.status_bar.set_stats(snap.stats)
        self.rescan_action.setEnabled(bool(snap.roots))
        self.snapshotLoaded.emit()

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
            self.library_ctl.index_folders(folders)
            self.tabs.setCurrentWidget(self.library)
        elif images:
            self.similar_ctl.search_with_file(images[0])
        elif md.hasImage():
            QGuiApplication.clipboard().setImage(md.imageData())
            self.similar_ctl.paste_search()
        e.acceptProposedAction()

    # -- settings and about ----------------------------------------------------------------------
    def open_settings(self) -> None:
        dlg = SettingsDialog(self.ctx, self.settings, self)
        dlg.edgeChosen.connect(self.set_thumb_edge)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            dlg.apply()

    def set_thumb_edge(self, edge: int) -> None:
        self.ctx.edge = edge
        for panel in (self.library, self.similar, self.tags):
            panel.set_edge(edge)
        self.settings.setValue("thumbEdge", edge)

    def about(self) -> None:
        QMessageBox.about(self, "About HashLens",
                          "<b>HashLens</b><br>Offline photo search: similar photos, duplicates and tags, "
                          "with deep hashing. Your photos never leave this computer.<br><br>"
                          f"Data: {self.ctx.config.home}<br>Model: {self.ctx.lib.encoder.name} "
                          f"({self.ctx.config.bits}-bit codes)")
