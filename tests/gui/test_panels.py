"""What a careful person relies on in each panel: progress and cancel, problems listed, protected
folders, 'Not duplicates' remembered, the compare view, tags, search by a dropped or pasted image,
and the window remembering itself."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication

from hashcore.store.db import Store
from tests.gui.conftest import JobGate, LoopWatch, count_photos
from tests.gui.test_compare import drag


def many_photos(dest: Path, n: int = 40) -> Path:
    """Real photos (random edits of the samples), more than the indexer writes in one batch."""
    import random

    from hashcore.models.augment import random_variant
    from tests.photos import SAMPLES, load_small, save_jpeg

    rng = random.Random(1)
    sources = [load_small(p, 360) for p in sorted(SAMPLES.glob("*.jpg"))]
    for k in range(n):
        save_jpeg(random_variant(sources[k % len(sources)], rng), dest / f"edit-{k:03d}.jpg", 80)
    return dest


def test_indexing_shows_progress_stays_responsive_and_cancels(qtbot, window, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    photos = many_photos(tmp_path / "big")
    total = count_photos(photos)
    gate = JobGate(monkeypatch)
    gate.hold(lambda done, _total, _text: done >= 2)  # the job stops there until the test lets it go
    watch = LoopWatch()
    window.library_ctl.index_folders([str(photos)])
    assert window.status_bar.progress.isVisible() and window.status_bar.cancel_btn.isVisible()
    qtbot.waitUntil(gate.held, timeout=60_000)
    qtbot.waitUntil(lambda: window.status_bar.progress.value() == 2, timeout=10_000)
    assert window.status_bar.progress.text() == f"2 / {total}"  # the count is shown
    # the event loop runs on while the model's job is mid-run: 80 ticks of 10 ms, which is also
    # more than the half second of measured work the window needs before it shows a rate
    ticks = watch.ticks
    qtbot.waitUntil(lambda: watch.ticks >= ticks + 80, timeout=30_000)
    gate.hold(lambda *_report: True)  # stop again at the very next photo
    gate.release()
    qtbot.waitUntil(gate.held, timeout=60_000)
    qtbot.waitUntil(lambda: "photos/s" in window.status_bar.progress_label.text(), timeout=10_000)
    assert "left" in window.status_bar.progress_label.text()
    # Cancel is handled while the job is still at work, and says so at once
    qtbot.mouseClick(window.status_bar.cancel_btn, Qt.MouseButton.LeftButton)
    assert gate.held() and "Cancelling" in window.status_bar.progress_label.text() and not window.status_bar.cancel_btn.isEnabled()
    with qtbot.waitSignal(window.indexingFinished, timeout=60_000) as sig:
        gate.release()
    watch.stop()
    assert not gate.ran_out, "the job was held until the gate gave up: the GUI never got to it"
    report = sig.args[0]
    assert report.cancelled and 0 < report.indexed < total
    assert "cancelled" in window.status_bar.message.text()
    assert not window.status_bar.progress.isVisible()
    # what was indexed before cancelling is kept and shown
    qtbot.waitUntil(lambda: window.library.model.rowCount() == report.indexed, timeout=10_000)


def test_unreadable_files_are_listed_in_the_problems_panel(qtbot, window, photos) -> None:  # noqa: ANN001
    bad = photos / "originals" / "truncated.jpg"
    bad.write_bytes((photos / "originals" / "coffee.jpg").read_bytes()[:300])
    with qtbot.waitSignal(window.indexingFinished, timeout=180_000):
        window.library_ctl.index_folders([str(photos)])
    assert window.errors_dock.isVisible()  # opened once, not a pop-up per file
    table = window.errors_dock.table
    qtbot.waitUntil(lambda: table.rowCount() == 1, timeout=10_000)
    assert table.item(0, 0).text() == str(bad)
    assert "corrupt" in table.item(0, 1).text() or "truncated" in table.item(0, 1).text()
    assert window.status_bar.errors_btn.text() == "⚠ 1 problem"
    root_item = window.library.roots_view.topLevelItem(0)
    assert "1 error" in root_item.text(2)


def test_protected_folder_is_never_marked_and_not_duplicates_is_remembered(qtbot, window, photos, config) -> None:  # noqa: ANN001
    with qtbot.waitSignal(window.indexingFinished, timeout=180_000):
        window.library_ctl.index_folders([str(photos / "originals"), str(photos / "copies"), str(photos / "backup")])
    backup_root = next(r for r in window.ctx.lib.store.roots() if r["path"].endswith("backup"))
    with qtbot.waitSignal(window.snapshotLoaded, timeout=10_000):
        window.library_ctl.protect_root(backup_root["id"], True)
    dp = window.duplicates
    with qtbot.waitSignal(window.duplicatesFound, timeout=60_000) as sig:
        window.duplicates_ctl.find_duplicates()
    groups = sig.args[0].groups
    n_exact = next(n for n, g in enumerate(groups) if g.kind == "exact")
    backup_id = next(i for i, p in zip(groups[n_exact].image_ids, groups[n_exact].paths, strict=True)
                     if "/backup/" in p)
    for rule in ("resolution", "size", "oldest", "newest"):
        dp.rule.setCurrentIndex(dp.rule.findData(rule))
        with qtbot.waitSignal(window.plansApplied, timeout=30_000):
            dp.apply_btn.click()
        assert backup_id not in dp.marked_ids()
        assert all(len(m) < len(g.image_ids) for m, g in zip(dp.marked.values(), groups, strict=True))
    # the protected copy cannot be ticked by hand either, and shows a lock
    dp.select_group(n_exact)
    assert not dp.set_mark(n_exact, backup_id, remove=True)
    item = next(dp.members.topLevelItem(k) for k in range(dp.members.topLevelItemCount())
                if "/backup/" in dp.members.topLevelItem(k).toolTip(1))
    assert not item.flags() & Qt.ItemFlag.ItemIsUserCheckable
    assert "protected" in item.text(4)

    # "Not duplicates" on a near group: stored in the database, gone from the next run
    n_near = next(n for n, g in enumerate(groups) if g.kind == "near")
    dismissed = sorted(groups[n_near].image_ids)
    dp.select_group(n_near)
    dp.not_dup_btn.click()
    qtbot.waitUntil(lambda: "not duplicates" in dp.banner.text(), timeout=10_000)
    with Store(config.db_path) as store:
        assert set(dismissed) in store.decisions()
    with qtbot.waitSignal(window.duplicatesFound, timeout=60_000) as sig:
        window.duplicates_ctl.find_duplicates()
    assert dismissed not in [sorted(g.image_ids) for g in sig.args[0].groups]
    assert len(sig.args[0].groups) == len(groups) - 1


def test_compare_view_zooms_and_pans_together(qtbot, indexed) -> None:  # noqa: ANN001
    win = indexed
    win.tabs.setCurrentWidget(win.duplicates)
    with qtbot.waitSignal(win.duplicatesFound, timeout=60_000) as sig:
        win.duplicates_ctl.find_duplicates()
    groups = sig.args[0].groups
    # the cat's group holds a half-size copy: different resolutions side by side
    n = next(k for k, g in enumerate(groups) if any(p.endswith("chelsea-cat-small.jpg") for p in g.paths))
    cv = win.duplicates.compare
    win.duplicates.select_group(n)
    qtbot.waitUntil(lambda: len(cv.views) == len(groups[n].image_ids)
                    and all(v.img_w > 1 for v in cv.views), timeout=30_000)
    widths = {v.img_w for v in cv.views}
    assert len(widths) > 1
    # 100%: every photo at its own real pixels
    cv.one_btn.click()
    assert all(abs(v.scale_now() - 1.0) < 1e-6 for v in cv.views)
    # zooming one view zooms all; panning one pans all (same place in every photo)
    cv._zoomed(1.25, QPointF(0.3, 0.4))
    assert len({round(v.scale_now(), 6) for v in cv.views}) == 1
    before = cv.views[1].centre_fraction()
    drag(cv.views[0], QPoint(-60, -30))  # the user drags the first photo
    centres = [v.centre_fraction() for v in cv.views]
    assert abs(centres[1].x() - before.x()) > 0.01  # the others followed
    assert all(abs(c.x() - centres[0].x()) < 0.02 and abs(c.y() - centres[0].y()) < 0.02 for c in centres)
    # same framing: each scaled so the same part of the scene fills the same space
    cv.same_framing.setChecked(True)
    shown = [v.scale_now() * v.img_w for v in cv.views]
    assert max(shown) - min(shown) < 1.0
    # the facts table highlights what differs (resolution here) and marks the best
    res_row = [cv.facts.item(0, c) for c in range(cv.facts.columnCount())]
    assert "Resolution" in cv.differences and all(it.font().bold() for it in res_row)
    assert sum("▲" in it.text() for it in res_row) >= 1
    # swap reverses the order; flicker shows one photo at a time, cycling
    first = cv.rows[0]["id"]
    cv.swap_btn.click()
    assert cv.rows[-1]["id"] == first
    cv.flicker_btn.click()
    assert [v.isVisible() for v in cv.views].count(True) == 1
    qtbot.waitUntil(lambda: cv.flicker_index > 0, timeout=3_000)
    cv.flicker_btn.click()
    assert all(v.isVisible() for v in cv.views)


def test_tags_add_filter_remove(qtbot, indexed) -> None:  # noqa: ANN001
    win = indexed
    win.tabs.setCurrentWidget(win.tags)
    tp = win.tags
    cats = [n for n, r in enumerate(tp.model.rows) if "chelsea-cat" in r["path"]]
    sel = tp.grid.selectionModel()
    for n in cats:
        sel.select(tp.model.index(n), sel.SelectionFlag.Select)
    qtbot.keyClicks(tp.tag_edit, "cat")
    with qtbot.waitSignal(win.snapshotLoaded, timeout=10_000):
        qtbot.keyClick(tp.tag_edit, Qt.Key.Key_Return)
    labels = [tp.tag_list.item(k).text() for k in range(tp.tag_list.count())]
    assert f"cat ({len(cats)})" in labels
    with qtbot.waitSignal(win.snapshotLoaded, timeout=10_000):
        tp.tag_list.setCurrentRow(labels.index(f"cat ({len(cats)})"))
    assert sorted(r["path"] for r in tp.model.rows) == sorted(r["path"] for r in win.library.model.rows
                                                              if "chelsea-cat" in r["path"])
    # the preview shows the tag
    tp.grid.setCurrentIndex(tp.model.index(0))
    assert "cat" in tp.preview.labels["Tags"].text()
    # remove it from one photo: the filtered grid shrinks
    tp.grid.selectionModel().clearSelection()
    sel.select(tp.model.index(0), sel.SelectionFlag.Select)
    with qtbot.waitSignal(win.snapshotLoaded, timeout=10_000):
        tp.remove_btn.click()
    qtbot.waitUntil(lambda: tp.model.rowCount() == len(cats) - 1, timeout=10_000)
    # issue 5's cross-modal search box is there and switched on
    assert tp.semantic_edit.objectName() == "tagSearchBox" and tp.semantic_edit.isEnabled()


def test_search_by_dropped_file_and_pasted_image(qtbot, indexed, tmp_path) -> None:  # noqa: ANN001
    win = indexed
    outside = tmp_path / "elsewhere" / "cat from a friend.jpg"
    outside.parent.mkdir()
    shutil.copy2(next(Path(r["path"]) for r in win.library.model.rows if r["path"].endswith("chelsea-cat-bright.jpg")),
                 outside)
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(outside))])
    drop = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, md, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(win.searchFinished, timeout=60_000) as sig:
        win.dropEvent(drop)
    assert win.tabs.currentWidget() is win.similar
    top = [Path(h.path).name for h in sig.args[0].hits[:5]]
    assert "chelsea-cat-bright.jpg" in top[:1] and "chelsea-cat.jpg" in top
    # paste an image (not a file) from the clipboard
    img = QImage(str(next(r["path"] for r in win.library.model.rows if r["path"].endswith("originals/coffee.jpg"))))
    QGuiApplication.clipboard().setImage(img)
    win.similar.grid.setFocus()
    with qtbot.waitSignal(win.searchFinished, timeout=60_000) as sig:
        qtbot.keyClick(win.similar.grid, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert "pasted image" in win.similar.title.text()
    assert "coffee" in Path(sig.args[0].hits[0].path).name


def test_drop_a_folder_to_add_it(qtbot, window, photos) -> None:  # noqa: ANN001
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(photos / "copies"))])
    drop = QDropEvent(QPointF(100, 100), Qt.DropAction.CopyAction, md, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.indexingFinished, timeout=180_000):
        window.dropEvent(drop)
    qtbot.waitUntil(lambda: window.library.roots_view.topLevelItemCount() == 1, timeout=10_000)
    assert window.library.roots_view.topLevelItem(0).text(0) == "copies"


def test_window_remembers_panel_geometry_and_settings(qtbot, config, encoder) -> None:  # noqa: ANN001
    from app.window import MainWindow

    win = MainWindow(config, encoder)
    qtbot.addWidget(win)
    win.show()
    win.resize(760, 540)  # fits the offscreen screen, so the restore is not clamped
    win.tabs.setCurrentWidget(win.duplicates)
    win.similar.k_spin.setValue(7)
    win.set_thumb_edge(128)
    size = (win.width(), win.height())
    win.close()
    again = MainWindow(config, encoder)
    qtbot.addWidget(again)
    again.show()
    assert again.tabs.currentWidget() is again.duplicates
    assert again.similar.k_spin.value() == 7
    assert again.ctx.edge == 128 and again.library.model.edge == 128
    assert (again.width(), again.height()) == size
    again.close()


def test_context_menu_and_copy_path(qtbot, indexed) -> None:  # noqa: ANN001
    win = indexed
    grid = win.library.grid
    win.tabs.setCurrentWidget(win.library)
    grid.select_id(grid.photo_model.rows[2]["id"])
    path = grid.photo_model.rows[2]["path"]
    rect = grid.visualRect(grid.photo_model.index(2))

    def check_menu() -> None:
        menu = QApplication.activePopupWidget()
        assert menu is not None and menu.objectName() == "photoMenu"
        texts = [a.text() for a in menu.actions() if a.text()]
        assert texts[:4] == ["Open", "Show in folder", "Find similar", "Copy path"]
        next(a for a in menu.actions() if a.text() == "Copy path").trigger()
        menu.close()

    QTimer.singleShot(200, check_menu)
    grid.customContextMenuRequested.emit(rect.center())
    qtbot.waitUntil(lambda: QGuiApplication.clipboard().text() == path, timeout=5_000)
    assert grid.currentIndex().row() == 2 and isinstance(rect.center(), QPoint)
