"""Small shared widgets and helpers: formatting, file actions, the preview pane, empty states."""

from __future__ import annotations

import html
import os
import time
import urllib.parse
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from hashcore.ingest.paths import display_path


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def short_folder(path: str, parts: int = 2) -> str:
    """The last folders of a file's path ('…/Pictures/Holiday'): enough to tell copies apart."""
    p = Path(path).parent.parts
    return display_path(str(Path(*p)) if len(p) <= parts + 1 else "…/" + "/".join(p[-parts:]))


def human_date(row: dict[str, Any]) -> str:
    if row.get("taken_at"):
        t = str(row["taken_at"])
        return f"{t[:10].replace(':', '-')} {t[11:16]}".strip() + " (taken)"
    if row.get("mtime"):
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(row["mtime"])) + " (modified)"
    return "unknown"


def tags_html(tags: list[dict[str, Any]]) -> str:
    """A photo's tags as rich text: the model's in grey italics and labelled "(auto, 87%)",
    keywords from the file labelled "(from file)", so no machine tag reads as a person's."""
    from hashcore.tags.search import tag_label

    parts = []
    for t in tags:
        text = html.escape(tag_label(t["tag"], t["source"], t.get("confidence")))
        parts.append(f"<i style='color: gray'>{text}</i>" if t["source"] == "auto" else text)
    return ", ".join(parts) or "—"


def file_url(path: str) -> QUrl:
    """A file:// URL of the path's exact bytes. QUrl.fromLocalFile would drop a byte that is not
    UTF-8 (b'caf\\xe9.jpg' -> 'caf.jpg', another file); percent-encoding the bytes keeps it."""
    return QUrl.fromEncoded(b"file://" + urllib.parse.quote_from_bytes(os.fsencode(path)).encode("ascii"))


def open_file(path: str) -> None:
    QDesktopServices.openUrl(file_url(path))


def show_in_folder(path: str) -> None:
    QDesktopServices.openUrl(file_url(os.path.dirname(path)))


def copy_text(text: str) -> None:
    QGuiApplication.clipboard().setText(display_path(text))  # Qt would drop bytes that are not UTF-8


def heading(text: str, size: float = 1.25) -> QLabel:
    lab = QLabel(text)
    f = lab.font()
    f.setPointSizeF(f.pointSizeF() * size)
    f.setBold(True)
    lab.setFont(f)
    return lab


def muted(text: str = "", wrap: bool = True) -> QLabel:
    lab = QLabel(text)
    lab.setWordWrap(wrap)
    lab.setStyleSheet("color: palette(placeholder-text);")
    return lab


class ScaledImage(QLabel):
    """A label that keeps its pixmap scaled to fit (aspect kept) as it resizes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pix: QPixmap | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(QSize(160, 120))
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def set_image(self, img: QImage | QPixmap | None, text: str = "") -> None:
        self._pix = QPixmap.fromImage(img) if isinstance(img, QImage) else img
        if self._pix is None:
            self.setPixmap(QPixmap())
            self.setText(text)
        self._rescale()

    def resizeEvent(self, e: Any) -> None:  # noqa: N802
        super().resizeEvent(e)
        self._rescale()

    def _rescale(self) -> None:
        if self._pix is not None and not self._pix.isNull():
            self.setPixmap(self._pix.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                            Qt.TransformationMode.SmoothTransformation))


class PreviewPane(QFrame):
    """A larger image of the current photo and its facts: path, size, resolution, date, camera, tags."""

    findSimilar = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("previewPane")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMinimumWidth(260)
        self.row: dict[str, Any] | None = None
        self.image = ScaledImage()
        self.title = heading("No photo selected", 1.1)
        self.title.setWordWrap(True)
        self.facts = QFormLayout()
        self.facts.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.labels: dict[str, QLabel] = {}
        for key in ("Folder", "Size", "Resolution", "Format", "Date", "Camera", "Tags"):
            lab = QLabel("")
            lab.setWordWrap(True)
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.labels[key] = lab
            self.facts.addRow(f"{key}:", lab)
        self.labels["Tags"].setTextFormat(Qt.TextFormat.RichText)
        self.labels["Tags"].setObjectName("previewTags")
        self.labels["Tags"].setToolTip("Grey italic tags were added automatically from what the model "
                                       "sees, with its confidence; no person wrote them")
        self.similar_btn = QPushButton("Find similar")
        self.similar_btn.setToolTip("Show photos that look like this one (Ctrl+F)")
        self.similar_btn.clicked.connect(lambda: self.row and self.findSimilar.emit(self.row["id"]))
        self.open_btn = QPushButton("Open")
        self.open_btn.clicked.connect(lambda: self.row and open_file(self.row["path"]))
        buttons = QHBoxLayout()
        buttons.addWidget(self.similar_btn)
        buttons.addWidget(self.open_btn)
        lay = QVBoxLayout(self)
        lay.addWidget(self.image, 3)
        lay.addWidget(self.title)
        lay.addLayout(self.facts)
        lay.addLayout(buttons)
        lay.addStretch(0)
        self.show_row(None)

    def show_row(self, row: dict[str, Any] | None, tags: list[dict[str, Any]] | None = None) -> None:
        self.row = row
        self.similar_btn.setEnabled(row is not None)
        self.open_btn.setEnabled(row is not None)
        if row is None:
            self.title.setText("No photo selected")
            self.image.set_image(None, "Select a photo to see it here")
            for lab in self.labels.values():
                lab.setText("")
            return
        self.title.setText(display_path(Path(row["path"]).name))
        self.labels["Folder"].setText(display_path(Path(row["path"]).parent))
        self.labels["Size"].setText(human_bytes(row.get("size") or 0))
        w, h = row.get("width"), row.get("height")
        self.labels["Resolution"].setText(f"{w} × {h} ({(w or 0) * (h or 0) / 1e6:.1f} MP)" if w else "unknown")
        self.labels["Format"].setText(row.get("format") or "")
        self.labels["Date"].setText(human_date(row))
        self.labels["Camera"].setText(row.get("camera") or "—")
        self.labels["Tags"].setText(tags_html(tags or []))
        self.image.set_image(None, "Loading…")

    def show_thumb(self, thumb: QPixmap) -> None:
        """The cached thumbnail while the larger image loads."""
        self.image.set_image(thumb)

    def set_image(self, path: str, img: QImage) -> None:
        if self.row is not None and self.row["path"] == path:
            self.image.set_image(img)


class EmptyState(QWidget):
    """What a first run shows instead of an empty grid: what HashLens does and how to start."""

    addFolder = Signal()
    trySamples = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        from app.window import app_icon

        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(96, 96))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = heading("Welcome to HashLens", 1.8)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(
            "<p>Add a folder of photos. HashLens looks at every photo, on this computer only, and then:</p>"
            "<ul style='margin-left:-20px'>"
            "<li><b>Similar</b>: shows the photos that look like the one you pick;</li>"
            "<li><b>Duplicates</b>: finds copies and near-copies and helps you keep the best one;</li>"
            "<li><b>Tags</b>: lets you tag photos and filter by tag.</li></ul>"
            "<p>Nothing is uploaded or deleted: copies you remove go to the system Trash, and you can undo.</p>")
        text.setWordWrap(True)
        text.setFixedWidth(600)
        text.setMinimumHeight(text.heightForWidth(600) + 8)
        add = QPushButton("Add folder…")
        add.setObjectName("emptyAddFolder")
        add.setDefault(True)
        add.setMinimumHeight(36)
        add.clicked.connect(self.addFolder)
        samples = QPushButton("Try the sample photos")
        samples.setObjectName("emptyTrySamples")
        samples.setMinimumHeight(36)
        samples.clicked.connect(self.trySamples)
        hint = muted("You can also drag a folder onto this window.")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(add)
        row.addWidget(samples)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addStretch(1)
        lay.addWidget(logo)
        lay.addWidget(title)
        lay.addSpacing(12)
        lay.addWidget(text, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addSpacing(18)
        lay.addLayout(row)
        lay.addWidget(hint)
        lay.addStretch(2)
