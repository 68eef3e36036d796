"""The grid over a very large library: a model, not a widget per photo, and lazy thumbnails.
How fast it lays out and repaints is measured by bench/bench_gui.py, not asserted here."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QTimer
from PySide6.QtWidgets import QWidget

from tests.photos import SAMPLES

ROWS = 100_000
JUMPS = 40


def test_grid_scrolls_over_100000_photos(qtbot, window, monkeypatch) -> None:  # noqa: ANN001
    files = [str(p) for p in sorted(SAMPLES.glob("*.jpg"))]
    rows = [{"id": i, "path": files[i % len(files)], "label": f"photo {i:06d}.jpg"} for i in range(ROWS)]
    grid = window.library.grid
    window.library.stack.setCurrentIndex(1)
    cache = window.library.model.cache
    asked: list[str] = []  # every thumbnail the grid asked for while painting
    get = cache.get

    def counted(path: str, edge: int):  # noqa: ANN202
        asked.append(path)
        return get(path, edge)

    monkeypatch.setattr(cache, "get", counted)
    widgets_before = len(grid.findChildren(QWidget))
    bar = grid.verticalScrollBar()
    turns = [0]  # event-loop turns, counted by a zero-delay timer that re-arms itself

    def turn() -> None:
        if bar.maximum() <= 1_000_000:
            turns[0] += 1
            QTimer.singleShot(0, turn)

    window.library.model.set_rows(rows)
    QTimer.singleShot(0, turn)
    qtbot.waitUntil(lambda: bar.maximum() > 1_000_000, timeout=60_000)  # all rows laid out
    # laid out in batches: the event loop turned many times (other events are handled) before
    # the 100,000th row was placed, instead of waiting for one long layout
    assert turns[0] >= 20, turns
    assert len(grid.findChildren(QWidget)) == widgets_before  # no widget per photo

    cell = grid.visualRect(window.library.model.index(0))
    per_row = max(1, grid.viewport().width() // (cell.width() + 2 * grid.spacing()))
    on_screen = per_row * (grid.viewport().height() // (cell.height() + 2 * grid.spacing()) + 2)
    asked.clear()
    for k in range(1, JUMPS + 1):  # jump through the whole library, repainting each time
        bar.setValue(bar.maximum() * k // JUMPS)
        grid.viewport().repaint()
        top = next(r for y in range(0, 2 * cell.height(), 4)
                   if (r := grid.indexAt(QPoint(cell.width() // 2, y)).row()) >= 0)  # first row shown
        expected = (ROWS - on_screen) * k // JUMPS
        assert abs(top - expected) <= on_screen + per_row, (k, top, expected)  # the jump really went there
    # only what was on screen asked for a thumbnail (a screenful per jump, not 100,000 photos),
    # and the loader's queue stays bounded
    assert 0 < len(asked) <= (JUMPS + 1) * on_screen, (len(asked), on_screen)
    assert len(window.ctx.loader._queue) <= window.ctx.loader.MAX_QUEUED
