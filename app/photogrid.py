"""The thumbnail grid: one QListView over a QAbstractListModel, painted by a delegate.

Nothing here is a widget per photo. The view asks the model for a decoration only for the rows
it paints, the model asks the shared `ThumbCache`, and the cache asks the `ThumbLoader` workers
for what it does not hold yet; when a thumbnail arrives, only the rows showing it repaint.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QKeyEvent,
    QPainter,
    QPalette,
    QPixmap,
    QResizeEvent,
)
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
    """Rows are dicts with at least `id` and `path`; optional `badge` (text, colour).

    Optional `groups` [(header text, photos), ...] split the rows, in order, under headers
    ("March 2024"): the grid draws them (see PhotoDelegate), they are not rows of the model, so
    row n is always the n-th photo. `update_rows` changes the rows in place (inserts, removals),
    keeping the view's selection and place; `set_rows` starts over."""

    def __init__(self, cache: ThumbCache, edge: int = 160, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache = cache
        self.edge = edge
        self.rows: list[dict[str, Any]] = []
        self.groups: list[tuple[str, int]] | None = None
        self._by_path: dict[str, list[int]] = {}
        self._by_id: dict[int, int] = {}
        self.group_of: list[int] = []  # per row: its group's number
        self.pos_in_group: list[int] = []  # per row: its place in its group
        self.group_start: list[int] = []  # per group: its first row
        cache.updated.connect(self._thumb_updated)

    def set_rows(self, rows: list[dict[str, Any]], groups: list[tuple[str, int]] | None = None) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self._index(groups)
        self.endResetModel()

    def update_rows(self, rows: list[dict[str, Any]], groups: list[tuple[str, int]] | None = None) -> None:
        """The same as set_rows for whoever reads the model, but as removals and insertions where
        the rows kept are in the same order as before (photos arriving while indexing runs), so
        the view keeps its selection, current photo and scroll place; else a reset."""
        old = [r["id"] for r in self.rows]
        new = [r["id"] for r in rows]
        old_set, new_set = set(old), set(new)
        if (len(old_set) != len(old) or len(new_set) != len(new) or not old
                or [i for i in old if i in new_set] != [i for i in new if i in old_set]):
            self.set_rows(rows, groups)
            return
        root = QModelIndex()
        for a, b in reversed(_runs([i not in new_set for i in old])):
            self.beginRemoveRows(root, a, b - 1)
            del self.rows[a:b]
            self.endRemoveRows()
        for a, b in _runs([i not in old_set for i in new]):
            self.beginInsertRows(root, a, b - 1)
            self.rows[a:a] = rows[a:b]
            self.endInsertRows()
        self.rows = list(rows)  # the kept rows' newer facts (a moved file's path)
        old_groups = self.groups
        if groups != old_groups:
            self.layoutAboutToBeChanged.emit()
        self._index(groups)
        if groups != old_groups:
            self.layoutChanged.emit()  # headers moved: the view lays the rows out again
        if self.rows:
            self.dataChanged.emit(self.index(0), self.index(len(self.rows) - 1))

    def _index(self, groups: list[tuple[str, int]] | None) -> None:
        self._by_path = {}
        for n, r in enumerate(self.rows):
            self._by_path.setdefault(r["path"], []).append(n)
        self._by_id = {r["id"]: n for n, r in enumerate(self.rows)}
        if groups is not None and sum(n for _, n in groups) != len(self.rows):
            raise ValueError("the groups do not add up to the rows")
        self.groups = groups
        self.group_of, self.pos_in_group, self.group_start = [], [], []
        for g, (_, n) in enumerate(groups or ()):
            self.group_start.append(len(self.group_of))
            self.group_of += [g] * n
            self.pos_in_group += range(n)

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
            return self.label(row)
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

    @staticmethod
    def label(row: dict[str, Any]) -> str:
        return str(row.get("label") or display_path(Path(row["path"]).name))

    def row_of_id(self, image_id: int) -> int:
        return self._by_id.get(image_id, -1)

    def ids(self) -> list[int]:
        return [r["id"] for r in self.rows]


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """[start, end) of each run of True in flags."""
    out, start = [], -1
    for n, f in enumerate([*flags, False]):
        if f and start < 0:
            start = n
        elif not f and start >= 0:
            out.append((start, n))
            start = -1
    return out


class PhotoDelegate(QStyledItemDelegate):
    """A square thumbnail, an optional badge (distance, 'exact'), and the file name under it.

    Over a grouped model it also lays out the headers, with no header rows: a group's first
    line of cells is taller by a band in which each cell draws its share of the header text,
    and a group's last cell is as wide as the rest of its line, so the next group starts on a
    new line. The view's own flow layout does the rest (see PhotoGrid.columns)."""

    PAD = 6
    TEXT_H = 20

    def __init__(self, model: PhotoModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.view: PhotoGrid | None = None

    def cell(self) -> QSize:
        e = self.model.edge
        return QSize(e + 2 * self.PAD, e + 2 * self.PAD + self.TEXT_H)

    def place(self, row: int) -> tuple[int, int, int]:
        """(column in its line, header band height, width of the item's rectangle) of a row:
        called for every row at each layout, so it reads only Python values."""
        m, view = self.model, self.view
        if m.groups is None or view is None or row >= len(m.group_of):
            return 0, 0, self.model.edge + 2 * self.PAD
        cols, step, spacing, band, w = view.layout_geometry()
        pos = m.pos_in_group[row]
        col = pos % cols
        width = (cols - col) * step - 2 * spacing if pos == m.groups[m.group_of[row]][1] - 1 else w
        return col, band if pos < cols else 0, width

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        cell = self.cell()
        if self.model.groups is None:
            return cell
        _, band, width = self.place(index.row())
        return QSize(width, cell.height() + band)

    def cell_rect(self, rect: QRect, row: int) -> QRect:
        """The part of an item's layout rectangle that is the photo (not its header band, nor
        the rest of the line beside a group's last photo)."""
        if self.model.groups is None:
            return rect
        _, band, _ = self.place(row)
        cell = self.cell()
        return QRect(rect.x(), rect.y() + band, cell.width(), cell.height())

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        p.save()
        rect = option.rect  # the photo's cell (PhotoGrid.visualRect); a header band lies above it
        if self.model.groups is not None:
            col, band, width = self.place(index.row())
            if band:
                self._header(p, option, index.row(), col, QRect(rect.x(), rect.y() - band, width, band))
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = rect.adjusted(2, 2, -2, -2)
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
        box = QRect(rect.x() + self.PAD, rect.y() + self.PAD, e, e)
        # the row and the cache straight from Python, not index.data(): PySide6 6.12 under
        # Python 3.11 loses a reference to None on each None that comes back through a QVariant
        # (a thumbnail not loaded yet, a row without badge), and after some thousands of
        # repaints the interpreter aborts ("deallocating None")
        row = self.model.rows[index.row()]
        pix = self.model.cache.get(row["path"], e)
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
            if self.model.cache.failed(row["path"], e):  # not data(PathRole): see PhotoGrid.selected_rows
                p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
                p.drawText(box, Qt.AlignmentFlag.AlignCenter, "cannot\nread")
        badge = row.get("badge")
        if badge:
            self._badge(p, box, badge[0], QColor(badge[1]))
        text_rect = QRect(rect.x() + self.PAD, box.bottom() + 2, e, self.TEXT_H)
        p.setPen(pal.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text))
        text = option.fontMetrics.elidedText(self.model.label(row), Qt.TextElideMode.ElideMiddle, e)
        p.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, text)
        p.restore()

    def _header(self, p: QPainter, option: QStyleOptionViewItem, row: int, col: int, band: QRect) -> None:
        """This cell's share of its group's header, drawn in the band above it: the text is laid
        out from the line's left edge and clipped to the band, so the cells of the line together
        draw it whole (each repaints its own part, whichever repaints)."""
        assert self.view is not None and self.model.groups is not None
        title, count = self.model.groups[self.model.group_of[row]]
        cols, step, s, _, _ = self.view.layout_geometry()
        line = QRect(band.x() - col * step, band.y(), cols * step - 2 * s, band.height())
        text = line.adjusted(self.PAD, 0, -self.PAD, -4)
        p.setClipRect(band)
        pal = option.palette
        f = QFont(option.font)
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.15)
        p.setFont(f)
        p.setPen(pal.color(QPalette.ColorRole.Text))
        align = Qt.AlignmentFlag.AlignBottom
        title_w = p.fontMetrics().horizontalAdvance(title)
        p.drawText(text, align | Qt.AlignmentFlag.AlignLeft,
                   p.fontMetrics().elidedText(title, Qt.TextElideMode.ElideLeft, text.width() - 120))
        p.setFont(option.font)
        p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
        if title_w + 140 < text.width():
            p.drawText(text, align | Qt.AlignmentFlag.AlignRight, f"{count:,} photo{'s' if count != 1 else ''}")
        p.setClipping(False)

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
    """A grid of photos that scrolls smoothly over a very large model.

    Enter and double-click ask to open the photo among the photos of this view
    (`open_requested(ids, row)`: a viewer steps through them); 'S' asks for similar photos
    (`activatedPhoto`, as do Ctrl+F and the context menu). Over a grouped model the items have
    sizes of their own (headers, see PhotoDelegate): the view then leaves uniform item sizes."""

    activatedPhoto = Signal(int)  # 'S': find photos like this one (an image id)
    open_requested = Signal(list, int)  # Enter / double-click: the view's image ids, the row opened

    def __init__(self, model: PhotoModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._geom: tuple[int, int, int, int, int] | None = None
        self._anchor: tuple[int, int] | None = None  # (image id, its y on screen) to restore
        self.setModel(model)
        self.photo_model = model
        self.photo_delegate = PhotoDelegate(model, self)
        self.photo_delegate.view = self
        self.setItemDelegate(self.photo_delegate)
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
        # always on: the width the layout wraps at is then the viewport's (see columns)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.setMouseTracking(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.activated.connect(self._open)
        for signal in (model.modelReset, model.layoutChanged, model.rowsInserted, model.rowsRemoved):
            signal.connect(self._grouping_changed)

    # -- layout over a grouped model -------------------------------------------------------------
    def layout_geometry(self) -> tuple[int, int, int, int, int]:
        """(cells per line, step from one cell to the next, spacing, header band height, cell
        width) for the layout, kept until the view's size or the thumbnail size changes.

        Cells per line are counted as QListView's flow layout counts them: it wraps at the
        maximum viewport width (the vertical bar is always on), each item taking its width and
        the spacing on both sides, and an item fits while its right edge plus the spacing is in."""
        if self._geom is None:
            w, s = self.photo_delegate.cell().width(), self.spacing()
            step = w + 2 * s
            cols = max(1, self.maximumViewportSize().width() // step)
            self._geom = (cols, step, s, self.fontMetrics().height() * 2 + 12, w)
        return self._geom

    def columns(self) -> int:
        return self.layout_geometry()[0]

    def resizeEvent(self, e: QResizeEvent) -> None:  # noqa: N802
        self._geom = None  # before QListView lays the items out again for the new width
        super().resizeEvent(e)

    def _grouping_changed(self, *_: Any) -> None:
        self._geom = None  # the thumbnail size may have changed too
        grouped = self.photo_model.groups is not None
        if self.uniformItemSizes() == grouped:
            self.setUniformItemSizes(not grouped)

    def visualRect(self, index: QModelIndex | QPersistentModelIndex) -> QRect:  # noqa: N802
        """Where the photo is: without the header band above a group's first line, and without
        the blank rest of the line beside a group's last photo. QListView paints, hit-tests
        (indexAt) and scrolls with this, so a click on a header or beside a group selects none."""
        r = super().visualRect(index)
        if self.photo_model.groups is None or not r.isValid():
            return r
        return self.photo_delegate.cell_rect(r, index.row())

    def scrollTo(self, index: QModelIndex | QPersistentModelIndex,  # noqa: N802
                 hint: QAbstractItemView.ScrollHint = QAbstractItemView.ScrollHint.EnsureVisible) -> None:
        """As QListView's, and a photo in the first line of its group brings its header along."""
        super().scrollTo(index, hint)
        if self.photo_model.groups is None or not index.isValid():
            return
        _, band, _ = self.photo_delegate.place(index.row())
        top = self.visualRect(index).y() - band
        if band and top < 0 <= top + band:
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() + top)

    def cell_rect(self, row: int) -> QRect:
        """Where row's photo is drawn in the viewport."""
        return self.visualRect(self.photo_model.index(row))

    # -- keeping the place while rows come and go -------------------------------------------------
    def keep_place(self, change: Callable[[], None]) -> None:
        """Run `change` (a model update) and keep the photo the person looks at where it is on
        screen: the current photo if it is in view, else the first photo in view. Photos added
        above it (newer ones, newest first) then grow the grid above, not move what is seen."""
        anchor = self._anchor_row()
        before = self.visualRect(self.photo_model.index(anchor)).y() if anchor >= 0 else 0
        anchor_id = self.photo_model.rows[anchor]["id"] if anchor >= 0 else None
        change()
        self._anchor = (anchor_id, before) if anchor_id is not None else None
        self._restore_place()

    def _anchor_row(self) -> int:
        view = self.viewport().rect()
        cur = self.currentIndex()
        if cur.isValid() and view.intersects(self.visualRect(cur)):
            return cur.row()
        _, step, s, band, w = self.layout_geometry()
        for y in range(0, min(view.height(), 2 * step + band), 4):
            idx = self.indexAt(QPoint(s + w // 2, y))
            if idx.isValid():
                return idx.row()
        return -1

    def _restore_place(self) -> None:
        if self._anchor is None:
            return
        image_id, y = self._anchor
        row = self.photo_model.row_of_id(image_id)
        if row < 0:
            self._anchor = None
            return
        rect = self.visualRect(self.photo_model.index(row))
        if rect.isValid() and rect.height() > 0:  # laid out (a batched layout may still run)
            self._anchor = None
            bar = self.verticalScrollBar()
            bar.setValue(bar.value() + rect.y() - y)

    def updateGeometries(self) -> None:  # noqa: N802
        super().updateGeometries()
        self._restore_place()  # after a layout pass, when the scroll range is known

    # -- opening and finding similar -------------------------------------------------------------
    def _open(self, idx: QModelIndex) -> None:
        if idx.isValid():
            self.open_requested.emit(self.photo_model.ids(), idx.row())

    def keyPressEvent(self, e: QKeyEvent) -> None:  # noqa: N802
        if e.key() == Qt.Key.Key_S and e.modifiers() == Qt.KeyboardModifier.NoModifier:
            row = self.current_row()
            if row is not None:
                self.activatedPhoto.emit(int(row["id"]))
            e.accept()
            return
        super().keyPressEvent(e)

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
