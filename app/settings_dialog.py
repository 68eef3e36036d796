"""File → Settings: code length, automatic tags, thumbnail size and the data location."""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from app.context import THUMB_EDGES, AppContext, auto_tag_enabled
from hashcore.config import SUPPORTED_BITS


class SettingsDialog(QDialog):
    edgeChosen = Signal(int)  # the thumbnail size takes effect at once; the rest at the next start

    def __init__(self, ctx: AppContext, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.bits = QComboBox()
        for b in SUPPORTED_BITS:
            self.bits.addItem(f"{b} bits", b)
        self.bits.setCurrentIndex(self.bits.findData(ctx.config.bits))
        self.bits.setToolTip("Longer codes tell similar photos apart more finely; shorter ones are faster")
        self.edge = QComboBox()
        for e in THUMB_EDGES:
            self.edge.addItem(f"{e} px", e)
        self.edge.setCurrentIndex(max(self.edge.findData(ctx.edge), 0))
        self.home = QLineEdit(str(settings.value("dataHome", "") or ctx.config.home))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        home_row = QHBoxLayout()
        home_row.addWidget(self.home, 1)
        home_row.addWidget(browse)
        self.auto_tag = QCheckBox("Tag new photos automatically after indexing")
        self.auto_tag.setObjectName("autoTagSetting")
        self.auto_tag.setToolTip("Read the keywords already in the files and add tags for what the model sees; "
                                 "those are shown in grey italics, never as your own tags")
        self.auto_tag.setChecked(auto_tag_enabled(settings))
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
        s = self.settings
        s.setValue("bits", self.bits.currentData())
        s.setValue("dataHome", self.home.text().strip())
        s.setValue("autoTag", self.auto_tag.isChecked())
        self.edgeChosen.emit(int(self.edge.currentData()))
        s.sync()
