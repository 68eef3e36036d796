"""Side-by-side comparison of duplicate candidates.

Every view shows one photo at full resolution. Zoom and pan are shared: the views agree on the
*centre as a fraction of the image* and on a zoom level. In "Same pixels" mode the zoom level is
screen pixels per image pixel for every photo, so 100% is 1:1 for each even when resolutions
differ (you see the real pixels side by side); in "Same framing" mode each photo is scaled so the
same part of the scene fills the same space. Flicker shows the photos one at a time in one view
at the same place, which makes small differences jump out; Swap reverses the order.
"""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QMouseEvent, QPixmap, QWheelEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.widgets import human_bytes, human_date, short_folder
from hashcore.ingest.paths import display_path


class ZoomView(QGraphicsView):
    """One photo; reports wheel zooms and pans so a `CompareView` can mirror them."""

    zoomed = Signal(float, QPointF)  # factor, anchor as image fraction
    panned = Signal(QPointF)  # centre as image fraction

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.item = QGraphicsPixmapItem()
        self.item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self.item)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setBackgroundBrush(QBrush(QColor("#2b2b2b")))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.img_w = self.img_h = 1
        self._muted = False
        self._dragging = False  # only a drag by the user is a pan; a resize or a new photo moves the scroll bars too
        self.horizontalScrollBar().valueChanged.connect(self._scrolled)
        self.verticalScrollBar().valueChanged.connect(self._scrolled)

    def set_image(self, img: QImage | None) -> None:
        if not shiboken6.isValid(self) or not shiboken6.isValid(self.item):
            return  # a late worker result for a view the window has already torn down
        pix = QPixmap.fromImage(img) if img is not None else QPixmap()
        self._muted = True
        self.item.setPixmap(pix)
        self.img_w, self.img_h = max(pix.width(), 1), max(pix.height(), 1)
        # a margin around the photo lets any point of it reach the centre of the view
        m = max(self.img_w, self.img_h)
        self.scene().setSceneRect(QRectF(-m, -m, self.img_w + 2 * m, self.img_h + 2 * m))
        self._muted = False

    def scale_now(self) -> float:
        return self.transform().m11()

    def fit_scale(self) -> float:
        vp = self.viewport().size()
        return min(vp.width() / self.img_w, vp.height() / self.img_h)

    def centre_fraction(self) -> QPointF:
        c = self.mapToScene(self.viewport().rect().center())
        return QPointF(c.x() / self.img_w, c.y() / self.img_h)

    def apply(self, scale: float, centre: QPointF) -> None:
        """Show the image at `scale` screen px per image px, centred on `centre` (fractions)."""
        self._muted = True
        self.resetTransform()
        self.scale(scale, scale)
        self.centerOn(centre.x() * self.img_w, centre.y() * self.img_h)
        self._muted = False

    def wheelEvent(self, e: QWheelEvent) -> None:  # noqa: N802
        factor = 1.25 if e.angleDelta().y() > 0 else 0.8
        p = self.mapToScene(e.position().toPoint())
        self.zoomed.emit(factor, QPointF(p.x() / self.img_w, p.y() / self.img_h))

    def mousePressEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        self._dragging = True
        super().mousePressEvent(e)

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        super().mouseReleaseEvent(e)
        self._dragging = False

    def _scrolled(self) -> None:
        if not self._muted and self._dragging:
            self.panned.emit(self.centre_fraction())


class CompareView(QWidget):
    """N synchronised ZoomViews, a facts table with differences highlighted, flicker and swap."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compareView")
        self.rows: list[dict[str, Any]] = []
        self.images: dict[str, QImage | None] = {}
        self.views: list[ZoomView] = []
        self.captions: list[QLabel] = []
        self.zoom = 0.0  # 0 = fit
        self.centre = QPointF(0.5, 0.5)
        self.flicker_index = 0
        self.timer = QTimer(self)
        self.timer.setInterval(700)
        self.timer.timeout.connect(self._flick)

        self.same_pixels = QRadioButton("Same pixels (1:1)")
        self.same_pixels.setToolTip("100% shows every photo at its real pixels, even if resolutions differ")
        self.same_framing = QRadioButton("Same framing")
        self.same_framing.setToolTip("Each photo is scaled so the same part of the scene fills the same space")
        self.same_framing.setChecked(True)
        mode = QButtonGroup(self)
        mode.addButton(self.same_pixels)
        mode.addButton(self.same_framing)
        mode.buttonToggled.connect(lambda *_: self._sync())
        self.fit_btn = QPushButton("Fit")
        self.fit_btn.clicked.connect(self.fit)
        self.one_btn = QPushButton("100%")
        self.one_btn.setToolTip("Actual pixels")
        self.one_btn.clicked.connect(self.actual_pixels)
        self.swap_btn = QPushButton("Swap")
        self.swap_btn.setToolTip("Reverse the order of the photos")
        self.swap_btn.clicked.connect(self.swap)
        self.flicker_btn = QPushButton("Flicker")
        self.flicker_btn.setCheckable(True)
        self.flicker_btn.setToolTip("Show the photos one after another in the same place")
        self.flicker_btn.toggled.connect(self.set_flicker)
        self.zoom_label = QLabel("Fit")
        bar = QHBoxLayout()
        for w in (self.fit_btn, self.one_btn, self.same_framing, self.same_pixels):
            bar.addWidget(w)
        bar.addWidget(self.zoom_label)
        bar.addStretch(1)
        bar.addWidget(self.swap_btn)
        bar.addWidget(self.flicker_btn)
        self.view_row = QHBoxLayout()
        self.caption_row = QHBoxLayout()
        self.facts = QTableWidget()
        self.facts.setObjectName("compareFacts")
        self.facts.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.facts.verticalHeader().setDefaultSectionSize(22)
        self.facts.setFixedHeight(6 * 22 + 28)
        self.facts.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # one column per photo, always sharing the width: never a sideways scroll (tooltips have all)
        self.facts.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.facts.horizontalHeader().setMinimumSectionSize(50)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addLayout(self.view_row, 1)
        lay.addLayout(self.caption_row)
        lay.addWidget(self.facts)

    # -- content -------------------------------------------------------------------------------
    def set_rows(self, rows: list[dict[str, Any]], marks: dict[int, str] | None = None) -> None:
        self.flicker_btn.setChecked(False)
        self.rows = list(rows)
        self.marks = marks or {}
        while self.view_row.count():
            w = self.view_row.takeAt(0).widget()
            if w:
                w.deleteLater()
        while self.caption_row.count():
            w = self.caption_row.takeAt(0).widget()
            if w:
                w.deleteLater()
        self.views, self.captions = [], []
        for row in self.rows:
            v = ZoomView()
            v.set_image(self.images.get(row["path"]))
            v.zoomed.connect(self._zoomed)
            v.panned.connect(self._panned)
            self.views.append(v)
            self.view_row.addWidget(v, 1)
            cap = QLabel()
            cap.setAlignment(Qt.AlignmentFlag.AlignCenter)
            cap.setWordWrap(True)
            cap.setMinimumWidth(40)  # a long file name is cut, not a reason to widen the window
            cap.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            self.captions.append(cap)
            self.caption_row.addWidget(cap, 1)
        self._fill_captions()
        self._fill_facts()
        self.zoom, self.centre = 0.0, QPointF(0.5, 0.5)
        QTimer.singleShot(0, self._sync)

    def set_marks(self, marks: dict[int, str]) -> None:
        self.marks = marks
        self._fill_captions()

    def set_images(self, images: dict[str, QImage | None]) -> None:
        if not shiboken6.isValid(self):
            return  # the window closed before the worker finished
        self.images.update(images)
        for v, row in zip(self.views, self.rows, strict=False):
            if row["path"] in images:
                v.set_image(images[row["path"]])
        self._sync()

    def _fill_captions(self) -> None:
        for cap, row in zip(self.captions, self.rows, strict=False):
            mark = self.marks.get(row["id"], "")
            name = display_path(row["path"].rsplit("/", 1)[-1])
            cap.setText(f"<b>{mark}</b> {name}" if mark else name)
            cap.setToolTip(display_path(row["path"]))

    def _fill_facts(self) -> None:
        facts = [
            ("Resolution", lambda r: f"{r.get('width')} × {r.get('height')}", lambda r: (r.get("width") or 0) * (r.get("height") or 0)),
            ("File size", lambda r: human_bytes(r.get("size") or 0), lambda r: r.get("size") or 0),
            ("Format", lambda r: r.get("format") or "", None),
            ("Date", human_date, None),
            ("Camera", lambda r: r.get("camera") or "—", None),
            ("Folder", lambda r: short_folder(r["path"]), None),
        ]
        self.facts.clear()
        self.facts.setRowCount(len(facts))
        self.facts.setColumnCount(len(self.rows))
        self.facts.setVerticalHeaderLabels([f[0] for f in facts])
        self.facts.setHorizontalHeaderLabels([display_path(r["path"].rsplit("/", 1)[-1]) for r in self.rows])
        self.differences: list[str] = []
        for n, (name, fmt, best) in enumerate(facts):
            values = [fmt(r) for r in self.rows]
            differ = len(set(values)) > 1
            if differ:
                self.differences.append(name)
            top = max((best(r) for r in self.rows), default=None) if best and differ else None
            for c, (r, v) in enumerate(zip(self.rows, values, strict=True)):
                item = QTableWidgetItem(v)
                item.setToolTip(display_path(r["path"]) if name == "Folder" else v)
                if differ:
                    f = item.font()
                    f.setBold(True)
                    item.setFont(f)
                    item.setBackground(QColor(255, 214, 102, 110))  # amber: "these differ"
                    if best is not None and best(r) == top:
                        item.setBackground(QColor(120, 200, 120, 130))  # green: the best of them
                        item.setText(f"{v}  ▲")
                self.facts.setItem(n, c, item)

    # -- zoom and pan ------------------------------------------------------------------------
    def _per_view_scale(self, v: ZoomView) -> float:
        if self.zoom == 0.0:
            return v.fit_scale()
        if self.same_pixels.isChecked():
            return self.zoom
        ref = max(w.img_w for w in self.views) if self.views else v.img_w
        return self.zoom * ref / v.img_w  # same scene extent for every photo

    def _sync(self) -> None:
        for v in self.views:
            v.apply(self._per_view_scale(v), self.centre)
        self.zoom_label.setText("Fit" if self.zoom == 0.0 else f"{self.zoom * 100:.0f}%")

    def _zoomed(self, factor: float, anchor: QPointF) -> None:
        src = self.sender()
        base = self.zoom or (src.scale_now() if self.same_pixels.isChecked() or not self.views
                             else src.scale_now() * src.img_w / max(w.img_w for w in self.views))
        self.zoom = min(max(base * factor, 0.02), 16.0)
        self.centre = QPointF(self.centre.x() + (anchor.x() - self.centre.x()) * (1 - 1 / factor),
                              self.centre.y() + (anchor.y() - self.centre.y()) * (1 - 1 / factor))
        self._sync()

    def _panned(self, centre: QPointF) -> None:
        if self.centre == centre:
            return
        self.centre = centre
        src = self.sender()
        for v in self.views:
            if v is not src:
                v.apply(v.scale_now(), centre)

    def fit(self) -> None:
        self.zoom, self.centre = 0.0, QPointF(0.5, 0.5)
        self._sync()

    def actual_pixels(self) -> None:
        self.same_pixels.setChecked(True)
        self.zoom = 1.0
        self._sync()

    def resizeEvent(self, e: Any) -> None:  # noqa: N802
        super().resizeEvent(e)
        QTimer.singleShot(0, self._sync)

    # -- swap and flicker --------------------------------------------------------------------
    def swap(self) -> None:
        rows = list(reversed(self.rows))
        zoom, centre = self.zoom, self.centre
        self.set_rows(rows, self.marks)
        self.zoom, self.centre = zoom, centre
        QTimer.singleShot(0, self._sync)

    def set_flicker(self, on: bool) -> None:
        for n, v in enumerate(self.views):
            v.setVisible(not on or n == 0)
        for n, c in enumerate(self.captions):
            c.setVisible(not on or n == 0)
        self.flicker_index = 0
        if on and len(self.views) > 1:
            self.timer.start()
        else:
            self.timer.stop()
            if self.views:
                self.views[0].set_image(self.images.get(self.rows[0]["path"]))
                self._fill_captions()
        QTimer.singleShot(0, self._sync)

    def _flick(self) -> None:
        if not self.views:
            return
        self.flicker_index = (self.flicker_index + 1) % len(self.rows)
        row = self.rows[self.flicker_index]
        v = self.views[0]
        v.set_image(self.images.get(row["path"]))
        v.apply(self._per_view_scale(v), self.centre)
        mark = self.marks.get(row["id"], "")
        self.captions[0].setText(f"<b>{self.flicker_index + 1}/{len(self.rows)}</b> {mark} "
                                 f"{display_path(row['path'].rsplit('/', 1)[-1])}")
