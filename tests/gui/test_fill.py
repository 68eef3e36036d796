"""A library that fills while it indexes: the first committed batch of real photos shows in the
grid (and the Welcome page gives way to it) while the indexer is still held mid-run by a
JobGate; later batches join without resetting the grid, so the photo a person selected stays
selected and where it was on screen."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gui.conftest import JobGate
from tests.photos import SAMPLES, load_small, save_jpeg, source_photos

BATCH = 4  # photos per indexer transaction in these tests (HASHLENS_INDEX_BATCH)


@pytest.fixture(scope="module")
def real_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 distinct real photos (samples and Debian's photo wallpapers), downsized."""
    dest = tmp_path_factory.mktemp("fill") / "Camera"
    for n, src in enumerate(source_photos()[:20]):
        save_jpeg(load_small(src, 320), dest / f"{n:02d}-{src.stem.lower()}.jpg", 85)
    return dest


class Resets:
    def __init__(self, model) -> None:  # noqa: ANN001
        self.n = 0
        model.modelReset.connect(self._reset)

    def _reset(self) -> None:
        self.n += 1


def test_photos_join_the_grid_batch_by_batch_while_indexing_runs(qtbot, window, real_folder, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("HASHLENS_INDEX_BATCH", str(BATCH))
    total = len(list(real_folder.glob("*.jpg")))
    panel, status = window.library, window.status_bar
    assert panel.stack.currentIndex() == 0  # the Welcome page of an empty library
    gate = JobGate(monkeypatch)
    gate.hold(lambda done, _total, _text: done >= BATCH)  # right after the first batch is committed
    window.library_ctl.index_folders([str(real_folder)])
    qtbot.waitUntil(gate.held, timeout=60_000)
    # while the indexer is held: the first photos are in the grid, the Welcome page is gone, the
    # status bar counts them and still shows the run's progress
    qtbot.waitUntil(lambda: panel.model.rowCount() == BATCH, timeout=20_000)
    assert gate.held() and window.library_ctl.index_job is not None
    assert panel.stack.currentIndex() == 1 and panel.side.isVisible()
    assert status.stats_label.text() == f"{BATCH} photos in 1 folder"
    assert status.progress.isVisible() and status.progress.text() == f"{BATCH} / {total}"
    assert panel.roots_view.topLevelItemCount() == 1

    # a person picks a photo; the next batches join without a reset and it stays picked
    resets = Resets(panel.model)
    picked = panel.model.rows[1]["id"]
    assert panel.grid.select_id(picked)
    gate.hold(lambda done, _total, _text: done >= 3 * BATCH)
    gate.release()
    qtbot.waitUntil(gate.held, timeout=60_000)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3 * BATCH, timeout=20_000)
    assert gate.held()
    assert panel.grid.current_row()["id"] == picked and panel.grid.selected_ids() == [picked]
    assert resets.n == 0
    with qtbot.waitSignal(window.indexingFinished, timeout=120_000):
        gate.release()
    qtbot.waitUntil(lambda: window.snapshot is not None and window.snapshot.stats["photos"] == total, timeout=20_000)
    qtbot.waitUntil(lambda: panel.model.rowCount() == total, timeout=20_000)
    assert not gate.ran_out
    assert sorted(r["path"] for r in panel.model.rows) == sorted(str(p) for p in real_folder.glob("*.jpg"))
    assert panel.grid.selected_ids() == [picked] and resets.n == 0  # the final read changed nothing seen


def test_newer_photos_arriving_above_keep_what_is_on_screen(qtbot, window) -> None:  # noqa: ANN001
    """Newest first, photos indexed later often belong above what a person is looking at: the
    grid grows above it instead of pushing it away."""
    files = [str(p) for p in sorted(SAMPLES.glob("*.jpg"))]
    day = 86_400.0
    rows = [{"id": i, "path": files[i % len(files)], "mtime": 1.6e9 + i * day / 3, "taken_at": None}
            for i in range(3000)]
    panel, grid = window.library, window.library.grid
    stats = {"photos": len(rows), "missing": 0, "errors": 0, "tags": 0}
    panel.set_snapshot(rows, [], stats)
    bar = grid.verticalScrollBar()
    qtbot.waitUntil(lambda: grid.visualRect(panel.model.index(len(rows) - 1)).isValid(), timeout=60_000)
    bar.setValue(bar.maximum() // 2)
    target = grid.indexAt(grid.viewport().rect().center())
    assert target.isValid()
    picked = panel.model.rows[target.row()]["id"]
    grid.setCurrentIndex(target)
    y = grid.visualRect(target).y()
    resets = Resets(panel.model)
    newer = [{"id": 10_000 + i, "path": files[i % len(files)], "mtime": 1.6e9 + 3000 * day / 3 + i * day,
              "taken_at": None} for i in range(40)]
    panel.add_rows(newer, [], {**stats, "photos": len(rows) + len(newer)})
    assert panel.model.rows[0]["id"] == newer[-1]["id"]  # the newest first
    qtbot.waitUntil(lambda: grid.visualRect(panel.model.index(len(rows) + len(newer) - 1)).isValid(),
                    timeout=60_000)
    qtbot.waitUntil(lambda: grid.visualRect(grid.currentIndex()).y() == y, timeout=10_000)
    assert grid.current_row()["id"] == picked and resets.n == 0
    assert grid.indexAt(grid.viewport().rect().center()).row() == grid.currentIndex().row()
