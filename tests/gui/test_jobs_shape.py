"""One shape for long jobs (issue 16 part 6): indexing, adapting the model, learning tags and
finding duplicates each show a count, a rate and the time left in the one progress area of the
status bar, with the same Cancel button, while the event loop runs on.

Every job is held mid-run by a JobGate at two progress reports, with the event loop ticking
between them (so a rate exists on a machine of any speed), then cancelled or let go."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.jobs import AdaptOptions
from tests.gui.conftest import JobGate, LoopWatch, answer_dialog
from tests.gui.test_panels import many_photos


def shows_the_shape(qtbot, win, gate: JobGate, watch: LoopWatch, verb: str, unit: str) -> tuple[int, int]:  # noqa: ANN001
    """With the job held at a first report: wait, let it run to the next report, hold again,
    then check the count, the rate, the time left and Cancel. Returns (done, total) shown."""
    sb = win.status_bar
    qtbot.waitUntil(gate.held, timeout=120_000)
    qtbot.waitUntil(lambda: sb.progress.isVisible() and sb.progress.maximum() > 0, timeout=10_000)
    assert sb.cancel_btn.isVisible() and sb.cancel_btn.isEnabled()
    ticks = watch.ticks  # the event loop runs on while the job is mid-run, longer than half a second
    qtbot.waitUntil(lambda: watch.ticks >= ticks + 80, timeout=30_000)
    gate.hold(lambda *_report: True)
    gate.release()
    qtbot.waitUntil(gate.held, timeout=120_000)
    done, total, _ = gate.stopped_at
    qtbot.waitUntil(lambda: sb.progress.value() == done, timeout=10_000)
    label = sb.progress_label.text()
    assert sb.progress.text() == f"{done:,} / {total:,}", (sb.progress.text(), gate.stopped_at)
    assert label.startswith(verb) and f" {unit}/s" in label and "left" in label, label
    assert sb.cancel_btn.isVisible() and sb.cancel_btn.isEnabled()
    return done, total


def cancel_held(qtbot, win, gate: JobGate) -> None:  # noqa: ANN001
    """Cancel with the one button, while the job is still held: it says so at once."""
    sb = win.status_bar
    qtbot.mouseClick(sb.cancel_btn, Qt.MouseButton.LeftButton)
    assert gate.held() and "Cancelling" in sb.progress_label.text() and not sb.cancel_btn.isEnabled()
    gate.release()
    qtbot.waitUntil(lambda: not sb.busy(), timeout=120_000)
    assert not sb.progress.isVisible() and not sb.cancel_btn.isVisible()


def test_every_long_job_has_count_rate_time_left_and_cancel(qtbot, indexed, tmp_path, monkeypatch) -> None:  # noqa: ANN001, PLR0915
    win = indexed
    sb = win.status_bar
    gate = JobGate(monkeypatch)
    watch = LoopWatch()
    failed: list[str] = []
    win.jobFailed.connect(failed.append)

    # indexing a new folder: photos
    gate.hold(lambda done, _total, _text: done >= 2)
    win.library_ctl.index_folders([str(many_photos(tmp_path / "more"))])
    shows_the_shape(qtbot, win, gate, watch, "Indexing", "photos")
    with qtbot.waitSignal(win.indexingFinished, timeout=120_000):
        cancel_held(qtbot, win, gate)

    # finding duplicates: groups (the keep rule's part, which reads pixels, is what takes time)
    gate.hold(lambda _done, total, text: text.startswith("Choosing") and total > 0)
    win.duplicates_ctl.find_duplicates()
    _, groups = shows_the_shape(qtbot, win, gate, watch, "Choosing the copies to keep", "groups")
    with qtbot.waitSignal(win.duplicatesFound, timeout=60_000) as found:
        gate.release()
    assert len(found.args[0].groups) == groups
    qtbot.waitUntil(lambda: not sb.busy(), timeout=10_000)  # the bar is free once the job has ended
    # and cancelled: no result, no error dialog, a line that says so
    gate.hold(lambda _done, total, text: text.startswith("Choosing") and total > 0)
    win.duplicates_ctl.find_duplicates()
    qtbot.waitUntil(gate.held, timeout=60_000)
    cancel_held(qtbot, win, gate)
    assert "cancelled" in sb.message.text() and not failed

    # adapting the model to the library: photos
    win.tools.options = AdaptOptions(views=2, variants=1, max_photos=16)
    gate.hold(lambda _done, _total, text: text.startswith("Learning"))
    answer_dialog(qtbot, "confirmAdapt", "Adapt to", [])
    win.tools.adapt()
    shows_the_shape(qtbot, win, gate, watch, "Learning from your photos", "photos")
    cancel_held(qtbot, win, gate)
    assert "cancelled" in sb.message.text() and not failed

    # learning tags from a person's own tags: words read (once per user: another test of this run
    # may have read them already), then training steps, which every run has
    cats = [r["id"] for r in win.library.model.rows if "chelsea-cat" in r["path"]]
    with qtbot.waitSignal(win.snapshotLoaded, timeout=10_000):
        win.tags_ctl.change_tags("add", cats, ["cat"])
    gate.hold(lambda _done, _total, text: text.startswith("Learning tags"))
    win.tags.learn_btn.click()
    shows_the_shape(qtbot, win, gate, watch, "Learning tags", "steps")
    assert not win.tags.learn_btn.isEnabled()
    cancel_held(qtbot, win, gate)
    assert "cancelled" in sb.message.text() and not failed and win.tags.learn_btn.isEnabled()
    watch.stop()
    assert not gate.ran_out, "a job was held until the gate gave up: the GUI never got to it"


def test_a_long_job_waits_for_the_one_running(qtbot, indexed, monkeypatch) -> None:  # noqa: ANN001
    """Duplicates asked for while the model adapts: it waits, then runs in the same place once
    the adapting ends (here: cancelled)."""
    win = indexed
    sb = win.status_bar
    gate = JobGate(monkeypatch)
    win.tools.options = AdaptOptions(views=2, variants=1, max_photos=16)
    gate.hold(lambda _done, _total, text: text.startswith("Learning"))
    answer_dialog(qtbot, "confirmAdapt", "Adapt to", [])
    win.tools.adapt()
    qtbot.waitUntil(gate.held, timeout=60_000)
    win.duplicates_ctl.find_duplicates()
    assert "waits" in sb.message.text() and "Learning" in sb.progress_label.text()
    assert not win.duplicates.find_btn.isEnabled() and win.duplicates.result is None
    with qtbot.waitSignal(win.duplicatesFound, timeout=120_000):
        cancel_held(qtbot, win, gate)  # the adapting ends; the waiting search starts by itself
    qtbot.waitUntil(lambda: not sb.busy(), timeout=10_000)
    assert win.duplicates.result is not None and win.duplicates.find_btn.isEnabled()
