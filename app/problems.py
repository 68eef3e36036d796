"""The Problems panel: files and folders indexing skipped, with what went wrong, docked under the
tabs; opened once when a run finds problems, never as a pop-up per file."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHeaderView,
    QLabel,
    QMainWindow,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.widgets import show_in_folder
from hashcore.ingest.paths import display_path


class ProblemsDock(QDockWidget):
    def __init__(self, parent: QMainWindow) -> None:
        super().__init__("Problems", parent)
        self.setObjectName("errorsPanel")
        self.table = QTableWidget(0, 2)
        self.table.setObjectName("errorsTable")
        self.table.setHorizontalHeaderLabels(["File or folder", "What went wrong"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 460)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.itemDoubleClicked.connect(lambda it: show_in_folder(self.table.item(it.row(), 0).text()))
        hint = QLabel("These files were skipped; the rest of the library is fine. Fix or remove them "
                      "and press Rescan (F5). Double-click a row to open its folder.")
        hint.setWordWrap(True)
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.addWidget(hint)
        lay.addWidget(self.table)
        self.setWidget(box)

    def set_errors(self, errors: list[dict[str, Any]]) -> None:
        self.table.setRowCount(len(errors))
        for n, e in enumerate(errors):
            self.table.setItem(n, 0, QTableWidgetItem(display_path(e["path"])))
            self.table.setItem(n, 1, QTableWidgetItem(e["error"]))

    def show_problems(self) -> None:
        if not self.isVisible():
            self.show()
            window = self.parentWidget()
            if isinstance(window, QMainWindow):
                window.resizeDocks([self], [200], Qt.Orientation.Vertical)

    def toggle(self) -> None:
        if self.isVisible():
            self.hide()
        else:
            self.show_problems()
