"""The viewer (issue 16 part 3): Enter opens the current photo full-window, the arrow keys walk
the view it came from (the library grid, search results, a duplicate group), F and 1 zoom, the
photo's facts show beside it, S finds similar photos, Esc returns to where the person was."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from app.duplicates_panel import IdRole

Key = Qt.Key


def open_with_enter(qtbot, win, grid, row: int) -> None:  # noqa: ANN001
    win.activateWindow()
    qtbot.waitUntil(lambda: win.isActiveWindow(), timeout=5_000)
    grid.setCurrentIndex(grid.photo_model.index(row))
    grid.setFocus()
    qtbot.keyClick(grid, Key.Key_Return)
    assert win.viewing()


def shown_id(win) -> int:  # noqa: ANN001
    return win.viewer.current()["id"]


def test_viewer_walks_the_library_zooms_and_returns(qtbot, indexed) -> None:  # noqa: ANN001
    win = indexed
    grid = win.library.grid
    rows = grid.photo_model.rows
    assert len(rows) > 5
    open_with_enter(qtbot, win, grid, 2)
    v = win.viewer
    assert shown_id(win) == rows[2]["id"] and v.position.text() == f"3 of {len(rows)}"
    qtbot.keyClick(v.view, Key.Key_Right)
    assert shown_id(win) == rows[3]["id"]
    qtbot.keyClick(v.view, Key.Key_Left)
    qtbot.keyClick(v.view, Key.Key_Left)
    assert shown_id(win) == rows[1]["id"]
    qtbot.keyClick(v.view, Key.Key_Home)
    qtbot.keyClick(v.view, Key.Key_Left)  # nothing before the first photo
    assert shown_id(win) == rows[0]["id"]
    qtbot.keyClick(v.view, Key.Key_End)
    assert shown_id(win) == rows[-1]["id"]

    # the photo's facts, as the library knows them
    big = max(range(len(rows)), key=lambda n: rows[n]["width"] or 0)
    while v.index > big:
        qtbot.keyClick(v.view, Key.Key_Left)
    row = win.ctx.image(rows[big]["id"])
    assert v.labels["Dimensions"].text() == f"{row['width']} × {row['height']}"
    assert v.labels["Path"].text() == row["path"]
    assert v.labels["Size"].text() and v.labels["Date taken"].text()

    # the full photo is decoded in a worker; then 1 shows real pixels and F fits it in the window
    qtbot.waitUntil(lambda: v.loaded_path == row["path"], timeout=30_000)
    assert (v.view.img_w, v.view.img_h) == (QImage(row["path"]).width(), QImage(row["path"]).height())
    qtbot.keyClick(v.view, Key.Key_1)
    assert abs(v.real_scale() - 1.0) < 1e-6 and v.zoom_label.text() == "100%"
    middle = v.view.centre_fraction()  # real pixels of the middle of the photo, not of a corner
    assert abs(middle.x() - 0.5) < 0.02 and abs(middle.y() - 0.5) < 0.02, middle
    qtbot.keyClick(v.view, Key.Key_F)
    assert abs(v.view.scale_now() - v.view.fit_scale()) < 1e-6 and v.zoom_label.text().startswith("Fit (")
    vp = v.view.viewport().size()
    assert v.view.img_w * v.view.scale_now() <= vp.width() + 1 and v.view.img_h * v.view.scale_now() <= vp.height() + 1
    v.one_btn.click()  # the buttons do the same
    assert abs(v.real_scale() - 1.0) < 1e-6

    # Esc: back to the library, the photo last viewed is the grid's current one
    qtbot.keyClick(v.view, Key.Key_Escape)
    assert not win.viewing() and win.tabs.currentWidget() is win.library
    assert grid.current_row()["id"] == rows[big]["id"] and grid.hasFocus()


def test_viewer_follows_search_results_and_finds_similar(qtbot, indexed) -> None:  # noqa: ANN001
    win = indexed
    cat = next(r for r in win.library.model.rows if r["path"].endswith("originals/chelsea-cat.jpg"))
    with qtbot.waitSignal(win.searchFinished, timeout=60_000):
        win.similar_ctl.find_similar(cat["id"])
    hits = [r["id"] for r in win.similar.model.rows]
    library_order = [r["id"] for r in win.library.model.rows]
    assert hits != library_order[:len(hits)]  # the results' own order, not the library's
    open_with_enter(qtbot, win, win.similar.grid, 0)
    v = win.viewer
    assert [r["id"] for r in v.rows] == hits and shown_id(win) == hits[0]
    qtbot.keyClick(v.view, Key.Key_Right)
    qtbot.keyClick(v.view, Key.Key_Right)
    assert shown_id(win) == hits[2]
    # S: find photos like the one on screen; the viewer gives way to the Similar panel
    with qtbot.waitSignal(win.searchFinished, timeout=60_000) as sig:
        qtbot.keyClick(v.view, Key.Key_S)
    assert not win.viewing() and win.tabs.currentWidget() is win.similar
    assert sig.args[0].query_id == hits[2] and win.similar.query["id"] == hits[2]
    # "Find similar" is in the viewer's context menu too
    open_with_enter(qtbot, win, win.similar.grid, 1)
    names = [a.text() for a in v.actions()]
    assert "Find similar" in names and v.actions_by_name["similar"].shortcut().toString() == "S"


def test_viewer_walks_a_duplicate_group_and_returns_to_it(qtbot, indexed) -> None:  # noqa: ANN001
    win = indexed
    win.show_panel(2)
    with qtbot.waitSignal(win.duplicatesFound, timeout=60_000) as sig:
        win.duplicates_ctl.find_duplicates()
    groups = sig.args[0].groups
    n = next(k for k, g in enumerate(groups) if len(g.image_ids) >= 3)
    dp = win.duplicates
    dp.select_group(n)
    members = [dp.members.topLevelItem(k).data(0, IdRole) for k in range(dp.members.topLevelItemCount())]
    assert sorted(members) == sorted(groups[n].image_ids)
    win.activateWindow()
    qtbot.waitUntil(lambda: win.isActiveWindow(), timeout=5_000)
    dp.members.setFocus()
    dp.members.setCurrentItem(dp.members.topLevelItem(1))
    qtbot.keyClick(dp.members, Key.Key_Return)
    v = win.viewer
    assert win.viewing() and [r["id"] for r in v.rows] == members and shown_id(win) == members[1]
    qtbot.keyClick(v.view, Key.Key_Right)
    assert shown_id(win) == members[2]
    assert Path(v.title.text()).name == Path(dp.result.rows[members[2]]["path"]).name
    qtbot.keyClick(v.view, Key.Key_Escape)
    assert not win.viewing() and win.tabs.currentWidget() is dp
    assert dp.current_group() == n and dp.current_member() == members[2]
