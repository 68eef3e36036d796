"""Find similar: a query photo (from the library, a dropped file, or the clipboard) and its
ranked neighbours with their Hamming distances; exact-code matches are marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.context import AppContext
from app.photo_panel import PhotoPanel
from app.photogrid import PhotoGrid
from app.widgets import PreviewPane, heading, muted
from hashcore.ingest.paths import display_path

EXACT_COLOUR = "#1e8449"


def distance_colour(d: int, bits: int) -> str:
    f = d / max(bits, 1)
    if f <= 0.08:
        return "#2874a6"
    if f <= 0.2:
        return "#7d6608"
    return "#7b7d7d"


class SimilarPanel(PhotoPanel):
    searchRequested = Signal()  # re-run the current query with new controls
    chooseFileRequested = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("similarPanel")
        self.ctx = ctx
        self.query: dict[str, Any] | None = None  # {"id": ...} or {"path": ..., "label": ...}
        self.hits: list[Any] = []

        self.query_thumb = QLabel()
        self.query_thumb.setFixedSize(88, 88)
        self.query_thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.query_thumb.setStyleSheet("border: 1px solid palette(mid); border-radius: 4px;")
        self.title = heading("Find similar photos", 1.2)
        self.subtitle = muted("Pick a photo in the Library and press Find similar (Ctrl+F), drop an image "
                              "file on this window, or paste an image (Ctrl+V).")
        self.k_spin = QSpinBox()
        self.k_spin.setObjectName("similarK")
        self.k_spin.setRange(1, 500)
        self.k_spin.setValue(24)
        self.k_spin.setToolTip("How many results to show")
        self.radius_spin = QSpinBox()
        self.radius_spin.setObjectName("similarRadius")
        self.radius_spin.setRange(-1, ctx.config.bits)
        self.radius_spin.setSpecialValueText("any")
        self.radius_spin.setValue(-1)
        self.radius_spin.setToolTip("Only show photos whose code differs in at most this many bits "
                                    "(0 = identical codes only; 'any' = the nearest, however far)")
        self.search_btn = QPushButton("Search")
        self.search_btn.clicked.connect(self.searchRequested)
        self.file_btn = QPushButton("Search with an image file…")
        self.file_btn.clicked.connect(self.chooseFileRequested)
        self.k_spin.editingFinished.connect(self._controls_changed)
        self.radius_spin.editingFinished.connect(self._controls_changed)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Results:"))
        controls.addWidget(self.k_spin)
        controls.addSpacing(12)
        controls.addWidget(QLabel("Max distance:"))
        controls.addWidget(self.radius_spin)
        controls.addWidget(self.search_btn)
        controls.addStretch(1)
        controls.addWidget(self.file_btn)
        head_text = QVBoxLayout()
        head_text.addWidget(self.title)
        head_text.addWidget(self.subtitle)
        head_text.addLayout(controls)
        header = QHBoxLayout()
        header.addWidget(self.query_thumb)
        header.addLayout(head_text, 1)

        self.model = ctx.photo_model()
        self.grid = PhotoGrid(self.model)
        self.grid.setObjectName("similarGrid")
        self.status = muted("", wrap=False)
        legend = muted(f"<span style='color:{EXACT_COLOUR}'>■</span> exact: same code as the query (radius 0) · "
                       "the number on each photo is its Hamming distance, in bits (smaller = more alike)")
        self.preview = PreviewPane()
        self.preview.similar_btn.setText("Find similar to this")
        body = QWidget()
        b = QVBoxLayout(body)
        b.setContentsMargins(0, 0, 0, 0)
        b.addWidget(self.grid, 1)
        b.addWidget(legend)
        b.addWidget(self.status)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(body)
        split.addWidget(self.preview)
        split.setStretchFactor(0, 1)
        split.setSizes([900, 300])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.addLayout(header)
        lay.addWidget(split, 1)
        self._wire_photos()
        self.search_btn.setEnabled(False)
        ctx.thumbs.updated.connect(self._thumb_ready)

    def _thumb_ready(self, path: str) -> None:
        if self.query is not None and self.query.get("id") is not None and self.query.get("path") == path:
            self.set_query_thumb(self.ctx.thumbs.get(path, self.ctx.edge))

    def restore(self, s: QSettings) -> None:
        self.k_spin.setValue(int(s.value("similar/k", 24)))
        self.radius_spin.setValue(int(s.value("similar/radius", -1)))

    def save(self, s: QSettings) -> None:
        s.setValue("similar/k", self.k_spin.value())
        s.setValue("similar/radius", self.radius_spin.value())

    def k(self) -> int:
        return self.k_spin.value()

    def radius(self) -> int | None:
        v = self.radius_spin.value()
        return None if v < 0 else v

    def _controls_changed(self) -> None:
        if self.query is not None:
            self.searchRequested.emit()

    def set_query(self, query: dict[str, Any], thumb: QPixmap | QImage | None = None) -> None:
        self.query = query
        self.search_btn.setEnabled(True)
        name = query.get("label") or display_path(Path(query.get("path") or "").name)
        self.title.setText(f"Photos like “{name}”")
        self.subtitle.setText(display_path(query.get("path") or ""))
        if thumb is None and query.get("id") is not None:
            thumb = self.ctx.thumbs.get(query["path"], self.ctx.edge)  # asks for it if not cached
        self.set_query_thumb(thumb)
        self.status.setText("Searching…")

    def set_query_thumb(self, thumb: QPixmap | QImage | None) -> None:
        if thumb is None:
            self.query_thumb.setText("…")
            return
        pix = QPixmap.fromImage(thumb) if isinstance(thumb, QImage) else thumb
        self.query_thumb.setPixmap(pix.scaled(84, 84, Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation))

    def set_results(self, result: Any) -> None:
        self.hits = list(result.hits)
        rows = []
        bits = self.ctx.config.bits
        for n, h in enumerate(self.hits, 1):
            badge = (f"= exact · {h.distance}", EXACT_COLOUR) if h.exact_code else (str(h.distance), distance_colour(h.distance, bits))
            rows.append({"id": h.id, "path": h.path, "distance": h.distance, "exact": h.exact_code,
                         "badge": badge, "rank": n,
                         "tooltip": f"#{n} · distance {h.distance} of {bits} bits"
                                    f"{' · exact code match' if h.exact_code else ''}\n{display_path(h.path)}"})
        self.model.set_rows(rows)
        exact = sum(1 for h in self.hits if h.exact_code)
        r = self.radius()
        self.status.setText(
            f"{len(self.hits)} result{'s' if len(self.hits) != 1 else ''}"
            f"{f' within distance {r}' if r is not None else ''}"
            f"{f', {exact} with the exact same code' if exact else ''} · {result.seconds * 1000:.0f} ms"
            if self.hits else "No similar photos found. Try a larger max distance or 'any'.")

    def clear(self) -> None:
        self.query = None
        self.model.set_rows([])
        self.title.setText("Find similar photos")
        self.query_thumb.clear()
