"""The grid over a very large library: a model, not a widget per photo, and lazy thumbnails."""

from __future__ import annotations

import time

from tests.photos import SAMPLES


def test_grid_scrolls_over_100000_photos(qtbot, window) -> None:  # noqa: ANN001
    files = [str(p) for p in sorted(SAMPLES.glob("*.jpg"))]
    rows = [{"id": i, "path": files[i % len(files)], "label": f"photo {i:06d}.jpg"} for i in range(100_000)]
    grid = window.library.grid
    window.library.stack.setCurrentIndex(1)
    t0 = time.perf_counter()
    window.library.model.set_rows(rows)
    bar = grid.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 1_000_000, timeout=20_000)  # all rows laid out, in batches
    load = time.perf_counter() - t0
    times = []
    for k in range(1, 41):  # jump through the whole library, repainting each time
        t = time.perf_counter()
        bar.setValue(bar.maximum() * k // 40)
        grid.viewport().repaint()
        times.append(time.perf_counter() - t)
    # only what is on screen asked for a thumbnail: the queue stays bounded
    assert len(window.ctx.loader._queue) <= window.ctx.loader.MAX_QUEUED
    times.sort()
    print(f"\n100k rows: set_rows {load * 1000:.0f} ms, scroll+repaint median {times[20] * 1000:.1f} ms, "
          f"worst {times[-1] * 1000:.1f} ms")
    assert times[20] < 0.05 and load < 2.0
