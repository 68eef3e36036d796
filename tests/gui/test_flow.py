"""The whole path a person takes: add a folder, find similar photos, clean up duplicates, undo."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QPushButton, QWidget

from app.widgets import human_bytes
from hashcore.store.db import Store
from tests.gui.conftest import PLANTED, VARIANT_KINDS, answer_dialog, count_photos


def names(hits) -> list[str]:  # noqa: ANN001
    return [Path(h.path).name for h in hits]


def test_first_run_explains_what_to_do(window) -> None:  # noqa: ANN001
    for name in ("libraryPanel", "similarPanel", "duplicatesPanel", "tagsPanel"):
        assert window.findChild(QWidget, name) is not None, name
    assert window.library.stack.currentWidget() is window.library.empty
    add = window.findChild(QPushButton, "emptyAddFolder")
    samples = window.findChild(QPushButton, "emptyTrySamples")
    assert add.isVisible() and samples.isVisible()
    assert "Add folder" in add.text() and "sample photos" in samples.text()
    assert not window.windowIcon().isNull()


def test_try_the_sample_photos(qtbot, window, config) -> None:  # noqa: ANN001
    with qtbot.waitSignal(window.indexingFinished, timeout=120_000) as sig:
        qtbot.mouseClick(window.findChild(QPushButton, "emptyTrySamples"), Qt.MouseButton.LeftButton)
    assert sig.args[0].indexed == 8
    qtbot.waitUntil(lambda: window.library.model.rowCount() == 8)
    assert window.library.stack.currentWidget() is not window.library.empty
    # the samples were copied into the data folder: the installation is never touched
    assert all(r["path"].startswith(str(config.home)) for r in window.library.model.rows)


def test_index_find_similar_dedupe_trash_undo(qtbot, indexed, photos, config) -> None:  # noqa: ANN001, PLR0915
    win = indexed
    total = count_photos(photos)
    assert f"Indexed {total} photos" in win.status_bar.message.text()
    assert not win.status_bar.progress.isVisible()

    # thumbnails are made lazily in workers and cached on disk
    model = win.library.model
    qtbot.waitUntil(lambda: isinstance(model.data(model.index(0), Qt.ItemDataRole.DecorationRole), QPixmap),
                    timeout=20_000)
    assert any((config.cache_dir / "thumbs").rglob("*.jpg"))

    # select the cat and ask for similar photos with the keyboard
    cat = next(r for r in model.rows if r["path"].endswith("originals/chelsea-cat.jpg"))
    win.tabs.setCurrentWidget(win.library)
    win.library.grid.setFocus()
    assert win.library.grid.select_id(cat["id"])
    assert win.library.preview.title.text() == "chelsea-cat.jpg"
    with qtbot.waitSignal(win.searchFinished, timeout=60_000) as sig:
        qtbot.keyClick(win.library.grid, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert win.tabs.currentWidget() is win.similar
    hits = sig.args[0].hits
    assert set(names(hits[:4])) == {f"chelsea-cat-{k}.jpg" for k in VARIANT_KINDS}, names(hits)
    assert [h.distance for h in hits] == sorted(h.distance for h in hits)
    first = win.similar.model.rows[0]
    assert first["badge"][0].endswith(str(hits[0].distance))  # the distance is on the thumbnail

    # a byte-identical backup has the same code: distance 0, marked exact
    astro = next(r for r in model.rows if r["path"].endswith("originals/astronaut.jpg"))
    with qtbot.waitSignal(win.searchFinished, timeout=60_000) as sig:
        win.similar_ctl.find_similar(astro["id"])
    top = sig.args[0].hits[0]
    assert top.path.endswith("backup/astronaut.jpg") and top.distance == 0 and top.exact_code
    assert win.similar.model.rows[0]["badge"][0].startswith("= exact")

    # duplicates: exact and near groups apart
    win.tabs.setCurrentWidget(win.duplicates)
    dp = win.duplicates
    with qtbot.waitSignal(win.duplicatesFound, timeout=60_000) as sig:
        qtbot.mouseClick(dp.find_btn, Qt.MouseButton.LeftButton)
    groups = sig.args[0].groups
    exact = [g for g in groups if g.kind == "exact"]
    assert len(exact) == 1 and sorted(Path(p).parent.name for p in exact[0].paths) == ["backup", "originals"]
    for stem in PLANTED:
        near = [g for g in groups if g.kind == "near" and any(p.endswith(f"originals/{stem}.jpg") for p in g.paths)]
        assert near, f"{stem} and its copies were not grouped"
        assert sum(f"copies/{stem}-" in p for p in near[0].paths) >= 3
    assert "Exact copies" in dp.section_items["exact"].text(0)
    assert dp.section_items["near"].childCount() == len(groups) - 1

    # keep rule: largest file; every group keeps exactly the file the rule picks, the rest marked
    dp.rule.setCurrentIndex(dp.rule.findData("size"))
    with qtbot.waitSignal(win.plansApplied, timeout=30_000):
        qtbot.mouseClick(dp.apply_btn, Qt.MouseButton.LeftButton)
    rows = dp.result.rows
    for n, g in enumerate(groups):
        kept = [i for i in g.image_ids if i not in dp.marked[n]]
        assert len(kept) == 1
        assert rows[kept[0]]["size"] == max(rows[i]["size"] for i in g.image_ids)
    # manual override: keep one more photo of the first near group
    near_n = next(n for n, g in enumerate(groups) if g.kind == "near")
    spared = sorted(dp.marked[near_n])[0]
    dp.select_group(near_n)
    assert dp.set_mark(near_n, spared, remove=False)
    ids = dp.marked_ids()
    assert spared not in ids
    nbytes = sum(rows[i]["size"] for i in ids)
    paths = [rows[i]["path"] for i in ids]

    # remove: a confirmation names the count and the bytes; files go to the Trash in our HOME
    seen: list[str] = []
    answer_dialog(qtbot, "confirmTrash", "Move", seen)
    with qtbot.waitSignal(win.trashFinished, timeout=60_000) as sig:
        qtbot.mouseClick(dp.trash_btn, Qt.MouseButton.LeftButton)
    assert f"Move {len(ids)} photos ({human_bytes(nbytes)})" in seen[0]
    res = sig.args[0]
    assert sorted(res.moved) == sorted(paths) and res.bytes == nbytes and not res.failed
    trash_files = Path(os.environ["XDG_DATA_HOME"]) / "Trash" / "files"
    assert sorted(p.name for p in trash_files.iterdir()) == sorted(Path(p).name for p in paths) or \
        len(list(trash_files.iterdir())) == len(paths)
    assert not any(os.path.exists(p) for p in paths)
    assert os.path.exists(rows[spared]["path"])
    with Store(config.db_path) as store:
        assert {store.image(i)["status"] for i in ids} == {"trashed"}
        assert store.count() == total - len(ids)
    assert f"Moved {len(ids)} photos" in dp.banner.text()
    qtbot.waitUntil(lambda: win.library.model.rowCount() == total - len(ids), timeout=20_000)
    qtbot.waitUntil(lambda: dp.undo_btn.isEnabled(), timeout=30_000)

    # undo puts every file back and the database agrees
    with qtbot.waitSignal(win.undoFinished, timeout=60_000) as sig:
        qtbot.mouseClick(dp.undo_btn, Qt.MouseButton.LeftButton)
    assert sorted(sig.args[0]) == sorted(paths)
    assert all(os.path.exists(p) for p in paths)
    assert not any(trash_files.iterdir())
    with Store(config.db_path) as store:
        assert {store.image(i)["status"] for i in ids} == {"ok"}
    qtbot.waitUntil(lambda: win.library.model.rowCount() == total, timeout=20_000)
