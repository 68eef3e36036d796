"""The library panel: folders on the left, the photo grid in the middle, a preview on the right.

The grid is a timeline by default: photos by date taken (EXIF, else the file's time) under month
headers, newest first; or by folder (under folder headers), or by name; a date range narrows
it. Photos join it batch by batch while indexing runs (`add_rows`), without a reset: the
selection and what is on screen stay put (see PhotoGrid.keep_place)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import timeline
from app.context import AppContext, settings
from app.photo_panel import PhotoPanel
from app.photogrid import PhotoGrid
from app.widgets import EmptyState, PreviewPane, heading, muted, plural
from hashcore.ingest.paths import display_path


class LibraryPanel(PhotoPanel):
    addFolderRequested = Signal()
    samplesRequested = Signal()
    rescanRequested = Signal()
    removeRootRequested = Signal(int)
    protectRootRequested = Signal(int, bool)
    open_requested = Signal(list, int)  # Enter / double-click: the grid's image ids, the row opened

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("libraryPanel")
        self.ctx = ctx
        self.all_rows: list[dict[str, Any]] = []
        self.roots: list[dict[str, Any]] = []

        # folders sidebar
        self.roots_view = QTreeWidget()
        self.roots_view.setObjectName("rootsView")
        self.roots_view.setHeaderLabels(["Folder", "Photos", "State"])
        self.roots_view.setRootIsDecorated(False)
        self.roots_view.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.roots_view.header().setStretchLastSection(False)
        self.roots_view.itemSelectionChanged.connect(self._root_selected)
        self.add_btn = QPushButton("Add folder…")
        self.add_btn.setToolTip("Add a photo folder to the library (Ctrl+O); you can also drop a folder on the window")
        self.add_btn.clicked.connect(self.addFolderRequested)
        self.remove_btn = QPushButton("Remove")
        self.remove_btn.setToolTip("Forget this folder (its files are not touched)")
        self.remove_btn.clicked.connect(self._remove_root)
        self.rescan_btn = QPushButton("Rescan")
        self.rescan_btn.setToolTip("Look for new, changed, moved and missing photos (F5)")
        self.rescan_btn.clicked.connect(self.rescanRequested)
        self.protect_box = QCheckBox("Protected (reference copy)")
        self.protect_box.setToolTip("Photos in a protected folder are never proposed for removal")
        self.protect_box.clicked.connect(self._protect_root)
        self.stats_label = muted("")
        side = QWidget()
        side_lay = QVBoxLayout(side)
        side_lay.addWidget(heading("Folders", 1.1))
        side_lay.addWidget(self.roots_view, 1)
        btns = QHBoxLayout()
        btns.addWidget(self.add_btn)
        btns.addWidget(self.remove_btn)
        btns.addWidget(self.rescan_btn)
        side_lay.addLayout(btns)
        side_lay.addWidget(self.protect_box)
        side_lay.addWidget(self.stats_label)

        # grid and empty state
        self.empty = EmptyState()
        self.empty.addFolder.connect(self.addFolderRequested)
        self.empty.trySamples.connect(self.samplesRequested)
        self.model = ctx.photo_model()
        self.grid = PhotoGrid(self.model)
        self.grid.setObjectName("libraryGrid")
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by file or folder name…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._apply_filter)
        self.count_label = muted("", wrap=False)
        self.grid.open_requested.connect(self.open_requested)
        self._build_order_bar()
        grid_box = QWidget()
        g = QVBoxLayout(grid_box)
        g.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.count_label)
        g.addLayout(top)
        g.addLayout(self.order_bar)
        g.addWidget(self.grid, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(grid_box)

        self.preview = PreviewPane()
        split = QSplitter(Qt.Orientation.Horizontal)
        self.side = side
        split.addWidget(side)
        split.addWidget(self.stack)
        split.addWidget(self.preview)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setStretchFactor(2, 0)
        split.setSizes([300, 700, 300])
        self.splitter = split
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(split)
        self._wire_photos()
        self._root_selected()

    def _build_order_bar(self) -> None:
        """Sort (date taken / folder / name) and a date range, under the filter."""
        s = settings()
        self.sort_box = QComboBox()
        self.sort_box.setObjectName("sortBox")
        self.sort_box.setToolTip("Order of the photos: by date taken (in months, newest first), by folder, by name")
        for key, name in timeline.SORTS:
            self.sort_box.addItem(name, key)
        self.sort_box.setCurrentIndex(max(0, self.sort_box.findData(s.value("librarySort", "date"))))
        self.sort_box.currentIndexChanged.connect(self._sort_changed)
        self.range_box = QCheckBox("From")
        self.range_box.setObjectName("dateRangeBox")
        self.range_box.setToolTip("Show only photos taken (or, without a date taken, changed) in these days")
        today = QDate.currentDate()
        self.date_from = self._date_edit("dateFrom", today.addYears(-1))
        self.date_to = self._date_edit("dateTo", today)
        self.range_box.toggled.connect(self._range_changed)
        for edit in (self.date_from, self.date_to):
            edit.dateChanged.connect(self._range_changed)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Sort by"))
        bar.addWidget(self.sort_box)
        bar.addSpacing(12)
        bar.addWidget(self.range_box)
        bar.addWidget(self.date_from)
        bar.addWidget(QLabel("to"))
        bar.addWidget(self.date_to)
        bar.addStretch(1)
        self.order_bar = bar
        self._range_changed()

    @staticmethod
    def _date_edit(name: str, date: QDate) -> QDateEdit:
        edit = QDateEdit(date)
        edit.setObjectName(name)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        return edit

    # -- data ----------------------------------------------------------------------------------
    def set_snapshot(self, images: list[dict[str, Any]], roots: list[dict[str, Any]], stats: dict[str, Any]) -> None:
        current = self.grid.current_row()
        timeline.carry_dates(self.all_rows, images)
        self.all_rows = images
        self._show(roots, stats)
        if current and not self.grid.select_id(current["id"]):
            self.preview.show_row(None)
        elif current:  # still current (no reset): its facts and tags may have changed
            self.selectionChangedTo.emit(self.grid.current_row())

    def add_rows(self, rows: list[dict[str, Any]], roots: list[dict[str, Any]], stats: dict[str, Any]) -> None:
        """Photos just indexed (a batch while indexing runs): new ones join, changed ones are
        replaced; the grid inserts them where the order puts them."""
        fresh = {r["id"]: r for r in rows}
        kept = [r for r in self.all_rows if r["id"] not in fresh]
        self.all_rows = kept + list(fresh.values())
        self._show(roots, stats)

    def _show(self, roots: list[dict[str, Any]], stats: dict[str, Any]) -> None:
        self.roots = roots
        self._fill_roots()
        self._apply_filter()
        empty = not roots and not self.all_rows
        self.stack.setCurrentIndex(0 if empty else 1)
        self.side.setVisible(not empty)  # a first run shows only the welcome, not empty panes
        self.preview.setVisible(not empty)
        self.stats_label.setText(
            f"{plural(stats.get('photos', 0), 'photo')} · {stats.get('missing', 0)} missing · "
            f"{plural(stats.get('errors', 0), 'error')} · {plural(stats.get('tags', 0), 'tag')}")

    def _fill_roots(self) -> None:
        selected = self.selected_root()
        self.roots_view.clear()
        for r in self.roots:
            state = r["state"]
            bits = []
            if state == "unreachable":
                bits.append("unreachable")
            elif state == "new":
                bits.append("not indexed yet")
            if r["missing"]:
                bits.append(f"{r['missing']} missing")
            if r["errors"]:
                bits.append(plural(r["errors"], "error"))
            text = ", ".join(bits) or "ok"
            item = QTreeWidgetItem([("🔒 " if r["protected"] else "") + display_path(Path(r["path"]).name or r["path"]),
                                    f"{r['indexed']:,}", text])
            item.setToolTip(0, display_path(r["path"]) + ("\nProtected: never proposed for removal" if r["protected"] else ""))
            item.setToolTip(2, text)
            item.setData(0, Qt.ItemDataRole.UserRole, r["id"])
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if state == "unreachable" or r["errors"]:
                item.setForeground(2, QColor("#c0392b"))
            self.roots_view.addTopLevelItem(item)
            if selected and selected["id"] == r["id"]:
                item.setSelected(True)
        self.roots_view.resizeColumnToContents(1)
        self.roots_view.resizeColumnToContents(2)
        self._root_selected()

    def sort_key(self) -> str:
        return str(self.sort_box.currentData())

    def date_range(self) -> tuple[str | None, str | None]:
        """The days shown ('YYYY-MM-DD', both included), or (None, None) for all."""
        if not self.range_box.isChecked():
            return None, None
        a, b = self.date_from.date(), self.date_to.date()
        a, b = (a, b) if a <= b else (b, a)
        return a.toString("yyyy-MM-dd"), b.toString("yyyy-MM-dd")

    def set_order(self, sort: str, start: str | None = None, end: str | None = None) -> None:
        """Sort and date range in one go (what the controls do, for scripts and tests)."""
        with _quiet(self.sort_box, self.range_box, self.date_from, self.date_to):
            self.sort_box.setCurrentIndex(self.sort_box.findData(sort))
            self.range_box.setChecked(start is not None or end is not None)
            if start:
                self.date_from.setDate(QDate.fromString(start, "yyyy-MM-dd"))
            if end:
                self.date_to.setDate(QDate.fromString(end, "yyyy-MM-dd"))
        self._range_changed()

    def _sort_changed(self) -> None:
        settings().setValue("librarySort", self.sort_key())
        current = self.grid.current_row()
        self._apply_filter()
        if current:
            self.grid.select_id(current["id"])

    def _range_changed(self, *_: Any) -> None:
        on = self.range_box.isChecked()
        self.date_from.setEnabled(on)
        self.date_to.setEnabled(on)
        self._apply_filter()

    def _apply_filter(self) -> None:
        text = self.filter_edit.text().strip().lower()
        rows = [r for r in self.all_rows if text in display_path(r["path"]).lower()] if text else self.all_rows
        start, end = self.date_range()
        rows = timeline.in_range(rows, start, end)
        rows, groups = timeline.arrange(rows, self.sort_key())
        self.grid.keep_place(lambda: self.model.update_rows(rows, groups))
        total = len(self.all_rows)
        narrowed = bool(text) or start is not None
        self.count_label.setText(f"{len(rows):,} of {total:,} photos" if narrowed else f"{total:,} photos")

    def selected_root(self) -> dict[str, Any] | None:
        items = self.roots_view.selectedItems()
        if not items:
            return None
        rid = items[0].data(0, Qt.ItemDataRole.UserRole)
        return next((r for r in self.roots if r["id"] == rid), None)

    def _root_selected(self) -> None:
        r = self.selected_root()
        self.remove_btn.setEnabled(r is not None)
        self.protect_box.setEnabled(r is not None)
        self.protect_box.setChecked(bool(r and r["protected"]))
        self.rescan_btn.setEnabled(bool(self.roots))

    def _remove_root(self) -> None:
        r = self.selected_root()
        if r is not None:
            self.removeRootRequested.emit(r["id"])

    def _protect_root(self, checked: bool) -> None:
        r = self.selected_root()
        if r is not None:
            self.protectRootRequested.emit(r["id"], checked)


class _quiet:
    """Blocks the signals of some widgets while they are set together."""

    def __init__(self, *widgets: QWidget) -> None:
        self.widgets = widgets

    def __enter__(self) -> None:
        for w in self.widgets:
            w.blockSignals(True)

    def __exit__(self, *exc: object) -> None:
        for w in self.widgets:
            w.blockSignals(False)
