"""GUI timings that the tests deliberately do not assert (tests/gui checks behaviour only):

(a) the photo grid over 100,000 rows: set_rows until every row is laid out, and one jump of
    the scroll bar plus a repaint (median and worst of 40 jumps through the whole library);
(b) how long the event loop went without turning while the window indexed real photos, and
    while it adapted the hashing head to them: the longest and the median gap between the
    ticks of a 10 ms timer (a frozen window shows up as a long gap).

Medians over --repeats runs, in one offscreen window (QT_QPA_PLATFORM=offscreen) over a
temporary library; nothing touches the real data folder or settings.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import parser, record

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "resources" / "samples"
_TMP = Path(tempfile.mkdtemp(prefix="hashlens-bench-gui-"))
for _var, _sub in (("HOME", "home"), ("XDG_DATA_HOME", "home/.local/share"), ("XDG_CONFIG_HOME", "config")):
    os.environ[_var] = str(_TMP / _sub)  # before Qt reads them: settings and trash stay in _TMP
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


class Gaps:
    """Gaps between the ticks of a 10 ms timer on the GUI thread, in seconds."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        self.last = time.perf_counter()
        self.timer = QTimer()
        self.timer.timeout.connect(self._tick)
        self.timer.start(10)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self.last)
        self.last = now

    def stop(self) -> list[float]:
        self.timer.stop()
        return self.gaps or [0.0]


def wait_for(app: Any, done: Any, limit: float = 600.0) -> None:
    end = time.perf_counter() + limit
    while not done():
        if time.perf_counter() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.002)


def new_window(home: Path) -> Any:
    from app.window import MainWindow
    from hashcore.config import Config
    from hashcore.models.manifest import Encoder, head_info

    config = Config(home=home, bits=64)
    win = MainWindow(config, Encoder(head_info(64, models_dir=config.resources / "models")))
    win.show()
    return win


def grid_run(app: Any, win: Any) -> tuple[float, float, float]:
    """(seconds to lay out 100k rows, median and worst seconds per jump + repaint)."""
    files = [str(p) for p in sorted(SAMPLES.glob("*.jpg"))]
    rows = [{"id": i, "path": files[i % len(files)], "label": f"photo {i:06d}.jpg"} for i in range(100_000)]
    grid = win.library.grid
    win.library.stack.setCurrentIndex(1)
    bar = grid.verticalScrollBar()
    win.library.model.set_rows([])
    wait_for(app, lambda: bar.maximum() < 1_000_000)
    t0 = time.perf_counter()
    win.library.model.set_rows(rows)
    wait_for(app, lambda: bar.maximum() > 1_000_000)
    load = time.perf_counter() - t0
    jumps = []
    for k in range(1, 41):
        t = time.perf_counter()
        bar.setValue(bar.maximum() * k // 40)
        grid.viewport().repaint()
        jumps.append(time.perf_counter() - t)
    return load, statistics.median(jumps), max(jumps)


def photo_folder(dest: Path, n: int) -> Path:
    """n real photos: random edits of the shipped samples."""
    import random

    from PIL import Image

    from hashcore.models.augment import random_variant

    rng = random.Random(1)
    sources = []
    for p in sorted(SAMPLES.glob("*.jpg")):
        img = Image.open(p).convert("RGB")
        img.thumbnail((640, 640))
        sources.append(img)
    dest.mkdir(parents=True)
    for k in range(n):
        random_variant(sources[k % len(sources)], rng).save(dest / f"edit-{k:03d}.jpg", quality=85)
    return dest


def job_run(app: Any, win: Any, photos: Path) -> tuple[list[float], list[float]]:
    """Tick gaps while indexing `photos`, then while adapting the head to them."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.jobs import AdaptOptions

    gaps = Gaps()
    win.library_ctl.index_folders([str(photos)])
    wait_for(app, lambda: win.library_ctl.index_job is None and win.snapshot is not None
             and win.snapshot.stats["photos"] >= 16)
    index_gaps = gaps.stop()
    win.tools.options = AdaptOptions(views=2, variants=1, max_photos=16)
    changed: list[Any] = []
    win.modelChanged.connect(changed.append)
    gaps = Gaps()
    win.tools.adapt()
    wait_for(app, lambda: isinstance(QApplication.activeModalWidget(), QMessageBox))
    box = QApplication.activeModalWidget()
    assert box.objectName() == "confirmAdapt", box.objectName()
    next(b for b in box.buttons() if b.text().startswith("Adapt to")).click()
    wait_for(app, lambda: bool(changed))
    return index_gaps, gaps.stop()


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--photos", type=int, default=40, help="photos indexed per run for (b)")
    args = p.parse_args()
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    loads, medians, worsts, idx_max, idx_med, ad_max, ad_med = [], [], [], [], [], [], []
    try:
        for r in range(args.repeats):
            win = new_window(_TMP / f"lib{r}")
            wait_for(app, lambda: win.snapshot is not None)  # noqa: B023
            load, med, worst = grid_run(app, win)
            loads.append(load)
            medians.append(med)
            worsts.append(worst)
            ig, ag = job_run(app, win, photo_folder(_TMP / f"photos{r}", args.photos))
            idx_max.append(max(ig))
            idx_med.append(statistics.median(ig))
            ad_max.append(max(ag))
            ad_med.append(statistics.median(ag))
            win.close()
            app.processEvents()
    finally:
        shutil.rmtree(_TMP, ignore_errors=True)
    med = statistics.median
    note = f"median of {args.repeats} runs"
    record(args, "gui: 100k rows laid out in the grid", med(loads) * 1000, None, "ms", "reported", None, note)
    record(args, "gui: scroll jump + repaint, 100k rows (median of 40)", med(medians) * 1000, None, "ms",
           "reported", None, f"{note}; worst jump {med(worsts) * 1000:.1f} ms")
    record(args, f"gui: longest event-loop gap while indexing {args.photos} photos", med(idx_max) * 1000, None,
           "ms", "reported", None, f"{note}; median gap {med(idx_med) * 1000:.1f} ms (timer: 10 ms)")
    record(args, "gui: longest event-loop gap while adapting to 16 photos", med(ad_max) * 1000, None, "ms",
           "reported", None, f"{note}; median gap {med(ad_med) * 1000:.1f} ms (timer: 10 ms)")


if __name__ == "__main__":
    main()
