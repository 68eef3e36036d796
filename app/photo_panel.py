"""What the library, similar and tags panels share: a photo grid, a preview pane, the photo menu,
and the Photo menu's actions on the grid's selection. A subclass builds `grid`, `model` and
`preview`, then calls `_wire_photos()`; requests leave as signals, for a controller to serve."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPoint, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLineEdit, QMenu, QWidget

from app.photogrid import PhotoGrid, PhotoModel
from app.widgets import PreviewPane, copy_text, open_file, show_in_folder


class PhotoPanel(QWidget):
    selectionChangedTo = Signal(object)  # the current row dict or None
    findSimilarRequested = Signal(int)  # an image id
    tagRequested = Signal(str, list, list)  # action ("add"|"remove"), ids, tags
    message = Signal(str)  # a line for the status bar

    grid: PhotoGrid
    model: PhotoModel
    preview: PreviewPane

    def _wire_photos(self) -> None:
        self.grid.selectionModel().currentChanged.connect(lambda *_: self.selectionChangedTo.emit(self.current_row()))
        self.grid.activatedPhoto.connect(self.findSimilarRequested)
        self.grid.customContextMenuRequested.connect(self.photo_menu)
        self.preview.findSimilar.connect(self.findSimilarRequested)

    def current_row(self) -> dict[str, Any] | None:
        return self.grid.current_row()

    def set_edge(self, edge: int) -> None:
        self.model.set_edge(edge)

    # -- the preview -------------------------------------------------------------------------------
    def show_preview(self, row: dict[str, Any] | None, tags: list[dict[str, Any]] | None,
                     thumb: QPixmap | None) -> None:
        self.preview.show_row(row, tags)
        if row is not None and thumb is not None:
            self.preview.show_thumb(thumb)

    def set_preview_image(self, path: str, img: QImage) -> None:
        self.preview.set_image(path, img)

    # -- the Photo menu, on the current photo or the selection -------------------------------------
    def _on_current(self, fn: Callable[[dict[str, Any]], Any]) -> None:
        row = self.current_row()
        if row:
            fn(row)

    def open_current(self) -> None:
        self._on_current(lambda r: open_file(r["path"]))

    def show_current_in_folder(self) -> None:
        self._on_current(lambda r: show_in_folder(r["path"]))

    def find_similar_current(self) -> None:
        self._on_current(lambda r: self.findSimilarRequested.emit(r["id"]))

    def copy_selected_paths(self) -> None:
        rows = self.grid.selected_rows()
        if rows:
            copy_text("\n".join(r["path"] for r in rows))
            self.message.emit(f"Copied {len(rows)} path{'s' if len(rows) != 1 else ''}")

    def tag_selected(self) -> None:
        ids = self.grid.selected_ids()
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
                self.tagRequested.emit("add", ids, tags)

    def photo_menu(self, pos: QPoint) -> None:
        grid = self.grid
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
        menu.addAction("Find similar", lambda: self.findSimilarRequested.emit(row["id"]))
        menu.addAction("Copy path", self.copy_selected_paths)
        menu.addSeparator()
        menu.addAction("Add tag…", self.tag_selected)
        menu.popup(grid.viewport().mapToGlobal(pos))
