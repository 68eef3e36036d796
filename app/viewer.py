"""The viewer: one photo at a time, full window, over the photos of the view it was opened from.

The window opens it on a list of rows (the library grid in its order, search results, a
duplicate group) and an index; arrow keys walk that list, F fits and 1 shows real pixels, S finds
similar photos, Esc returns to where the person was. The photo's facts and tags sit beside it.

The thumbnail shows at once; the full photo is decoded in a worker (`ViewerController`), the
newest request cancelling the one before, so holding an arrow key over big photos never blocks
the event loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QContextMenuEvent, QImage, QKeySequence, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import jobs
from app.compare import ZoomView
from app.context import AppContext
from app.controllers.base import Controller
from app.statusbar import StatusBar
from app.widgets import (
    copy_text,
    heading,
    human_bytes,
    human_date,
    muted,
    open_file,
    show_in_folder,
    tags_html,
)
from app.workers import Job
from hashcore.errors import NotFoundError
from hashcore.ingest.paths import display_path

FACTS = ("Size", "Dimensions", "Date taken", "Camera", "Path", "Tags")
FACTS_WIDTH = 260


class Viewer(QWidget):
    """A page of the main window's stack. `rows` are dicts with at least `id` and `path`."""

    closed = Signal(object)  # the id of the photo shown last, or None
    findSimilarRequested = Signal(int)
    imageWanted = Signal(object)  # a path whose full-size image the controller should decode
    shown = Signal(int)  # the index now shown

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("viewer")
        self.ctx = ctx
        self.rows: list[dict[str, Any]] = []
        self.index = -1
        self.full: dict[str, Any] = {}  # the current photo's full row (facts)
        self.full_size = (1, 1)  # the photo's real pixels (the view may hold a thumbnail)
        self.loaded_path: str | None = None  # whose full-size image is in the view
        self.zoom = 0.0  # 0 = fit; else screen px per real photo px
        self.centre = QPointF(0.5, 0.5)  # what is at the middle of the view, as photo fractions
        self.quiet = False  # the view scrolls because a new image came, not because of a person

        self.view = ZoomView()
        self.view.setObjectName("viewerImage")
        self.view.setFrameShape(QFrame.Shape.NoFrame)
        self.view.zoomed.connect(self._wheel_zoom)
        self.view.panned.connect(self._panned)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)  # the viewer's own menu

        self.actions_by_name: dict[str, QAction] = {}
        self.back_btn = self._button("back", "← Back", "Back to where you were (Esc)", self.close_viewer,
                                     [Qt.Key.Key_Escape, Qt.Key.Key_Backspace])
        self.prev_btn = self._button("previous", "‹ Previous", "Previous photo (Left arrow)", self.previous,
                                     [Qt.Key.Key_Left, Qt.Key.Key_PageUp])
        self.next_btn = self._button("next", "Next ›", "Next photo (Right arrow)", self.next,
                                     [Qt.Key.Key_Right, Qt.Key.Key_PageDown, Qt.Key.Key_Space])
        self._action("first", "First photo", self.first, [Qt.Key.Key_Home])
        self._action("last", "Last photo", self.last, [Qt.Key.Key_End])
        self.fit_btn = self._button("fit", "Fit", "Zoom to fit the window (F)", self.fit, [Qt.Key.Key_F])
        self.one_btn = self._button("actual", "1:1", "Real pixels, one photo pixel per screen pixel (1)",
                                    self.actual_pixels, [Qt.Key.Key_1])
        self.similar_btn = self._button("similar", "Find similar", "Find photos like this one (S)",
                                        self._find_similar, [Qt.Key.Key_S])
        self.facts_btn = self._button("facts", "Info", "Show or hide the photo's facts and tags (I)",
                                      self.toggle_facts, [Qt.Key.Key_I])
        self.facts_btn.setCheckable(True)
        self.facts_btn.setChecked(True)
        self._action("open", "Open in default app", lambda: self._on_row(lambda r: open_file(r["path"])), [])
        self._action("folder", "Show in folder", lambda: self._on_row(lambda r: show_in_folder(r["path"])), [])
        self._action("copy", "Copy path", lambda: self._on_row(lambda r: copy_text(r["path"])), [])
        self.title = heading("", 1.1)
        self.title.setObjectName("viewerTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.position = QLabel("")
        self.position.setObjectName("viewerPosition")
        self.zoom_label = QLabel("Fit")
        self.zoom_label.setMinimumWidth(44)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 4)
        bar.addWidget(self.back_btn)
        bar.addWidget(self.prev_btn)
        bar.addWidget(self.next_btn)
        bar.addWidget(self.position)
        bar.addSpacing(8)
        bar.addWidget(self.title, 1)
        for w in (self.zoom_label, self.fit_btn, self.one_btn, self.similar_btn, self.facts_btn):
            bar.addWidget(w)

        self.facts = QFrame()
        self.facts.setObjectName("viewerFacts")
        self.facts.setFixedWidth(FACTS_WIDTH)
        form = QFormLayout(self.facts)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.labels: dict[str, QLabel] = {}
        for name in FACTS:
            lab = QLabel("")
            lab.setWordWrap(True)
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            lab.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.labels[name] = lab
            form.addRow(f"{name}:", lab)
        self.labels["Tags"].setTextFormat(Qt.TextFormat.RichText)
        for name in ("Path", "Camera", "Date taken"):
            self.labels[name].setTextFormat(Qt.TextFormat.PlainText)
        keys = muted("← → next/previous · F fit · 1 real pixels · S similar · I info · Esc back")
        form.addRow(keys)

        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        body.addWidget(self.view, 1)
        body.addWidget(self.facts)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(bar)
        lay.addLayout(body, 1)
        ctx.thumbs.updated.connect(self._thumb_ready)

    # -- keys and buttons --------------------------------------------------------------------------
    def _action(self, name: str, text: str, slot: Any, keys: list[Qt.Key]) -> QAction:
        a = QAction(text, self)
        a.setObjectName(f"viewer_{name}")
        a.setShortcuts([QKeySequence(k) for k in keys])
        a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        a.triggered.connect(slot)
        self.addAction(a)
        self.actions_by_name[name] = a
        return a

    def _button(self, name: str, text: str, tip: str, slot: Any, keys: list[Qt.Key]) -> QToolButton:
        a = self._action(name, text, slot, keys)
        a.setToolTip(tip)
        b = QToolButton()
        b.setObjectName(f"viewer_{name}_button")
        b.setText(text)
        b.setToolTip(tip)
        b.setAutoRaise(True)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the viewer
        b.clicked.connect(lambda _=False: a.trigger())
        return b

    def contextMenuEvent(self, e: QContextMenuEvent) -> None:  # noqa: N802
        menu = QMenu(self)
        menu.setObjectName("viewerMenu")
        for name in ("similar", "open", "folder", "copy", None, "fit", "actual", "facts", None, "back"):
            if name is None:
                menu.addSeparator()
            else:
                menu.addAction(self.actions_by_name[name])
        menu.popup(e.globalPos())

    # -- what is shown -----------------------------------------------------------------------------
    def open(self, rows: list[dict[str, Any]], index: int) -> None:
        """Show rows[index]; the arrows walk `rows` (the view the person came from)."""
        self.rows = list(rows)
        self.show_index(max(0, min(index, len(self.rows) - 1)))
        self.view.setFocus()

    def current(self) -> dict[str, Any] | None:
        return self.rows[self.index] if 0 <= self.index < len(self.rows) else None

    def show_index(self, n: int) -> None:
        if not self.rows:
            return
        self.index = n
        row = self.rows[n]
        try:
            self.full = {**row, **self.ctx.image(row["id"])}
        except NotFoundError:  # gone meanwhile (moved to the Trash): show what the view knew
            self.full = dict(row)
        self.full_size = (max(int(self.full.get("width") or 1), 1), max(int(self.full.get("height") or 1), 1))
        self.loaded_path = None
        self.title.setText(display_path(Path(row["path"]).name))
        self.title.setToolTip(display_path(row["path"]))
        self.position.setText(f"{n + 1} of {len(self.rows)}")
        self.prev_btn.setEnabled(n > 0)
        self.next_btn.setEnabled(n < len(self.rows) - 1)
        self._fill_facts()
        self.zoom, self.centre = 0.0, QPointF(0.5, 0.5)
        thumb = self.ctx.thumbs.get(row["path"], self.ctx.edge)
        self._put(thumb.toImage() if isinstance(thumb, QPixmap) else None)
        self.imageWanted.emit(row["path"])
        self.shown.emit(n)

    def _fill_facts(self) -> None:
        r = self.full
        w, h = r.get("width"), r.get("height")
        self.labels["Size"].setText(human_bytes(r.get("size") or 0))
        self.labels["Dimensions"].setText(f"{w} × {h}" if w and h else "—")
        self.labels["Date taken"].setText(human_date(r) or "—")
        self.labels["Camera"].setText(r.get("camera") or "—")
        self.labels["Path"].setText(display_path(r["path"]))
        tags = self.ctx.tags_of(r["id"]) if "id" in r else []
        self.labels["Tags"].setText(tags_html(tags) if tags else "—")

    def _thumb_ready(self, path: str) -> None:
        row = self.current()
        if row is not None and row["path"] == path and self.loaded_path != path and shiboken6.isValid(self):
            thumb = self.ctx.thumbs.get(path, self.ctx.edge)
            if isinstance(thumb, QPixmap):
                self._put(thumb.toImage())

    def set_image(self, path: str, img: QImage, size: tuple[int, int] | None = None) -> None:
        """The decoded full-size photo (from the controller's worker)."""
        row = self.current()
        if not shiboken6.isValid(self) or row is None or row["path"] != path:
            return  # the person moved on
        self.loaded_path = path
        if size:
            self.full_size = (max(size[0], 1), max(size[1], 1))
        self._put(img)

    def _put(self, img: QImage | None) -> None:
        self.quiet = True
        try:
            self.view.set_image(img)
            self._sync()
        finally:
            self.quiet = False

    # -- moving ------------------------------------------------------------------------------------
    def next(self) -> None:
        if self.index < len(self.rows) - 1:
            self.show_index(self.index + 1)

    def previous(self) -> None:
        if self.index > 0:
            self.show_index(self.index - 1)

    def first(self) -> None:
        if self.rows:
            self.show_index(0)

    def last(self) -> None:
        if self.rows:
            self.show_index(len(self.rows) - 1)

    def close_viewer(self) -> None:
        row = self.current()
        self.closed.emit(row["id"] if row else None)

    def _find_similar(self) -> None:
        row = self.current()
        if row is not None:
            self.findSimilarRequested.emit(row["id"])

    def _on_row(self, fn: Any) -> None:
        row = self.current()
        if row is not None:
            fn(row)

    def toggle_facts(self) -> None:
        self.facts.setVisible(not self.facts.isVisible())
        self.facts_btn.setChecked(self.facts.isVisible())
        QTimer.singleShot(0, self._sync)

    # -- zoom --------------------------------------------------------------------------------------
    def fit(self) -> None:
        self.zoom, self.centre = 0.0, QPointF(0.5, 0.5)
        self._sync()

    def actual_pixels(self) -> None:
        self.zoom = 1.0
        self._sync()

    def real_scale(self) -> float:
        """Screen pixels per real photo pixel as shown now (the view may hold a thumbnail)."""
        return self.view.scale_now() * self.view.img_w / self.full_size[0]

    def _sync(self) -> None:
        if self.zoom == 0.0:
            self.view.apply(self.view.fit_scale(), QPointF(0.5, 0.5))
        else:
            self.view.apply(self.zoom * self.full_size[0] / self.view.img_w, self.centre)
        shown = f"{self.real_scale() * 100:.0f}%"
        self.zoom_label.setText(f"Fit ({shown})" if self.zoom == 0.0 else shown)

    def _wheel_zoom(self, factor: float, anchor: QPointF) -> None:
        base = self.zoom or self.real_scale()
        self.zoom = min(max(base * factor, 0.02), 16.0)
        self.centre = QPointF(self.centre.x() + (anchor.x() - self.centre.x()) * (1 - 1 / factor),
                              self.centre.y() + (anchor.y() - self.centre.y()) * (1 - 1 / factor))
        self._sync()

    def _panned(self, centre: QPointF) -> None:
        if self.zoom != 0.0 and not self.quiet:  # a drag; fitted photos stay centred
            self.centre = centre

    def resizeEvent(self, e: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(e)
        QTimer.singleShot(0, self._sync)


class ViewerController(Controller):
    """Decodes the viewer's photo at full size off the event loop; the newest request wins."""

    def __init__(self, ctx: AppContext, status: StatusBar, viewer: Viewer, host: QWidget) -> None:
        super().__init__(ctx, status, host)
        self.viewer = viewer
        self.job: Job | None = None
        viewer.imageWanted.connect(self.decode)

    def decode(self, path: str) -> None:
        if self.job is not None:
            self.job.cancel()
        job: list[Job] = []

        def failed(text: str) -> None:
            if job and not job[0].cancel_event.is_set():  # a replaced request is no failure
                self.status.say(f"Cannot show {display_path(Path(path).name)}: {text}")

        job.append(self.start(jobs.preview_job, path, 0, on_result=lambda res: self.viewer.set_image(*res),
                              on_error=failed))
        self.job = job[0]
