"""Tags: add and remove tags on the selected photos, and filter the grid by tag.

The box at the top of the sidebar searches by meaning (a text tag matched against photos nobody
tagged, through the multimodal model). It stays disabled until the window hands it a search
function with `set_semantic_search(fn)`. While a search runs (the first one of a session also
loads the text and tag models, seconds) a busy bar and a line under the box say so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QShowEvent
from PySide6.QtWidgets import (
    QCompleter,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.context import AppContext
from app.photo_panel import PhotoPanel
from app.photogrid import PhotoGrid
from app.widgets import PreviewPane, heading, muted
from hashcore.ingest.paths import display_path

ALL = "\0all"
AUTO_HEADING = "\0auto"


class TagsPanel(PhotoPanel):
    filterChanged = Signal(object)  # tag or None
    semanticSearchRequested = Signal(str)
    learnRequested = Signal()
    firstShown = Signal()  # the panel came on screen for the first time: a search may follow

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tagsPanel")
        self.ctx = ctx
        self.all_rows: list[dict[str, Any]] = []
        self.semantic: Callable[[str], Any] | None = None
        self._shown_once = False

        # issue 5's place: search by meaning (cross-modal), disabled until the engine has it
        self.semantic_box = QGroupBox("Find photos of…")
        self.semantic_box.setObjectName("semanticSearch")
        self.semantic_edit = QLineEdit()
        self.semantic_edit.setObjectName("tagSearchBox")
        self.semantic_edit.setPlaceholderText("e.g. cat, beach, birthday")
        self.semantic_edit.returnPressed.connect(lambda: self.semanticSearchRequested.emit(self.semantic_edit.text()))
        self.semantic_note = muted("Search by a word, even in photos nobody tagged.")
        self.busy_bar = QProgressBar()
        self.busy_bar.setObjectName("tagSearchBusy")
        self.busy_bar.setRange(0, 0)  # no steps to count: a moving bar
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setMaximumHeight(6)
        self.busy_label = muted()
        self.busy_label.setObjectName("tagSearchBusyText")
        self.completer = QCompleter([], self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchStartsWith)
        self.semantic_edit.setCompleter(self.completer)
        self.learn_btn = QPushButton("Learn from my tags")
        self.learn_btn.setObjectName("learnTagsButton")
        self.learn_btn.setToolTip("Retrain tag search from the tags you gave photos, so that untagged "
                                  "photos of the same things are found too (takes a few minutes)")
        self.learn_btn.clicked.connect(self.learnRequested.emit)
        sb = QVBoxLayout(self.semantic_box)
        sb.addWidget(self.semantic_edit)
        sb.addWidget(self.semantic_note)
        sb.addWidget(self.busy_bar)
        sb.addWidget(self.busy_label)
        sb.addWidget(self.learn_btn)
        self.set_semantic_search(None)
        self.set_busy(None)

        self.tag_list = QListWidget()
        self.tag_list.setObjectName("tagList")
        self.tag_list.setStyleSheet("QListWidget::item { padding: 3px 2px; }")
        self.tag_list.setWordWrap(True)  # the "Automatic tags (...)" heading is wider than the panel
        self.tag_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tag_list.currentItemChanged.connect(self._tag_chosen)
        self.tag_edit = QLineEdit()
        self.tag_edit.setObjectName("tagEdit")
        self.tag_edit.setPlaceholderText("New tag for the selected photos")
        self.tag_edit.returnPressed.connect(self._add)
        self.add_btn = QPushButton("Add tag")
        self.add_btn.clicked.connect(self._add)
        self.remove_btn = QPushButton("Remove tag from selected")
        self.remove_btn.setObjectName("removeTagButton")
        self.remove_btn.setToolTip("Remove the tag chosen in the list from the selected photos")
        self.remove_btn.clicked.connect(self._remove)
        side = QWidget()
        s = QVBoxLayout(side)
        s.addWidget(self.semantic_box)
        s.addWidget(heading("Your tags", 1.1))
        s.addWidget(self.tag_list, 1)
        add_row = QHBoxLayout()
        add_row.addWidget(self.tag_edit, 1)
        add_row.addWidget(self.add_btn)
        s.addLayout(add_row)
        s.addWidget(self.remove_btn)
        s.addWidget(muted("Select photos in the grid (Ctrl/Shift-click for several), then add or remove a tag."))

        self.model = ctx.photo_model()
        self.grid = PhotoGrid(self.model)
        self.grid.setObjectName("tagsGrid")
        self.count = muted("", wrap=False)
        body = QWidget()
        b = QVBoxLayout(body)
        b.setContentsMargins(0, 0, 0, 0)
        b.addWidget(self.count)
        b.addWidget(self.grid, 1)
        self.preview = PreviewPane()
        self.suggestions = QListWidget()
        self.suggestions.setObjectName("tagSuggestions")
        self.suggestions.setToolTip("Suggested by the model, not by a person: double-click one to add it")
        self.suggestions.itemDoubleClicked.connect(self._accept_suggestion)
        self.suggest_for: int | None = None
        right = QWidget()
        r = QVBoxLayout(right)
        r.setContentsMargins(0, 0, 0, 0)
        r.addWidget(self.preview, 1)
        r.addWidget(muted("Suggested tags (double-click to add):"))
        r.addWidget(self.suggestions)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(side)
        split.addWidget(body)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([280, 700, 280])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(split)
        self._wire_photos()
        self.grid.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self._update_buttons()

    def set_semantic_search(self, fn: Callable[[str], Any] | None) -> None:
        """Issue 5 plugs cross-modal tag search in here."""
        self.semantic = fn
        self.semantic_edit.setEnabled(fn is not None)
        self.semantic_note.setVisible(fn is None)
        self.learn_btn.setEnabled(fn is not None)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            self.firstShown.emit()

    def set_busy(self, text: str | None) -> None:
        """A search in progress: the moving bar and what it waits for; None hides both."""
        self.busy_bar.setVisible(text is not None)
        self.busy_label.setVisible(text is not None)
        self.busy_label.setText(text or "")

    def is_busy(self) -> bool:
        return not self.busy_bar.isHidden()

    def set_learning(self, on: bool) -> None:
        """While the tag model retrains, its button waits."""
        self.learn_btn.setEnabled(not on)

    def show_note(self, text: str) -> None:
        self.count.setText(text)

    def set_completions(self, words: list[str]) -> None:
        from PySide6.QtCore import QStringListModel

        self.completer.setModel(QStringListModel(words, self.completer))

    def show_tag_results(self, result: Any) -> None:
        """Hits of a tag search in the grid, each with its Hamming distance as a badge."""
        from app.similar_panel import distance_colour

        bits = self.ctx.config.bits

        def how(h: Any) -> str:
            if h.exact_code:
                return " · you tagged it so"
            return " · tagged so automatically" if h.tagged else ""
        rows = [{"id": h.id, "path": h.path, "distance": h.distance, "rank": n,
                 "badge": ("tagged" if h.exact_code else str(h.distance), distance_colour(h.distance, bits)),
                 "tooltip": f"#{n} · distance {h.distance}{how(h)}\n{display_path(h.path)}"}
                for n, h in enumerate(result.hits, 1)]
        self.model.set_rows(rows)
        if rows and getattr(result, "weak", False):  # the nearest photos, not photos of the words
            self.count.setText(f"Weak matches: no word the tag models know is close to “{result.text}”; "
                               f"{len(rows):,} nearest photos anyway · {result.seconds * 1000:.0f} ms")
            return
        words = getattr(result, "read", "") or result.text  # "dog", when "photos of dogs" was typed
        tagged = sum(h.tagged for h in result.hits)
        if not rows:
            self.count.setText(f"Nothing found for “{result.text}”")
        elif 0 < tagged < len(rows):  # the tagged ones first, then the codes' nearest: say which is which
            self.count.setText(f"{tagged:,} tagged “{words}”, then {len(rows) - tagged:,} more, nearest first · "
                               f"{result.seconds * 1000:.0f} ms")
        else:
            self.count.setText(f"{len(rows):,} photos of “{words}”, nearest first · {result.seconds * 1000:.0f} ms")

    def set_suggestions(self, image_id: int, tags: list[tuple[str, int]]) -> None:
        self.suggest_for = image_id
        self.suggestions.clear()
        for tag, dist in tags:
            it = QListWidgetItem(f"{tag}  (suggested, distance {dist})")
            it.setData(Qt.ItemDataRole.UserRole, tag)
            self.suggestions.addItem(it)

    def _accept_suggestion(self, item: QListWidgetItem) -> None:
        if self.suggest_for is not None:
            self.tagRequested.emit("add", [self.suggest_for], [item.data(Qt.ItemDataRole.UserRole)])

    def current_tag(self) -> str | None:
        item = self.tag_list.currentItem()
        if item is None:
            return None
        tag = item.data(Qt.ItemDataRole.UserRole)
        return None if tag in (ALL, AUTO_HEADING) else tag

    def set_tags(self, tags: list[tuple[str, int, int]], total: int) -> None:
        """(tag, photos a person gave it, photos the model gave it): the tags people gave first;
        tags only the model gave come after a heading, in grey italics and marked "auto"."""
        current = self.current_tag()
        self.tag_list.blockSignals(True)
        self.tag_list.clear()
        item = QListWidgetItem(f"All photos ({total:,})")
        item.setData(Qt.ItemDataRole.UserRole, ALL)
        self.tag_list.addItem(item)
        chosen = item
        people = [(t, n, a) for t, n, a in tags if n]
        machine = [(t, n, a) for t, n, a in tags if not n]
        for tag, n, a in people:
            it = QListWidgetItem(f"{tag} ({n:,}" + (f", +{a:,} auto)" if a else ")"))
            if a:
                it.setToolTip(f"{n:,} photos tagged “{tag}” by a person or in the file, {a:,} more "
                              "by the model")
            chosen = self._add_tag_item(it, tag, current, chosen)
        if machine:
            head = QListWidgetItem("Automatic tags (from the model, not a person)")
            head.setFlags(Qt.ItemFlag.NoItemFlags)
            head.setData(Qt.ItemDataRole.UserRole, AUTO_HEADING)
            font = head.font()
            font.setBold(True)
            head.setFont(font)
            self.tag_list.addItem(head)
        for tag, _, a in machine:
            it = QListWidgetItem(f"{tag} (auto, {a:,})")
            font = it.font()
            font.setItalic(True)
            it.setFont(font)
            it.setForeground(QColor("gray"))
            it.setToolTip("Added automatically from what the model sees in the photos; no person wrote "
                          "this tag. Give it to a photo yourself to make it yours.")
            chosen = self._add_tag_item(it, tag, current, chosen)
        self.tag_list.setCurrentItem(chosen)
        self.tag_list.blockSignals(False)
        self._update_buttons()

    def _add_tag_item(self, it: QListWidgetItem, tag: str, current: str | None,
                      chosen: QListWidgetItem) -> QListWidgetItem:
        it.setData(Qt.ItemDataRole.UserRole, tag)
        self.tag_list.addItem(it)
        return it if tag == current else chosen

    def set_rows(self, rows: list[dict[str, Any]], tag: str | None) -> None:
        self.model.set_rows(rows)
        self.count.setText(f"{len(rows):,} photos tagged “{tag}”" if tag else f"All {len(rows):,} photos")

    def _tag_chosen(self, *_: Any) -> None:
        self._update_buttons()
        self.filterChanged.emit(self.current_tag())

    def _update_buttons(self) -> None:
        has_sel = bool(self.grid.selectionModel().selectedIndexes())
        self.add_btn.setEnabled(has_sel)
        self.remove_btn.setEnabled(has_sel and self.current_tag() is not None)

    def _add(self) -> None:
        tags = [t.strip() for t in self.tag_edit.text().split(",") if t.strip()]
        ids = self.grid.selected_ids()
        if tags and ids:
            self.tagRequested.emit("add", ids, tags)
            self.tag_edit.clear()

    def _remove(self) -> None:
        tag, ids = self.current_tag(), self.grid.selected_ids()
        if tag and ids:
            self.tagRequested.emit("remove", ids, [tag])
