"""The first tag search of a session loads the text and tag models: the Tags panel shows that it is
busy the whole time, the window keeps answering, and the results replace the busy state."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from tests.gui.conftest import JobGate, LoopWatch


def test_first_tag_search_is_busy_while_models_load_then_lists_results(qtbot, indexed, monkeypatch) -> None:  # noqa: ANN001
    win = indexed
    tp = win.tags
    gate = JobGate(monkeypatch)
    gate.hold(lambda _done, _total, text: text.startswith("Loading the text model"))
    watch = LoopWatch()
    win.tabs.setCurrentWidget(win.tags)  # the panel on screen starts loading the models
    qtbot.waitUntil(gate.held, timeout=60_000)  # ... in a worker, held there for now
    assert not tp.is_busy()  # nobody is waiting for a search yet
    box = tp.semantic_edit
    assert not tp.is_busy()
    qtbot.keyClicks(box, "cat")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    # busy at once, before any worker answered, and saying why the first search waits
    assert tp.is_busy() and tp.busy_bar.isVisible()
    assert "Loading" in tp.busy_label.text()
    assert gate.held()  # the model-loading job is still mid-run, off the event loop
    ticks = watch.ticks
    qtbot.waitUntil(lambda: watch.ticks >= ticks + 20, timeout=30_000)  # the loop runs on meanwhile
    assert tp.is_busy() and "Loading" in tp.busy_label.text()
    assert "photos of" not in tp.count.text()  # no results yet
    # typing another word while the models load: that one is the search that runs
    box.clear()
    qtbot.keyClicks(box, "coffee")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert tp.is_busy()
    with qtbot.waitSignal(win.tagSearchFinished, timeout=120_000) as blocker:
        gate.release()
    watch.stop()
    assert not gate.ran_out, "the job was held until the gate gave up: the GUI never got to it"
    assert blocker.args[0].text == "coffee" and blocker.args[0].hits
    qtbot.waitUntil(lambda: not tp.is_busy(), timeout=10_000)
    assert not tp.busy_bar.isVisible() and not tp.busy_label.isVisible()
    assert tp.model.rowCount() == len(blocker.args[0].hits)
    assert "“coffee”" in tp.count.text() and "nearest first" in tp.count.text()
    assert [r["id"] for r in tp.model.rows] == [h.id for h in blocker.args[0].hits]

    # the next search finds the models loaded: no loading step, busy only while it searches
    gate.hold(lambda _done, _total, text: text.startswith("Loading"))
    box.clear()
    qtbot.keyClicks(box, "cat")
    with qtbot.waitSignal(win.tagSearchFinished, timeout=60_000) as blocker:
        qtbot.keyClick(box, Qt.Key.Key_Return)
        assert tp.is_busy() and "Searching" in tp.busy_label.text()
    assert not gate.held() and blocker.args[0].text == "cat"
    qtbot.waitUntil(lambda: not tp.is_busy(), timeout=10_000)
    assert any("chelsea-cat" in Path(r["path"]).stem for r in tp.model.rows[:5])
