"""Duplicate review at keyboard speed (issue 16 part 4): every group reviewed with keys only,
a running total of files and bytes, one confirmation at the end, then the Trash and undo."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from app.duplicates_panel import KEYS, IdRole
from app.widgets import human_bytes

Key = Qt.Key


def member_ids(dp) -> list[int]:  # noqa: ANN001
    return [dp.members.topLevelItem(k).data(0, IdRole) for k in range(dp.members.topLevelItemCount())]


def totals_shown(dp) -> bool:  # noqa: ANN001
    text = dp.summary.text()
    return (f"{len(dp.marked_ids())} photos marked for removal" in text
            and f"{human_bytes(dp.marked_bytes())}</b> to reclaim" in text)


def kept_only(dp, n: int, keeper: int) -> bool:  # noqa: ANN001
    """Group n keeps `keeper`; every other photo is marked, unless marking it would take the last
    unmarked copy of a group (or it is protected)."""
    others = set(dp.result.groups[n].image_ids) - {keeper}
    return keeper not in dp.marked[n] and all(i in dp.marked[n] or not dp.can_mark(i) for i in others)


def confirm_with_keys(seen: list[str]) -> None:
    """When the confirmation opens: Tab to its Move button, press Space (what a person does)."""
    def poll() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox) and box.objectName() == "confirmTrash":
            seen.append(box.text())
            ok = next(b for b in box.buttons() if b.text().startswith("Move"))
            ok.setFocus()
            QTest.keyClick(ok, Key.Key_Space)
            return
        QTimer.singleShot(50, poll)

    QTimer.singleShot(50, poll)


def test_review_every_group_with_keys_then_trash_and_undo(qtbot, indexed) -> None:  # noqa: ANN001, PLR0915
    win = indexed
    dp = win.duplicates
    win.show_panel(2)
    with qtbot.waitSignal(win.duplicatesFound, timeout=60_000) as sig:
        win.duplicates_ctl.find_duplicates()
    groups = sig.args[0].groups
    order = dp.group_order()
    assert len(order) >= 3, [(g.kind, [Path(p).name for p in g.paths]) for g in groups]
    win.activateWindow()
    qtbot.waitUntil(lambda: win.isActiveWindow(), timeout=5_000)
    dp.members.setFocus()
    keys = dp.members

    # M: every group marked by the rule; the running total says how much goes
    with qtbot.waitSignal(win.plansApplied, timeout=30_000):
        qtbot.keyClick(keys, Key.Key_M)
    assert dp.marked_ids() and totals_shown(dp)
    assert dp.current_group() == order[0] and dp.group_pos.text() == f"Group 1 of {len(order)}"

    # 2: keep the group's second photo, the others marked (but never a group's last copy)
    qtbot.keyClick(keys, Key.Key_2)
    first = member_ids(dp)
    assert kept_only(dp, order[0], first[1]) and totals_shown(dp)
    # J: the next group; Down then P keeps the photo chosen with the arrow
    qtbot.keyClick(keys, Key.Key_J)
    assert dp.current_group() == order[1] and dp.group_pos.text() == f"Group 2 of {len(order)}"
    qtbot.keyClick(keys, Key.Key_Down)
    chosen = dp.current_member()
    qtbot.keyClick(keys, Key.Key_P)
    assert kept_only(dp, order[1], chosen) and dp.marked[order[1]]
    # K goes back, J forth; X unmarks one photo (the total follows) and marks it again
    qtbot.keyClick(keys, Key.Key_K)
    assert dp.current_group() == order[0]
    qtbot.keyClick(keys, Key.Key_J)
    assert dp.current_group() == order[1]
    before = len(dp.marked_ids())
    qtbot.keyClick(keys, Key.Key_Home)
    for _ in range(dp.members.topLevelItemCount()):  # down to a photo that is marked
        if dp.current_member() in dp.marked[order[1]]:
            break
        qtbot.keyClick(keys, Key.Key_Down)
    assert dp.current_member() in dp.marked[order[1]]
    qtbot.keyClick(keys, Key.Key_X)
    assert len(dp.marked_ids()) == before - 1 and totals_shown(dp)
    qtbot.keyClick(keys, Key.Key_X)
    assert len(dp.marked_ids()) == before
    qtbot.keyClick(keys, Key.Key_J)
    assert dp.current_group() == order[2]
    # N: not duplicates; the group leaves the list, the next one comes up
    dismissed = order[2]
    qtbot.keyClick(keys, Key.Key_N)
    qtbot.waitUntil(lambda: "not duplicates" in dp.banner.text(), timeout=10_000)
    assert dismissed not in dp.group_order() and not dp.marked[dismissed]

    # J past the last group ends the review in one confirmation, answered with keys
    to_go = sorted(dp.marked_ids())
    paths = [dp.result.rows[i]["path"] for i in to_go]
    nbytes = dp.marked_bytes()
    assert f"reviewed 3 of {len(dp.group_order())}" in dp.summary.text()
    seen: list[str] = []
    confirm_with_keys(seen)
    with qtbot.waitSignal(win.trashFinished, timeout=60_000) as done:
        for _ in range(len(order) + 1):
            if seen:
                break
            qtbot.keyClick(keys, Key.Key_J)
    assert len(seen) == 1 and f"Move {len(to_go)} photo" in seen[0] and human_bytes(nbytes) in seen[0]
    assert sorted(done.args[0].ids) == to_go and done.args[0].bytes == nbytes
    assert not any(Path(p).exists() for p in paths)

    # Ctrl+Z: undo, as the button does
    qtbot.waitUntil(lambda: dp.undo_btn.isEnabled(), timeout=30_000)
    win.activateWindow()  # the confirmation had it
    qtbot.waitUntil(lambda: win.isActiveWindow(), timeout=5_000)
    dp.members.setFocus()
    with qtbot.waitSignal(win.undoFinished, timeout=60_000) as back:
        qtbot.keyClick(dp.members, Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(back.args[0]) == len(paths) and all(Path(p).exists() for p in paths)


def test_review_keys_are_documented_where_a_person_looks(window) -> None:  # noqa: ANN001
    dp = window.duplicates
    tip = dp.keys_btn.toolTip()
    assert all(k in tip for k, _ in KEYS)
    bound = {seq.toString() for a in dp.actions() for seq in a.shortcuts()}
    documented = {"J", "PgDown", "K", "PgUp", "P", "X", "U", "N", "M", "Del", "Ctrl+Z", "1", "9"}
    assert documented <= bound, documented - bound
    assert "(N)" in dp.not_dup_btn.toolTip() and "(M)" in dp.apply_btn.toolTip()
