"""Duplicates: find groups, compare, decide what to keep, move the rest to the Trash, undo.

Nothing is removed without the person seeing it: a keep rule only *marks* copies, every mark can
be changed by hand, photos in protected folders can never be marked, at least one photo of every
group always stays, and the final step is a confirmation that names the number of files and
bytes. Removal is a move to the system Trash, undoable from here.

"Similar shots too" adds a section of similar shots (bursts, one scene shot twice): not copies, so
no rule ever marks them; a person may still tick a photo there by hand.

Review runs at keyboard speed (KEYS below, also in the panel's Keys tooltip): J/K walk the groups,
P keeps the chosen photo and marks the others, N says "not duplicates", M marks every group by the
rule; going on past the last group ends in the one confirmation of the move to the Trash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QSize, Qt, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QIcon, QImage, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSplitter,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.compare import CompareView
from app.context import AppContext
from app.widgets import heading, human_bytes, muted
from hashcore.cleanup.keep import is_protected
from hashcore.ingest.paths import display_path

# (name, radius factor, cosine shift): each level relative to the library's own calibrated point
# (Library.duplicate_defaults(): the copy head's operating point, chosen on held-out validation
# photos, or the semantic code's defaults without a copy head), so a level means the same on any
# head: "Strict" takes fewer pairs than the default, "Loose" more.
LEVELS = (("Strict", 0.5, 0.06), ("Close", 0.75, 0.03), ("Default", 1.0, 0.0), ("Loose", 1.25, -0.05),
          ("Very loose", 1.5, -0.10))
RULES = (("best", "Keep the best copy (the original)"),
         ("resolution", "Keep the highest resolution"), ("size", "Keep the largest file"),
         ("oldest", "Keep the oldest"), ("newest", "Keep the newest"),
         ("folder", "Keep the one in a preferred folder"))
# (keys, what they do): the review keys, shown in the Keys tooltip
KEYS = (("J / Page Down", "next group"), ("K / Page Up", "previous group"),
        ("↑ / ↓", "choose a photo of the group"), ("P", "keep this photo, mark the others"),
        ("1 … 9", "keep photo 1 … 9 of the group, mark the others"), ("X", "mark or unmark this photo"),
        ("U", "keep every photo of the group"), ("N", "not duplicates: hide this group from now on"),
        ("M", "mark every group by the keep rule"), ("Enter", "view the group's photos full-window"),
        ("Delete", "move the marked photos to the Trash (asks first)"), ("Ctrl+Z", "undo the last removal"))
GroupRole = Qt.ItemDataRole.UserRole + 10
IdRole = Qt.ItemDataRole.UserRole + 11


class DuplicatesPanel(QWidget):
    findRequested = Signal()
    planRequested = Signal()  # re-apply the keep rule to every group
    trashRequested = Signal(list, int)  # ids, bytes (already confirmed by the person)
    undoRequested = Signal()
    dismissRequested = Signal(list)
    compareImagesWanted = Signal(object)  # a list of paths (Signal(list) drops bytes that are not UTF-8)
    chooseFolderRequested = Signal()
    openRequested = Signal(list, int)  # a group's image ids and the one to show first (the viewer)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("duplicatesPanel")
        self.ctx = ctx
        self.result: Any = None
        self.marked: dict[int, set[int]] = {}  # group index -> ids marked for removal
        self.keep: dict[int, int] = {}  # group index -> the rule's keeper
        self.reasons: dict[int, str] = {}  # group index -> why the rule keeps that one
        self.preferred: str | None = None
        self.can_undo = False
        self.reviewed: set[int] = set()  # groups a person has looked at since the last search

        self.level = QSlider(Qt.Orientation.Horizontal)
        self.level.setObjectName("similaritySlider")
        self.level.setRange(0, len(LEVELS) - 1)
        self.level.setValue(2)
        self.level.setPageStep(1)
        self.level.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.level.setFixedWidth(120)
        self.level.valueChanged.connect(self._level_changed)
        self.level_label = QLabel()
        self.level_label.setMinimumWidth(70)
        self.level_label.setWordWrap(True)
        self.find_btn = QPushButton("Find duplicates")
        self.find_btn.setObjectName("findDuplicatesButton")
        self.find_btn.setDefault(True)
        self.find_btn.clicked.connect(self.findRequested)
        self.similar_box = QCheckBox("Similar shots too")
        self.similar_box.setObjectName("similarShotsToggle")
        self.similar_box.setToolTip("Also list similar shots (bursts, one scene shot twice) in their own section. "
                                    "They are not copies: nothing in them is marked for removal.")
        self.similar_box.toggled.connect(self._similar_toggled)
        self.rule = QComboBox()
        self.rule.setObjectName("keepRule")
        for key, text in RULES:
            self.rule.addItem(text, key)
        self.rule.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.rule.setMinimumContentsLength(30)  # the longest rule elides; its tooltip says it in full
        self.rule.currentIndexChanged.connect(self._rule_changed)
        self.folder_btn = QPushButton("Choose folder…")
        self.folder_btn.clicked.connect(self.chooseFolderRequested)
        self.apply_btn = QPushButton("Apply to all groups")
        self.apply_btn.setObjectName("applyRuleButton")
        self.apply_btn.setToolTip("Mark copies for removal in every group by this rule (replaces your manual marks) (M)")
        self.apply_btn.clicked.connect(self.planRequested)
        top = QHBoxLayout()
        top.addWidget(QLabel("Similarity:"))
        top.addWidget(self.level)
        top.addWidget(self.level_label, 1)
        top.addWidget(self.find_btn)
        top.addWidget(self.similar_box)
        top.addWidget(self.rule)
        top.addWidget(self.folder_btn)
        top.addWidget(self.apply_btn)

        self.groups = QTreeWidget()
        self.groups.setObjectName("dupGroups")
        self.groups.setHeaderLabels(["Group", "Photos", "Score", "Reclaimable"])
        self.groups.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.groups.header().setStretchLastSection(False)
        self.groups.currentItemChanged.connect(self._group_chosen)
        self.groups.setMinimumWidth(260)
        self.groups.itemActivated.connect(lambda *_: self.open_current())

        self.members = QTreeWidget()
        self.members.setObjectName("dupMembers")
        self.members.setHeaderLabels(["Remove", "Photo", "Resolution", "Size", "Decision"])
        self.members.setRootIsDecorated(False)
        self.members.setIconSize(QSize(48, 48))
        self.members.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.members.header().setStretchLastSection(False)
        self.members.itemChanged.connect(self._member_toggled)
        self.members.setMinimumHeight(120)
        self.members.itemActivated.connect(lambda *_: self.open_current())
        self.not_dup_btn = QPushButton("Not duplicates")
        self.not_dup_btn.setObjectName("notDuplicatesButton")
        self.not_dup_btn.setToolTip("These photos are different: hide this group from now on (unless a new photo "
                                    "joins it) (N)")
        self.not_dup_btn.clicked.connect(self._dismiss)
        self.keep_all_btn = QPushButton("Keep all")
        self.keep_all_btn.setToolTip("Unmark every photo in this group (U)")
        self.keep_all_btn.clicked.connect(self._keep_all)
        self.group_title = heading("Pick a group to compare", 1.05)
        self.group_title.setMinimumWidth(40)
        self.group_title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.group_pos = QLabel("")
        self.group_pos.setObjectName("groupPosition")
        self.keys_btn = QToolButton()
        self.keys_btn.setObjectName("reviewKeysButton")
        self.keys_btn.setText("⌨ Keys")
        self.keys_btn.setAutoRaise(True)
        self.keys_btn.setToolTip("<b>Review with the keyboard</b><table>" + "".join(
            f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in KEYS) + "</table>")
        self.keys_btn.clicked.connect(self.start_review)
        gbar = QHBoxLayout()
        gbar.addWidget(self.group_pos)
        gbar.addWidget(self.group_title, 1)
        gbar.addWidget(self.keys_btn)
        gbar.addWidget(self.keep_all_btn)
        gbar.addWidget(self.not_dup_btn)
        self.compare = CompareView()
        detail = QWidget()
        d = QVBoxLayout(detail)
        d.setContentsMargins(0, 0, 0, 0)
        d.addLayout(gbar)
        vsplit = QSplitter(Qt.Orientation.Vertical)
        vsplit.addWidget(self.members)
        vsplit.addWidget(self.compare)
        vsplit.setStretchFactor(1, 1)
        vsplit.setSizes([170, 600])
        d.addWidget(vsplit, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.groups)
        split.addWidget(detail)
        split.setStretchFactor(1, 1)
        split.setSizes([380, 900])

        self.summary = QLabel("Press Find duplicates to look for copies in your library.")
        self.summary.setObjectName("dupSummary")
        self.summary.setWordWrap(True)
        self.banner = muted("")
        self.banner.setObjectName("dupBanner")
        self.trash_btn = QPushButton("Move marked to Trash…")
        self.trash_btn.setObjectName("trashButton")
        self.trash_btn.setToolTip("Asks first, naming the number of files and bytes (Delete)")
        self.trash_btn.clicked.connect(self._trash)
        self.undo_btn = QPushButton("Undo last removal")
        self.undo_btn.setObjectName("undoButton")
        self.undo_btn.setToolTip("Put the photos last moved to the Trash back (Ctrl+Z)")
        self.undo_btn.clicked.connect(self.undoRequested)
        bottom = QHBoxLayout()
        bottom.addWidget(self.summary, 1)
        bottom.addWidget(self.undo_btn)
        bottom.addWidget(self.trash_btn)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        lay.addWidget(self.banner)
        lay.addLayout(bottom)
        ctx.thumbs.updated.connect(self._thumb_updated)
        self._review_keys()
        self._level_changed()
        self._rule_changed()
        self._update_summary()

    # -- review with the keyboard ---------------------------------------------------------------
    def _review_keys(self) -> None:
        def key(keys: list[Any], slot: Any, name: str) -> None:
            a = QAction(name, self)
            a.setObjectName(f"review_{name}")
            a.setShortcuts([QKeySequence(k) for k in keys])
            a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            a.triggered.connect(slot)
            self.addAction(a)

        key([Qt.Key.Key_J, Qt.Key.Key_PageDown], self.next_group, "next")
        key([Qt.Key.Key_K, Qt.Key.Key_PageUp], self.previous_group, "previous")
        key([Qt.Key.Key_P], self.keep_current, "keep")
        key([Qt.Key.Key_X], self.toggle_current, "toggle")
        key([Qt.Key.Key_U], self._keep_all, "keepAll")
        key([Qt.Key.Key_N], self._dismiss, "notDuplicates")
        key([Qt.Key.Key_M], self._mark_by_rule, "markByRule")
        key([Qt.Key.Key_Delete], self._trash, "trash")
        key([QKeySequence.StandardKey.Undo], self._undo, "undo")
        for k in range(1, 10):
            key([getattr(Qt.Key, f"Key_{k}")], lambda _=False, k=k: self.keep_nth(k - 1), f"keep{k}")

    def group_order(self) -> list[int]:
        """The groups in the order the list shows them (sections, then rank)."""
        return [top.child(k).data(0, GroupRole) for top in getattr(self, "section_items", {}).values()
                for k in range(top.childCount())]

    def start_review(self) -> None:
        """From the first group, the keys ready (the Keys button)."""
        order = self.group_order()
        if order:
            self.select_group(order[0])
            self.members.setFocus()

    def next_group(self) -> None:
        order, n = self.group_order(), self.current_group()
        if not order:
            return
        if n is None:
            self.select_group(order[0])
        elif order.index(n) + 1 < len(order):
            self.select_group(order[order.index(n) + 1])
        else:  # past the last one: the review ends in the one confirmation
            self.reviewed.add(n)
            self._update_summary()
            if self.marked_ids():
                self._trash()
            else:
                self.banner.setText(f"All {len(order)} groups reviewed: nothing is marked for removal.")
            return
        self.members.setFocus()

    def previous_group(self) -> None:
        order, n = self.group_order(), self.current_group()
        if order and n is not None and order.index(n) > 0:
            self.select_group(order[order.index(n) - 1])
            self.members.setFocus()

    def current_member(self) -> int | None:
        item = self.members.currentItem() or self.members.topLevelItem(0)
        return None if item is None else item.data(0, IdRole)

    def select_member(self, image_id: int) -> None:
        for k in range(self.members.topLevelItemCount()):
            if self.members.topLevelItem(k).data(0, IdRole) == image_id:
                self.members.setCurrentItem(self.members.topLevelItem(k))
                return

    def keep_only(self, n: int, keeper: int) -> None:
        """Keep `keeper`, mark every other photo of group n that may be marked."""
        self.marked[n] = set()
        kept = []
        for i in self.result.groups[n].image_ids:
            if i != keeper and self.can_mark(i):
                self.marked[n].add(i)
            elif i != keeper:
                kept.append(i)
        self.keep[n] = keeper
        self.set_manual(n)
        self.select_member(keeper)
        self.banner.setText("" if not kept else
                            f"{len(kept)} other photo{'s' if len(kept) != 1 else ''} of this group stay: "
                            "protected, or the last unmarked copy of another group.")

    def keep_current(self) -> None:
        n, i = self.current_group(), self.current_member()
        if n is not None and i is not None:
            self.keep_only(n, i)

    def keep_nth(self, k: int) -> None:
        n = self.current_group()
        if n is not None and k < self.members.topLevelItemCount():
            self.keep_only(n, self.members.topLevelItem(k).data(0, IdRole))

    def toggle_current(self) -> None:
        n, i = self.current_group(), self.current_member()
        if n is None or i is None:
            return
        if not self.set_mark(n, i, remove=i not in self.marked.get(n, ())):
            self.banner.setText("At least one photo of every group stays: unmark another one first.")
        self.select_member(i)

    def open_current(self) -> None:
        n = self.current_group()
        if n is not None:
            ids = [self.members.topLevelItem(k).data(0, IdRole) for k in range(self.members.topLevelItemCount())]
            i = self.current_member()
            self.openRequested.emit(ids, ids.index(i) if i in ids else 0)

    def _mark_by_rule(self) -> None:
        if self.apply_btn.isEnabled():
            self.planRequested.emit()

    def _undo(self) -> None:
        if self.undo_btn.isEnabled():
            self.undoRequested.emit()

    # -- controls ------------------------------------------------------------------------------
    def restore(self, s: QSettings) -> None:
        self.level.setValue(int(s.value("duplicates/level", 2)))
        self.rule.setCurrentIndex(max(self.rule.findData(s.value("duplicates/rule", "best")), 0))
        self.similar_box.setChecked(str(s.value("duplicates/similar", "false")).lower() == "true")
        pref = s.value("duplicates/preferred", "")
        if pref:
            self.set_preferred(str(pref))

    def save(self, s: QSettings) -> None:
        s.setValue("duplicates/level", self.level.value())
        s.setValue("duplicates/rule", self.rule.currentData())
        s.setValue("duplicates/similar", self.similar_box.isChecked())
        s.setValue("duplicates/preferred", self.preferred or "")

    def params(self) -> tuple[float, float, str, str | None]:
        """(radius factor, cosine shift) of the chosen level, the keep rule, the preferred folder."""
        _, scale, shift = LEVELS[self.level.value()]
        return scale, shift, self.rule.currentData(), self.preferred

    def want_similar(self) -> bool:
        return self.similar_box.isChecked()

    def _similar_toggled(self) -> None:
        if self.result is not None:  # results on screen: find again with or without similar shots
            self.findRequested.emit()

    def _level_changed(self) -> None:
        if self.result is not None:  # results on screen: show the new level's groups right away
            self.findRequested.emit()
        name = LEVELS[self.level.value()][0]  # the numbers it stands for come with the results
        self.level_label.setText(f"{name} (the model's calibrated point)" if name == "Default" else name)

    def _rule_changed(self) -> None:
        folder = self.rule.currentData() == "folder"
        self.rule.setToolTip(f"{self.rule.currentText()}: the other copies of each group are marked for removal")
        self.folder_btn.setVisible(folder)
        self.folder_btn.setText(f"Prefer {Path(self.preferred).name}…" if self.preferred else "Choose folder…")
        self.apply_btn.setEnabled(self.result is not None and bool(self.result.groups)
                                  and (not folder or self.preferred is not None))

    def set_preferred(self, folder: str) -> None:
        self.preferred = folder
        self._rule_changed()

    def set_busy(self, busy: bool, text: str = "") -> None:
        for w in (self.find_btn, self.apply_btn, self.trash_btn, self.undo_btn, self.not_dup_btn):
            w.setEnabled(not busy)
        if busy:
            self.summary.setText(text)
        else:
            self._rule_changed()
            self._update_summary()

    # -- results -------------------------------------------------------------------------------
    def set_result(self, result: Any) -> None:
        self.result = result
        if result.level is not None:
            radius, cos = result.level
            name = LEVELS[self.level.value()][0]
            self.level_label.setText(f"{name} (code distance ≤ {radius}, look-alike ≥ {cos:.2f})")
        self.reviewed = set()
        self.marked = {n: set(plan[1]) for n, plan in enumerate(result.plans)}
        self.keep = {n: plan[0] for n, plan in enumerate(result.plans)}
        self.reasons = {n: getattr(plan, "reason", "") for n, plan in enumerate(result.plans)}
        self._fill_groups()
        self._rule_changed()
        self._update_summary()
        if not result.groups:
            self.group_title.setText("No duplicates found")
            self.compare.set_rows([])
            self.members.clear()

    def set_banner(self, text: str) -> None:
        self.banner.setText(text)

    def set_compare_images(self, images: dict[str, QImage | None]) -> None:
        self.compare.set_images(images)

    def set_plans(self, plans: list[tuple[int, list[int]]]) -> None:
        self.marked = {n: set(p[1]) for n, p in enumerate(plans)}
        self.keep = {n: p[0] for n, p in enumerate(plans)}
        self.reasons = {n: getattr(p, "reason", "") for n, p in enumerate(plans)}
        self._refresh_group_items()
        self._fill_members()
        self._update_summary()

    def _fill_groups(self) -> None:
        self.groups.blockSignals(True)
        self.groups.clear()
        groups = self.result.groups
        sections = [("exact", "Exact copies (byte-identical)"), ("near", "Near duplicates (look alike)")]
        if self.want_similar() or any(g.kind == "similar" for g in groups):
            sections.append(("similar", "Similar shots (not copies: nothing marked)"))
        self.section_items = {}
        for kind, title in sections:
            members = [n for n, g in enumerate(groups) if g.kind == kind]
            top = QTreeWidgetItem([f"{title} — {len(members)} group{'s' if len(members) != 1 else ''}"])
            f = top.font(0)
            f.setBold(True)
            top.setFont(0, f)
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)
            top.setToolTip(0, title)
            self.groups.addTopLevelItem(top)
            top.setFirstColumnSpanned(True)
            self.section_items[kind] = top
            for n in members:
                item = QTreeWidgetItem()
                item.setData(0, GroupRole, n)
                top.addChild(item)
                self._set_group_item(item, n)
            top.setExpanded(True)
        self.groups.resizeColumnToContents(1)
        self.groups.resizeColumnToContents(2)
        self.groups.resizeColumnToContents(3)
        self.groups.blockSignals(False)
        first = next((top.child(0) for top in self.section_items.values() if top.childCount()), None)
        if first is not None:
            self.groups.setCurrentItem(first)

    def _set_group_item(self, item: QTreeWidgetItem, n: int) -> None:
        g = self.result.groups[n]
        rows = self.result.rows
        name = display_path(Path(g.paths[0]).name)
        item.setText(0, f"{name}" + (f" + {len(g.paths) - 1}" if len(g.paths) > 1 else ""))
        item.setText(1, str(len(g.image_ids)))
        item.setText(2, "identical" if g.kind == "exact" else f"{g.score:.3f}")
        freed = sum(rows[i]["size"] for i in self.marked.get(n, ()) if i in rows)
        item.setText(3, human_bytes(freed) if freed else "—")
        item.setToolTip(0, "\n".join(g.paths))
        item.setToolTip(3, f"Removing the marked copies frees {human_bytes(freed)}; "
                           f"keeping only the largest would free {human_bytes(g.reclaimable)}")
        for c in (1, 2, 3):
            item.setTextAlignment(c, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def _refresh_group_items(self) -> None:
        for top in getattr(self, "section_items", {}).values():
            for k in range(top.childCount()):
                item = top.child(k)
                self._set_group_item(item, item.data(0, GroupRole))

    def current_group(self) -> int | None:
        item = self.groups.currentItem()
        return None if item is None else item.data(0, GroupRole)

    def select_group(self, n: int) -> None:
        for top in self.section_items.values():
            for k in range(top.childCount()):
                if top.child(k).data(0, GroupRole) == n:
                    self.groups.setCurrentItem(top.child(k))
                    return

    def _group_chosen(self, *_: Any) -> None:
        n = self.current_group()
        self.not_dup_btn.setEnabled(n is not None)
        self.keep_all_btn.setEnabled(n is not None)
        if n is None:
            return
        g = self.result.groups[n]
        kind = {"exact": "Exact copies", "near": f"Near duplicates, score {g.score:.3f}",
                "similar": f"Similar shots (not copies), score {g.score:.3f}"}[g.kind]
        reason = self.reasons.get(n, "")
        order = self.group_order()
        self.group_pos.setText(f"Group {order.index(n) + 1} of {len(order)}" if n in order else "")
        self.group_title.setText(f"{kind}: {len(g.image_ids)} photos" + (f" — rule: {reason}" if reason else ""))
        self.group_title.setToolTip(self.group_title.text())
        self.reviewed.add(n)
        self._fill_members()
        keeper = self.keep.get(n)
        if keeper is not None and keeper not in self.marked.get(n, ()):
            self.select_member(keeper)
        elif self.members.topLevelItemCount():
            self.members.setCurrentItem(self.members.topLevelItem(0))
        self._update_summary()
        rows = [self.result.rows[i] for i in g.image_ids if i in self.result.rows]
        self.compare.set_rows(rows, self._marks(n))
        self.compareImagesWanted.emit([r["path"] for r in rows])

    def protected(self, image_id: int) -> bool:
        row = self.result.rows.get(image_id)
        return bool(row and is_protected(row["path"], self.result.protected_roots))

    def _decision(self, n: int, image_id: int) -> str:
        if self.protected(image_id):
            return "Keep (protected folder)"
        if image_id in self.marked.get(n, ()):
            return "Remove"
        if any(image_id in marks for marks in self.marked.values()):
            return "Remove (marked in another group)"
        ruled = self.keep.get(n) == image_id and self.result.groups[n].kind != "similar"
        return "Keep" + (" (rule)" if ruled else "")

    def _marks(self, n: int) -> dict[int, str]:
        return {i: ("REMOVE" if i in self.marked.get(n, ()) else "KEEP") for i in self.result.groups[n].image_ids}

    def _fill_members(self) -> None:
        n = self.current_group()
        self.members.blockSignals(True)
        self.members.clear()
        if n is None or self.result is None:
            self.members.blockSignals(False)
            return
        for image_id in self.result.groups[n].image_ids:
            row = self.result.rows.get(image_id)
            if row is None:
                continue
            item = QTreeWidgetItem(["", display_path(Path(row["path"]).name), f"{row.get('width')} × {row.get('height')}",
                                    human_bytes(row["size"]), self._decision(n, image_id)])
            item.setData(0, IdRole, image_id)
            item.setToolTip(1, display_path(row["path"]))
            flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
            if not self.protected(image_id):
                flags |= Qt.ItemFlag.ItemIsUserCheckable
            item.setFlags(flags)
            item.setCheckState(0, Qt.CheckState.Checked if image_id in self.marked.get(n, ())
                               else Qt.CheckState.Unchecked)
            if self.protected(image_id):
                item.setToolTip(0, "In a protected folder: never removed")
                item.setText(0, "🔒")
            if image_id in self.marked.get(n, ()):
                item.setForeground(4, QBrush(QColor("#c0392b")))
            else:
                item.setForeground(4, QBrush(QColor("#1e8449")))
            pix = self.ctx.thumbs.get(row["path"], 96)
            if pix is not None:
                item.setIcon(1, QIcon(pix))
            self.members.addTopLevelItem(item)
        for c in (0, 2, 3, 4):
            self.members.resizeColumnToContents(c)
        self.members.blockSignals(False)

    def _thumb_updated(self, path: str) -> None:
        for k in range(self.members.topLevelItemCount()):
            item = self.members.topLevelItem(k)
            if item.toolTip(1) == display_path(path):
                pix = self.ctx.thumbs.get(path, 96)
                if pix is not None:
                    item.setIcon(1, QIcon(pix))

    def _member_toggled(self, item: QTreeWidgetItem, column: int) -> None:
        n = self.current_group()
        if n is None or column != 0:
            return
        image_id = item.data(0, IdRole)
        marks = self.marked.setdefault(n, set())
        if item.checkState(0) == Qt.CheckState.Checked:
            if not self.can_mark(image_id):
                self.banner.setText("At least one photo of every group stays: unmark another one first.")
                self.members.blockSignals(True)
                item.setCheckState(0, Qt.CheckState.Unchecked)
                self.members.blockSignals(False)
                return
            marks.add(image_id)
        else:
            marks.discard(image_id)
        self.banner.setText("")
        self.set_manual(n)

    def set_mark(self, n: int, image_id: int, remove: bool) -> bool:
        """Manual override (also used by tests and the keyboard): mark or unmark one photo."""
        marks = self.marked.setdefault(n, set())
        if remove:
            if not self.can_mark(image_id):
                return False
            marks.add(image_id)
        else:
            marks.discard(image_id)
        self.set_manual(n)
        return True

    def can_mark(self, image_id: int) -> bool:
        """Could this photo be marked and every group it is in (a photo can sit in a copy group and
        in a similar-shots group) still keep one unmarked photo?"""
        if self.protected(image_id):
            return False
        marked = set().union(*self.marked.values(), {image_id})
        return all(not set(g.image_ids) <= marked for g in self.result.groups if image_id in g.image_ids)

    def set_manual(self, n: int) -> None:
        self._refresh_group_items()
        if self.current_group() == n:
            self._fill_members()
            self.compare.set_marks(self._marks(n))
        self._update_summary()

    def _keep_all(self) -> None:
        n = self.current_group()
        if n is not None:
            self.marked[n] = set()
            self.set_manual(n)

    def _dismiss(self) -> None:
        n = self.current_group()
        if n is not None:
            self.dismissRequested.emit(list(self.result.groups[n].image_ids))

    def remove_group(self, ids: list[int]) -> None:
        """After 'Not duplicates': drop the group from the list without a new search."""
        n = next((k for k, g in enumerate(self.result.groups) if g.image_ids == ids), None)
        if n is None:
            return
        self.marked[n] = set()
        for top in self.section_items.values():
            for k in range(top.childCount()):
                if top.child(k).data(0, GroupRole) == n:
                    top.removeChild(top.child(k))
                    break
        self._update_summary()
        self.banner.setText(f"Remembered: those {len(ids)} photos are not duplicates. "
                            "They will not be grouped again unless a new photo joins them.")

    # -- removal -------------------------------------------------------------------------------
    def marked_ids(self) -> list[int]:
        ids: list[int] = []
        for _n, marks in sorted(self.marked.items()):
            ids += [i for i in sorted(marks) if i not in ids and not self.protected(i)]
        return ids

    def marked_bytes(self) -> int:
        return sum(self.result.rows[i]["size"] for i in self.marked_ids() if i in self.result.rows)

    def _update_summary(self) -> None:
        self.undo_btn.setEnabled(self.can_undo)
        if self.result is None:
            self.trash_btn.setEnabled(False)
            return
        groups = self.result.groups
        n_exact = sum(1 for g in groups if g.kind == "exact")
        n_similar = sum(1 for g in groups if g.kind == "similar")
        ids = self.marked_ids()
        in_groups = sum(1 for m in self.marked.values() if m)
        self.trash_btn.setEnabled(bool(ids))
        if not groups:
            self.summary.setText(f"No duplicates found ({self.result.seconds:.1f} s). Try a looser similarity.")
            return
        shown = len(self.group_order())
        self.summary.setText(
            f"{len(groups)} groups ({n_exact} exact, {len(groups) - n_exact - n_similar} near"
            + (f", {n_similar} of similar shots" if n_similar else "") + ") · "
            f"reviewed {len(self.reviewed & set(self.group_order()))} of {shown} · "
            f"<b>{len(ids)} photos marked for removal</b> in {in_groups} groups · "
            f"<b>{human_bytes(self.marked_bytes())}</b> to reclaim")

    def _trash(self) -> None:
        ids = self.marked_ids()
        if ids:
            self.trashRequested.emit(ids, self.marked_bytes())

    def set_can_undo(self, can: bool) -> None:
        self.can_undo = can
        self.undo_btn.setEnabled(can)
