"""The app on a photo whose file name is not UTF-8 (b'caf\\xe9.jpg'): Qt strings cannot hold such a
name, so the grid, the preview and a drag must name it readably and keep its exact bytes."""

from __future__ import annotations

import os
import shutil

from PySide6.QtCore import Qt

from tests.photos import SAMPLES


def test_grid_and_preview_show_the_name_and_load_the_right_file(qtbot, window, tmp_path) -> None:  # noqa: ANN001
    folder = tmp_path / "Pictures"
    folder.mkdir()
    raw = os.path.join(os.fsencode(folder), b"caf\xe9.jpg")
    shutil.copy(SAMPLES / "coffee.jpg", raw)
    shutil.copy(SAMPLES / "rocket-launch.jpg", folder / "rocket.jpg")
    with qtbot.waitSignal(window.indexingFinished, timeout=180_000) as done:
        window.library_ctl.index_folders([str(folder)])
    assert done.args[0].errors == [] and done.args[0].indexed == 2
    grid = window.library.grid
    qtbot.waitUntil(lambda: grid.photo_model.rowCount() == 2, timeout=20_000)
    n = next(i for i, r in enumerate(grid.photo_model.rows) if os.fsencode(r["path"]) == raw)
    idx = grid.photo_model.index(n)
    assert idx.data(Qt.ItemDataRole.DisplayRole) == "caf\\xe9.jpg"
    assert idx.data(Qt.ItemDataRole.ToolTipRole) == f"{folder}/caf\\xe9.jpg"
    # its thumbnail arrives under its own path (a str signal would have filed it under 'caf.jpg')
    qtbot.waitUntil(lambda: idx.data(Qt.ItemDataRole.DecorationRole) is not None, timeout=60_000)
    url = grid.photo_model.mimeData([idx]).urls()[0]
    assert bytes(url.toEncoded()).endswith(b"/Pictures/caf%E9.jpg")  # a drag hands over this very file
    window.tabs.setCurrentWidget(window.library)
    grid.select_id(grid.photo_model.rows[n]["id"])
    assert os.fsencode(grid.current_row()["path"]) == raw
    preview = window.library.preview
    qtbot.waitUntil(lambda: preview.title.text() == "caf\\xe9.jpg", timeout=10_000)
    assert preview.labels["Folder"].text() == str(folder)
