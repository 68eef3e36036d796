"""The library panel: folders on the left, the photo grid in the middle, a preview on the right."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.context import AppContext
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
        grid_box = QWidget()
        g = QVBoxLayout(grid_box)
        g.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.count_label)
        g.addLayout(top)
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

    # -- data ----------------------------------------------------------------------------------
    def set_snapshot(self, images: list[dict[str, Any]], roots: list[dict[str, Any]], stats: dict[str, Any]) -> None:
        current = self.grid.current_row()
        self.all_rows = images
        self.roots = roots
        self._fill_roots()
        self._apply_filter()
        empty = not roots and not images
        self.stack.setCurrentIndex(0 if empty else 1)
        self.side.setVisible(not empty)  # a first run shows only the welcome, not empty panes
        self.preview.setVisible(not empty)
        self.stats_label.setText(
            f"{plural(stats.get('photos', 0), 'photo')} · {stats.get('missing', 0)} missing · "
            f"{plural(stats.get('errors', 0), 'error')} · {plural(stats.get('tags', 0), 'tag')}")
        if current and not self.grid.select_id(current["id"]):
            self.preview.show_row(None)

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

    def _apply_filter(self) -> None:
        text = self.filter_edit.text().strip().lower()
        rows = [r for r in self.all_rows if text in display_path(r["path"]).lower()] if text else self.all_rows
        self.model.set_rows(rows)
        total = len(self.all_rows)
        self.count_label.setText(f"{len(rows):,} of {total:,} photos" if text else f"{total:,} photos")

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
