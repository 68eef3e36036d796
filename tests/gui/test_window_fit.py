"""A window that fits (issue 16 part 5): a first start takes the screen's available area and never
more, a restored place is clamped to the screen, and at 1280x800 no panel needs more width than
the screen has, nor scrolls sideways, whatever it shows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QAbstractScrollArea

from app.window import first_rect, fit_rect

ROOT = Path(__file__).resolve().parents[2]
SCREEN = QRect(0, 0, 1280, 800)


def test_fit_rect_keeps_a_window_on_its_screen() -> None:
    assert fit_rect(QRect(100, 50, 800, 600), SCREEN) == QRect(100, 50, 800, 600)  # fits: unchanged
    assert fit_rect(QRect(0, 0, 1600, 1000), SCREEN) == SCREEN  # a bigger screen's window shrinks
    assert fit_rect(QRect(900, 600, 800, 600), SCREEN) == QRect(480, 200, 800, 600)  # moved back on
    assert fit_rect(QRect(-3000, -40, 900, 700), SCREEN) == QRect(0, 0, 900, 700)  # a screen that left
    right = QRect(1920, 30, 1280, 770)  # a second screen right of the first, below a top panel
    assert fit_rect(QRect(100, 100, 1400, 900), right) == right


def test_first_start_takes_the_available_area_and_never_more() -> None:
    assert first_rect(SCREEN) == SCREEN
    small = QRect(0, 27, 1366, 741)  # a laptop with a top bar
    assert first_rect(small) == small
    for avail in (QRect(0, 0, 1920, 1040), QRect(0, 0, 3840, 2100), QRect(1920, 0, 2560, 1400)):
        r = first_rect(avail)
        assert avail.contains(r) and r.width() <= avail.width() and r.height() <= avail.height()
        assert r.width() >= 1280 and r.center().x() in range(avail.center().x() - 1, avail.center().x() + 2)


def scrolls_sideways(panel) -> list[str]:  # noqa: ANN001
    return [w.objectName() or type(w).__name__ for w in panel.findChildren(QAbstractScrollArea)
            if w.isVisible() and w.horizontalScrollBar().isVisible()]


def test_every_panel_fits_1280_wide(qtbot, indexed) -> None:  # noqa: ANN001
    win = indexed
    win.resize(1280, 800)
    cat = next(r for r in win.library.model.rows if r["path"].endswith("originals/chelsea-cat.jpg"))
    with qtbot.waitSignal(win.searchFinished, timeout=60_000):
        win.similar_ctl.find_similar(cat["id"])
    win.show_panel(2)
    with qtbot.waitSignal(win.duplicatesFound, timeout=60_000) as sig:
        win.duplicates_ctl.find_duplicates()
    dp = win.duplicates
    widest = max(range(len(sig.args[0].groups)), key=lambda n: len(sig.args[0].groups[n].image_ids))
    dp.select_group(widest)  # the most photos side by side in the compare view and its table
    qtbot.waitUntil(lambda: all(v.img_w > 1 for v in dp.compare.views), timeout=30_000)
    wide = {}
    for n in range(win.tabs.count()):
        win.show_panel(n)
        qtbot.wait(50)  # a layout pass
        panel = win.tabs.widget(n)
        wide[panel.objectName()] = panel.minimumSizeHint().width()
        assert win.width() == 1280, (panel.objectName(), win.width())
        assert not scrolls_sideways(panel), (panel.objectName(), scrolls_sideways(panel))
    win.open_viewer(win.library.model.rows, 0, win.library.grid)
    wide["viewer"] = win.viewer.minimumSizeHint().width()
    assert all(w <= 1200 for w in wide.values()), wide
    assert win.minimumSizeHint().width() <= 1280 and win.width() == 1280
    win.close_viewer()


SCRIPT = textwrap.dedent("""
    import json, sys
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from hashcore.config import Config
    from pathlib import Path
    config = Config(home=Path(sys.argv[1]), bits=64, resources=Path(sys.argv[2]))
    from hashcore.models.manifest import Encoder, head_info
    from app.window import MainWindow
    enc = Encoder(head_info(64, models_dir=config.resources / "models"))
    out = {}
    win = MainWindow(config, enc)
    win.show(); app.processEvents()
    g = win.frameGeometry(); out["first"] = [g.x(), g.y(), g.width(), g.height()]
    for n in range(win.tabs.count()):
        win.show_panel(n); app.processEvents()
    g = win.frameGeometry(); out["visited"] = [g.x(), g.y(), g.width(), g.height()]
    win.setGeometry(QRect(300, 200, 1700, 1000))  # as if saved on a bigger screen
    win.close()
    again = MainWindow(config, enc)
    again.show(); app.processEvents()
    g = again.frameGeometry(); out["restored"] = [g.x(), g.y(), g.width(), g.height()]
    s = again.screen().availableGeometry(); out["screen"] = [s.x(), s.y(), s.width(), s.height()]
    again.close()
    print("RESULT" + json.dumps(out))
""")


def test_on_a_1280x800_screen_the_window_starts_and_stays_within_it(tmp_path, config) -> None:  # noqa: ANN001
    """A real 1280x800 screen (the offscreen platform's screen set by its config file)."""
    screen = tmp_path / "screen.json"
    screen.write_text(json.dumps({"screens": [{"name": "laptop", "x": 0, "y": 0, "width": 1280, "height": 800,
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={screen}", "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(config.home), str(config.resources)],
                         env=env, capture_output=True, text=True, cwd=ROOT, check=False)
    line = next((x for x in run.stdout.splitlines() if x.startswith("RESULT")), None)
    assert line is not None, run.stderr[-3000:]
    out = json.loads(line[len("RESULT"):])
    assert out["screen"] == [0, 0, 1280, 800]
    screen_rect = QRect(*out["screen"])
    for when in ("first", "visited", "restored"):  # frame included, always inside the screen
        assert screen_rect.contains(QRect(*out[when])), (when, out)
    assert out["first"][2] == 1280 and out["first"][3] >= 700  # the available area, not a corner of it
    assert out["restored"][2] == 1280  # a bigger screen's 1700-pixel place, shrunk to this one
