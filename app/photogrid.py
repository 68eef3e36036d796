"""The thumbnail grid: one QListView over a QAbstractListModel, painted by a delegate.

Nothing here is a widget per photo. The view asks the model for a decoration only for the rows
it paints, the model asks the shared `ThumbCache`, and the cache asks the `ThumbLoader` workers
for what it does not hold yet; when a thumbnail arrives, only the rows showing it repaint.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

from app.widgets import file_url
from app.workers import ThumbLoader
from hashcore.ingest.paths import display_path

IdRole = Qt.ItemDataRole.UserRole + 1
PathRole = Qt.ItemDataRole.UserRole + 2
BadgeRole = Qt.ItemDataRole.UserRole + 3  # (text, colour name) drawn on the thumbnail, or None
RowRole = Qt.ItemDataRole.UserRole + 4


class ThumbCache(QObject):
    """Decoded thumbnails in memory (LRU), filled asynchronously from the disk cache."""

    updated = Signal(object)  # the path, exactly (a str signal drops bytes that are not UTF-8)

    def __init__(self, loader: ThumbLoader, capacity: int = 3000, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.capacity = capacity
        self._pix: OrderedDict[tuple[str, int], QPixmap | None] = OrderedDict()
        loader.signals.ready.connect(self._ready)
        loader.signals.failed.connect(self._failed)

    def get(self, path: str, edge: int) -> QPixmap | None:
        key = (path, edge)
        if key in self._pix:
            self._pix.move_to_end(key)
            return self._pix[key]
        self.loader.request(path, edge)
        return None

    def failed(self, path: str, edge: int) -> bool:
        return (path, edge) in self._pix and self._pix[(path, edge)] is None

    def _ready(self, path: str, edge: int, img: QImage) -> None:
        self._store((path, edge), QPixmap.fromImage(img))
        self.updated.emit(path)

    def _failed(self, path: str, edge: int) -> None:
        self._store((path, edge), None)
        self.updated.emit(path)

    def _store(self, key: tuple[str, int], pix: QPixmap | None) -> None:
        self._pix[key] = pix
        self._pix.move_to_end(key)
        while len(self._pix) > self.capacity:
            self._pix.popitem(last=False)

    def forget(self, path: str) -> None:
        for key in [k for k in self._pix if k[0] == path]:
            del self._pix[key]


class PhotoModel(QAbstractListModel):
    """Rows are dicts with at least `id` and `path`; optional `badge` (text, colour)."""

    def __init__(self, cache: ThumbCache, edge: int = 160, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache = cache
        self.edge = edge
        self.rows: list[dict[str, Any]] = []
        self._by_path: dict[str, list[int]] = {}
        cache.updated.connect(self._thumb_updated)

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self._by_path = {}
        for n, r in enumerate(self.rows):
            self._by_path.setdefault(r["path"], []).append(n)
        self.endResetModel()

    def set_edge(self, edge: int) -> None:
        self.beginResetModel()
        self.edge = edge
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.get("label") or display_path(Path(row["path"]).name)
        if role == Qt.ItemDataRole.DecorationRole:
            return self.cache.get(row["path"], self.edge)
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.get("tooltip") or display_path(row["path"])
        if role == IdRole:
            return row["id"]
        if role == PathRole:
            return row["path"]
        if role == BadgeRole:
            return row.get("badge")
        if role == RowRole:
            return row
        if role == Qt.ItemDataRole.AccessibleTextRole:
            name = display_path(Path(row["path"]).name)
            return f"{name} {row.get('badge', ('',))[0] if row.get('badge') else ''}".strip()
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:
        """Dragging photos out of the grid gives other apps (file managers, editors) the files."""
        md = QMimeData()
        md.setUrls([file_url(self.rows[i.row()]["path"]) for i in indexes if i.isValid()])
        return md

    def _thumb_updated(self, path: str) -> None:
        rows = self._by_path.get(path)
        if rows:  # one signal per thumbnail; the view repaints only the rows it shows
            self.dataChanged.emit(self.index(rows[0]), self.index(rows[-1]), [Qt.ItemDataRole.DecorationRole])

    def row_of_id(self, image_id: int) -> int:
        return next((n for n, r in enumerate(self.rows) if r["id"] == image_id), -1)


class PhotoDelegate(QStyledItemDelegate):
    """A square thumbnail, an optional badge (distance, 'exact'), and the file name under it."""

    PAD = 6
    TEXT_H = 20

    def __init__(self, model: PhotoModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        e = self.model.edge
        return QSize(e + 2 * self.PAD, e + 2 * self.PAD + self.TEXT_H)

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = option.rect.adjusted(2, 2, -2, -2)
        pal = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(pal.color(QPalette.ColorRole.Highlight))
            p.drawRoundedRect(r, 6, 6)
        elif option.state & QStyle.StateFlag.State_MouseOver:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(pal.color(QPalette.ColorRole.Midlight))
            p.drawRoundedRect(r, 6, 6)
        e = self.model.edge
        box = QRect(option.rect.x() + self.PAD, option.rect.y() + self.PAD, e, e)
        pix = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(pix, QPixmap) and not pix.isNull():
            scaled = pix if max(pix.width(), pix.height()) <= e else pix.scaled(
                box.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            x = box.x() + (e - scaled.width()) // 2
            y = box.y() + (e - scaled.height()) // 2
            p.drawPixmap(x, y, scaled)
        else:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(pal.color(QPalette.ColorRole.AlternateBase))
            p.drawRoundedRect(box.adjusted(8, 8, -8, -8), 4, 4)
            path = self.model.rows[index.row()]["path"]  # not data(PathRole): see PhotoGrid.selected_rows
            if self.model.cache.failed(path, e):
                p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
                p.drawText(box, Qt.AlignmentFlag.AlignCenter, "cannot\nread")
        badge = index.data(BadgeRole)
        if badge:
            self._badge(p, box, badge[0], QColor(badge[1]))
        text_rect = QRect(option.rect.x() + self.PAD, box.bottom() + 2, e, self.TEXT_H)
        p.setPen(pal.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text))
        text = option.fontMetrics.elidedText(str(index.data(Qt.ItemDataRole.DisplayRole)),
                                             Qt.TextElideMode.ElideMiddle, e)
        p.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, text)
        p.restore()

    @staticmethod
    def _badge(p: QPainter, box: QRect, text: str, colour: QColor) -> None:
        f = QFont(p.font())
        f.setBold(True)
        f.setPointSizeF(max(7.0, f.pointSizeF() * 0.9))
        p.setFont(f)
        w = p.fontMetrics().horizontalAdvance(text) + 10
        h = p.fontMetrics().height() + 4
        rect = QRect(box.x() + 4, box.y() + 4, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(colour)
        p.drawRoundedRect(rect, h / 2, h / 2)
        p.setPen(QColor("white"))
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        p.setFont(QFont())


class PhotoGrid(QListView):
    """A grid of photos that scrolls smoothly over a very large model."""

    activatedPhoto = Signal(int)  # double click / Enter: an image id

    def __init__(self, model: PhotoModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.photo_model = model
        self.setItemDelegate(PhotoDelegate(model, self))
        # List mode flowing left-to-right with wrapping looks like an icon grid but keeps Qt's
        # list layout, which with uniform item sizes needs no per-item geometry (IconMode does)
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(500)
        self.setSpacing(4)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.setMouseTracking(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.activated.connect(lambda idx: self.activatedPhoto.emit(int(idx.data(IdRole))))

    def selected_ids(self) -> list[int]:
        return [int(i.data(IdRole)) for i in sorted(self.selectionModel().selectedIndexes(), key=lambda i: i.row())]

    def selected_rows(self) -> list[dict[str, Any]]:
        """The rows themselves, not `data(RowRole)`: through a QVariant a path loses every byte
        that is not UTF-8 ('caf\\udce9.jpg' comes back as 'caf.jpg'), and the row its other types."""
        rows = self.photo_model.rows
        return [rows[i.row()] for i in sorted(self.selectionModel().selectedIndexes(), key=lambda i: i.row())]

    def current_row(self) -> dict[str, Any] | None:
        idx = self.currentIndex()
        return self.photo_model.rows[idx.row()] if idx.isValid() else None

    def select_id(self, image_id: int) -> bool:
        n = self.photo_model.row_of_id(image_id)
        if n < 0:
            return False
        idx = self.photo_model.index(n)
        self.setCurrentIndex(idx)
        self.scrollTo(idx)
        return True
