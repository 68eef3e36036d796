"""The Library menu: automatic tags after indexing and on demand (issue 5), adapting the hashing
head to the library and going back to the shipped one (issue 4). Real window, store and model."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from app.jobs import AdaptOptions
from tests.gui.conftest import JobGate, LoopWatch, answer_dialog, count_photos
from tests.photos import SAMPLES

XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag>'
       b'<rdf:li>Holiday 2024</rdf:li><rdf:li>Grandma</rdf:li></rdf:Bag></dc:subject></rdf:Description>'
       b'</rdf:RDF></x:xmpmeta>')


def tag_list(win) -> list[tuple[str, bool]]:  # noqa: ANN001
    """(text, shown in italics) of every row of the tags panel's list."""
    tl = win.tags.tag_list
    return [(tl.item(k).text(), tl.item(k).font().italic()) for k in range(tl.count())]


def select(win, panel, path_end: str) -> dict:  # noqa: ANN001
    row = next(r for r in panel.model.rows if r["path"].endswith(path_end))
    assert panel.grid.select_id(row["id"])
    return row


def test_indexing_adds_automatic_tags_marked_as_automatic(qtbot, indexed) -> None:  # noqa: ANN001
    win = indexed
    assert "tagged:" in win.status_bar.message.text() and "automatic tags" in win.status_bar.message.text()
    rows = tag_list(win)
    assert "Automatic tags (from the model, not a person)" in [t for t, _ in rows]
    auto = [t for t, italic in rows if italic]
    assert auto and all("(auto, " in t for t in auto)  # every automatic tag says so ...
    assert all("(auto, " not in t for t, italic in rows if not italic)  # ... and only those
    assert any(t.startswith("cat (auto, ") for t in auto), auto
    # the info pane: the cat photo's tags are the model's, in grey italics, with the confidence
    win.tabs.setCurrentWidget(win.library)
    select(win, win.library, "originals/chelsea-cat.jpg")
    shown = win.library.preview.labels["Tags"].text()
    assert re.search(r"<i[^>]*>cat \(auto, \d+%\)</i>", shown), shown
    assert shown.count("(auto, ") == shown.count("<i")
    store = win.ctx.lib.store
    cat_id = next(r["id"] for r in win.library.model.rows if r["path"].endswith("originals/chelsea-cat.jpg"))
    assert {t["source"] for t in store.tags_of(cat_id)} == {"auto"}
    # a person's tag of the same word is theirs: plain, no "(auto", and counted apart
    with qtbot.waitSignal(win.snapshotLoaded, timeout=10_000):
        win.tags_ctl.change_tags("add", [cat_id], ["cat"])
    select(win, win.library, "originals/chelsea-cat.jpg")
    shown = win.library.preview.labels["Tags"].text()
    assert shown.startswith("cat, ") and "<i style='color: gray'>cat (auto" not in shown
    cats = [t for t, italic in tag_list(win) if t.startswith("cat (")]
    assert len(cats) == 1 and re.fullmatch(r"cat \(1, \+\d+ auto\)", cats[0]), cats


def test_few_photos_refuse_to_adapt_and_tagging_on_demand(qtbot, window, tmp_path) -> None:  # noqa: ANN001
    win = window
    win.settings.setValue("autoTag", False)  # as a library indexed before automatic tags existed
    folder = tmp_path / "few"
    folder.mkdir()
    for name in ("chelsea-cat.jpg", "coffee.jpg", "rocket-launch.jpg"):
        shutil.copy2(SAMPLES / name, folder / name)
    Image.open(SAMPLES / "astronaut.jpg").save(folder / "grandma.jpg", "JPEG", xmp=XMP)
    with qtbot.waitSignal(win.indexingFinished, timeout=120_000):
        win.library_ctl.index_folders([str(folder)])
    qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.stats["photos"] == 4, timeout=10_000)
    assert [t for t, _ in tag_list(win)] == ["All photos (4)"]  # nothing tagged: the setting is off

    # adapting needs 16 photos: a clear refusal, nothing started, nothing written
    seen: list[str] = []
    answer_dialog(qtbot, "adaptRefused", "OK", seen)
    win.findChild(QAction, "adaptAction").trigger()
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    assert "at least 16 photos" in seen[0] and "has 4" in seen[0]
    assert not win.tools.busy() and not (win.ctx.config.home / "models").exists()
    assert not win.findChild(QAction, "shippedModelAction").isEnabled()

    # Library → Tag photos automatically: the files' keywords and the model's tags, told apart
    with qtbot.waitSignal(win.autoTagFinished, timeout=60_000) as sig:
        win.findChild(QAction, "autoTagAction").trigger()
    counts = sig.args[0]
    assert counts.keywords == 2 and counts.auto > 0
    assert "2 keywords from the files" in win.status_bar.message.text()
    qtbot.waitUntil(lambda: len(tag_list(win)) > 3, timeout=10_000)
    rows = dict(tag_list(win))
    assert rows["holiday 2024 (1)"] is False and rows["grandma (1)"] is False
    assert any(italic and t.startswith("coffee (auto, 1)") for t, italic in rows.items()), rows
    win.tabs.setCurrentWidget(win.library)
    select(win, win.library, "grandma.jpg")
    shown = win.library.preview.labels["Tags"].text()
    assert shown.startswith("grandma (from file), holiday 2024 (from file)"), shown


def test_adapt_to_my_library_and_back(qtbot, indexed, photos, monkeypatch) -> None:  # noqa: ANN001, PLR0915
    win = indexed
    total = count_photos(photos)
    lib = win.ctx.lib
    shipped_name, shipped_id = lib.encoder.name, lib.model_id
    ids_before, codes_before = lib.store.codes(shipped_id)
    adapt = win.findChild(QAction, "adaptAction")
    shipped = win.findChild(QAction, "shippedModelAction")
    assert adapt.isEnabled() and not shipped.isEnabled()
    # 16 photos x 4 images = 64 training vectors, just enough for 64 bits, and quick
    win.tools.options = AdaptOptions(views=2, variants=1, max_photos=16)

    # cancelled after the first photo (the job waits there for the click): nothing changes, and
    # no error dialog for it
    gate = JobGate(monkeypatch)
    gate.hold(lambda done, _total, _text: done >= 1)
    failed: list[str] = []
    win.jobFailed.connect(failed.append)
    seen: list[str] = []
    answer_dialog(qtbot, "confirmAdapt", "Adapt to", seen)
    adapt.trigger()
    qtbot.waitUntil(gate.held, timeout=60_000)
    qtbot.waitUntil(lambda: win.status_bar.progress.isVisible() and win.status_bar.progress.value() >= 1, timeout=10_000)
    qtbot.mouseClick(win.status_bar.cancel_btn, Qt.MouseButton.LeftButton)
    gate.release()
    qtbot.waitUntil(lambda: not win.tools.busy(), timeout=60_000)
    assert "cancelled; nothing was changed" in win.status_bar.message.text() and not failed
    assert not win.status_bar.progress.isVisible() and win.ctx.lib.encoder.name == shipped_name
    assert not (win.ctx.config.home / "models" / "manifest.json").exists()

    watch = LoopWatch()
    seen.clear()
    answer_dialog(qtbot, "confirmAdapt", "Adapt to", seen)
    gate.hold(lambda _done, _total, text: text.startswith("Learning"))  # its first photo
    with qtbot.waitSignal(win.modelChanged, timeout=180_000) as sig:
        adapt.trigger()
        qtbot.waitUntil(gate.held, timeout=60_000)
        qtbot.waitUntil(lambda: win.status_bar.progress.isVisible() and "Learning" in win.status_bar.progress_label.text(),
                        timeout=10_000)
        assert win.status_bar.cancel_btn.isEnabled()
        ticks = watch.ticks  # the event loop runs on while the job is mid-run
        qtbot.waitUntil(lambda: watch.ticks >= ticks + 5, timeout=30_000)
        gate.release()
    watch.stop()
    assert not gate.ran_out, "the job was held until the gate gave up: the GUI never got to it"
    assert f"learns from 16 of your {total} photos" in seen[0] and "replaces" in seen[0]
    change = sig.args[0]
    assert change.adapted and change.recoded == total and change.samples == 4 * 16
    assert not win.status_bar.progress.isVisible() and "Adapted to" in win.status_bar.message.text()

    # the library's head changed: a new model, every code recomputed under it, stored on disk
    lib = win.ctx.lib
    assert lib.encoder.name != shipped_name and lib.model_id != shipped_id
    assert win.ctx.runner.encoder is change.encoder
    assert Path(lib.encoder.info.path).parent == win.ctx.config.home / "models"
    ids_new, codes_new = lib.store.codes(lib.model_id)
    assert np.array_equal(ids_new, ids_before) and not np.array_equal(codes_new, codes_before)
    assert shipped.isEnabled()

    # search uses the new codes and still finds the photo itself first, then its copies
    cat = next(r["path"] for r in win.library.model.rows if r["path"].endswith("originals/chelsea-cat.jpg"))
    with qtbot.waitSignal(win.searchFinished, timeout=60_000) as found:
        win.similar_ctl.search_with_file(cat)
    hits = found.args[0].hits
    assert hits[0].path == cat and hits[0].distance == 0
    assert sum("chelsea-cat-" in h.path for h in hits[1:6]) >= 3, [Path(h.path).name for h in hits[:6]]

    # and back to the shipped head: the very codes it gave before
    seen.clear()
    answer_dialog(qtbot, "confirmShippedModel", "Use the shipped", seen)
    with qtbot.waitSignal(win.modelChanged, timeout=60_000) as sig:
        shipped.trigger()
    assert not sig.args[0].adapted and win.ctx.lib.encoder.name == shipped_name
    ids_back, codes_back = win.ctx.lib.store.codes(shipped_id)
    assert np.array_equal(ids_back, ids_before) and np.array_equal(codes_back, codes_before)
    assert not shipped.isEnabled() and "shipped model" in win.status_bar.message.text()
