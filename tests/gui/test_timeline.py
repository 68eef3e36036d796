"""The library as a timeline: real photos with real EXIF dates (and file times where a photo has
no usable date), in months newest first, narrowed to a date range, or by folder, or by name;
and what Enter, double-click and 'S' do on the grid."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QDate, QPoint, Qt

from hashcore.ingest.paths import display_path
from tests.photos import load_small, source_photos

# (folder, EXIF date or None, file time used when there is no usable EXIF date)
DATED = [
    ("trips", "2024:03:02 09:10:00", None),
    ("trips", "2024:03:28 18:00:00", None),
    ("trips", "2024:01:15 12:00:00", None),
    ("trips", "2023:12:31 23:59:59", None),
    ("home", "2024:03:15 08:30:00", None),
    ("home", "2022:07:04 16:00:00", None),
    ("home", "2022:07:20 10:00:00", None),
    ("home", "2021:02:01 11:11:11", None),
    ("home", None, (2023, 6, 10)),
    ("home", None, (2019, 11, 5)),
    ("trips", "0000:00:00 00:00:00", (2023, 6, 20)),  # a camera that never had its clock set
    ("trips", "    :  :     :  :  ", (2023, 6, 21)),
]
MONTHS = [("March 2024", 3), ("January 2024", 1), ("December 2023", 1), ("June 2023", 3),
          ("July 2022", 2), ("February 2021", 1), ("November 2019", 1)]


def local(day: tuple[int, int, int]) -> float:
    return time.mktime((*day, 12, 0, 0, 0, 0, -1))


@pytest.fixture(scope="module")
def dated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dated")
    sources = source_photos()
    assert len(sources) >= len(DATED), "install mate-backgrounds or plasma-workspace-wallpapers"
    for n, ((folder, taken, _), src) in enumerate(zip(DATED, sources, strict=False)):
        img = load_small(src, 320)
        exif = Image.Exif()
        if taken:
            exif[0x0132] = taken  # DateTime, which the indexer reads when DateTimeOriginal is absent
        path = root / folder / f"{src.stem.lower()}-{n:02d}.jpg"
        path.parent.mkdir(exist_ok=True)
        img.save(path, "JPEG", quality=85, exif=exif.tobytes())
    return root


@pytest.fixture
def dated(tmp_path: Path, dated_template: Path) -> Path:
    """This test's copy, with the file times set (a copy would not keep them all)."""
    import shutil

    dest = tmp_path / "Photos"
    shutil.copytree(dated_template, dest)
    files = sorted(dest.rglob("*.jpg"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    for path, (_, _, day) in zip(files, DATED, strict=True):
        t = local(day) if day else local((2025, 1, 1))
        os.utime(path, (t, t))
    return dest


@pytest.fixture
def timeline_window(qtbot, window, dated):  # noqa: ANN001, ANN201
    with qtbot.waitSignal(window.indexingFinished, timeout=180_000):
        window.library_ctl.index_folders([str(dated)])
    qtbot.waitUntil(lambda: window.library.model.rowCount() == len(DATED), timeout=20_000)
    return window


def back_from_viewer(win) -> None:  # noqa: ANN001
    """Where the window has the viewer (issue 16 part 3) wired to open_requested, leave it."""
    if getattr(win, "viewing", lambda: False)():
        win.close_viewer()


def names(rows: list[dict]) -> list[str]:
    return [Path(r["path"]).name for r in rows]


def test_months_newest_first_with_headers_and_a_date_range(qtbot, timeline_window) -> None:  # noqa: ANN001
    panel = timeline_window.library
    model, grid = panel.model, panel.grid
    assert panel.sort_box.currentData() == "date"  # the timeline is what a library opens on
    assert model.groups == MONTHS
    whens = [r["when"] for r in model.rows]
    assert whens == sorted(whens, reverse=True)
    march = [Path(r["path"]).parent.name for r in model.rows[:3]]
    assert march == ["trips", "home", "trips"]  # 28th, 15th, 2nd

    # the headers are laid out in the grid: each month starts a line of its own at the left
    # edge, below the month before, with its header above its first photo (no photo there)
    qtbot.waitUntil(lambda: grid.visualRect(model.index(model.rowCount() - 1)).isValid(), timeout=10_000)
    left = grid.cell_rect(0).x()
    band = grid.layout_geometry()[3]
    for g, start in enumerate(model.group_start):
        first = grid.cell_rect(start)
        assert first.x() == left, (g, first)
        if g:
            assert first.y() >= grid.cell_rect(start - 1).bottom() + band, (g, first)
        header = QPoint(first.x() + 10, first.y() - band // 2)
        assert not grid.indexAt(header).isValid()  # a click on a header selects no photo
        assert grid.indexAt(first.center()).row() == start
    grid.viewport().repaint()  # every header and photo paints

    # a date range through its controls: both days included, to the last second
    panel.date_from.setDate(QDate(2023, 12, 31))
    panel.date_to.setDate(QDate(2024, 1, 31))
    panel.range_box.click()
    assert panel.date_from.isEnabled()
    assert model.groups == [("January 2024", 1), ("December 2023", 1)]
    assert panel.count_label.text() == f"2 of {len(DATED)} photos"
    panel.date_to.setDate(QDate(2023, 6, 20))
    panel.date_from.setDate(QDate(2022, 7, 5))
    assert model.groups == [("June 2023", 2), ("July 2022", 1)]  # June 10 and 20; July 20
    panel.range_box.click()
    assert model.groups == MONTHS and not panel.date_from.isEnabled()


def test_sort_by_name_and_by_folder(qtbot, timeline_window, dated) -> None:  # noqa: ANN001
    panel = timeline_window.library
    model, grid = panel.model, panel.grid
    panel.sort_box.setCurrentIndex(panel.sort_box.findData("name"))
    assert model.groups is None and grid.uniformItemSizes()  # no headers: a plain grid
    assert names(model.rows) == sorted(names(model.rows), key=str.lower)
    assert model.rowCount() == len(DATED)

    panel.sort_box.setCurrentIndex(panel.sort_box.findData("folder"))
    home, trips = display_path(str(dated / "home")), display_path(str(dated / "trips"))
    assert model.groups == [(home, 6), (trips, 6)]
    assert [Path(r["path"]).parent.name for r in model.rows] == ["home"] * 6 + ["trips"] * 6
    assert names(model.rows[:6]) == sorted(names(model.rows[:6]), key=str.lower)
    assert not grid.uniformItemSizes()

    # with a date range, the folders keep only their photos of those days
    panel.set_order("folder", "2024-01-01", "2024-12-31")
    assert model.groups == [(home, 1), (trips, 3)]
    from app.context import settings

    assert settings().value("librarySort") == "folder"  # the next start opens on the same order


def test_enter_and_double_click_open_the_view_s_finds_similar(qtbot, timeline_window) -> None:  # noqa: ANN001
    win = timeline_window
    grid, model = win.library.grid, win.library.model
    win.tabs.setCurrentWidget(win.library)
    qtbot.waitUntil(lambda: grid.visualRect(model.index(2)).isValid(), timeout=10_000)
    ids = [r["id"] for r in model.rows]
    with qtbot.waitSignal(win.library.open_requested, timeout=5_000) as sig:
        at = grid.cell_rect(2).center()
        qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=at)  # a double-click's first click
        qtbot.mouseDClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert sig.args == [ids, 2]  # the photos of this view, in its order, and which one
    back_from_viewer(win)
    grid.setFocus()
    assert grid.select_id(ids[4])
    with qtbot.waitSignal(grid.open_requested, timeout=5_000) as sig:
        qtbot.keyClick(grid, Qt.Key.Key_Return)
    assert sig.args == [ids, 4]
    assert win.tabs.currentWidget() is win.library  # opening is not a search any more
    back_from_viewer(win)
    with qtbot.waitSignal(win.searchFinished, timeout=60_000) as sig:
        qtbot.keyClick(grid, Qt.Key.Key_S)
    assert sig.args[0].query_id == ids[4]
    assert win.tabs.currentWidget() is win.similar
