"""The library that fills while it indexes, and the timeline over a large library (issue 16):

(a) time to first photo: a real window adds a folder of 20,000 small JPEGs (crops of the shipped
    samples, written once into a temporary folder) and the clock runs until the grid shows a
    photo. Peer: the moment the indexer reported its first committed batch (the earliest any
    GUI could show one), so the ratio is what the fill path adds; the run is then cancelled.
    Before issue 16 the first photo came only when the whole run ended.
(b) timeline scroll frame time at 100,000 photos over ten years (about 120 month headers): one
    frame = the scroll bar moved by a quarter page + a synchronous repaint, median and 95th
    percentile over the whole library. Peer: the same 100,000 photos sorted by name (a plain
    uniform grid, no headers, what the grid was before), in the same window, in turn.
    Also reported: ordering 100,000 rows into months, and laying them all out.

Offscreen (QT_QPA_PLATFORM=offscreen), temporary home, settings and trash; torch on one thread.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import parser, record

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "resources" / "samples"
_TMP = Path(tempfile.mkdtemp(prefix="hashlens-bench-timeline-"))
for _var, _sub in (("HOME", "home"), ("XDG_DATA_HOME", "home/.local/share"), ("XDG_CONFIG_HOME", "config")):
    os.environ[_var] = str(_TMP / _sub)  # before Qt reads them: settings and trash stay in _TMP
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "1")


class NoneReserve:
    """PySide6 6.12.0 under CPython 3.11 drops one reference to None on every call of a C++
    method that returns void (QPainter.save, QRect.setWidth, ...; Python 3.12 made None immortal,
    so it does not matter there). Thousands of repaints take None's count to zero and the
    interpreter aborts ("none_dealloc"). The benchmark keeps a reserve of references so that it
    can paint 100,000 photos' worth of frames; the measured code is not changed by it."""

    def __init__(self) -> None:
        self.held: list[list[None]] = []

    def top_up(self) -> None:
        if sys.getrefcount(None) < 2_000_000:
            self.held.append([None] * 4_000_000)


RESERVE = NoneReserve()


def wait_for(app: Any, done: Any, limit: float = 600.0) -> None:
    end = time.perf_counter() + limit
    while not done():
        if time.perf_counter() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        RESERVE.top_up()
        time.sleep(0.001)


def synth_folder(dest: Path, n: int, seed: int = 0) -> Path:
    """n small real-photo JPEGs (random crops of the samples, 96-160 px), file times spread
    over ten years; a few seconds per thousand."""
    from PIL import Image

    rng = random.Random(seed)
    sources = []
    for p in sorted(SAMPLES.glob("*.jpg")):
        img = Image.open(p)
        img.draft("RGB", (400, 400))
        img = img.convert("RGB")
        img.thumbnail((400, 400))
        sources.append(img)
    t_end = time.time()
    for k in range(n):
        src = sources[k % len(sources)]
        w, h = src.size
        side = rng.randint(min(w, h) // 3, min(w, h))
        x, y = rng.randint(0, w - side), rng.randint(0, h - side)
        out = src.crop((x, y, x + side, y + side)).resize((rng.randint(96, 160),) * 2)
        path = dest / f"{k // 1000:02d}" / f"img-{k:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        out.save(path, "JPEG", quality=80)
        t = t_end - rng.random() * 10 * 365 * 86_400
        os.utime(path, (t, t))
    return dest


def new_window(home: Path) -> Any:
    from app.window import MainWindow
    from hashcore.config import Config
    from hashcore.models.manifest import Encoder, head_info

    config = Config(home=home, bits=64)
    win = MainWindow(config, Encoder(head_info(64, models_dir=config.resources / "models")))
    win.resize(1280, 800)
    win.show()
    return win


def first_photo(app: Any, home: Path, folder: Path) -> tuple[float, float, float]:
    """(seconds to the first photo in the grid, to the first committed batch, longest
    event-loop gap meanwhile), from the moment the folder is added."""
    from PySide6.QtCore import QTimer

    from hashcore.ingest.indexer import batch_size_setting

    win = new_window(home)
    wait_for(app, lambda: win.snapshot is not None)
    batch = batch_size_setting()
    committed: list[float] = []
    gaps, last = [0.0], [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(10)
    t0 = time.perf_counter()
    win.library_ctl.index_folders([str(folder)])
    job = win.library_ctl.index_job
    job.signals.progress.connect(lambda done, _t, _x: committed.append(time.perf_counter()) if done >= batch else None)
    wait_for(app, lambda: win.library.model.rowCount() > 0)
    t_photo = time.perf_counter() - t0
    assert win.library.stack.currentIndex() == 1, "the Welcome page is still shown"
    wait_for(app, lambda: bool(committed))
    timer.stop()
    win.library_ctl.cancel_indexing()
    wait_for(app, lambda: win.library_ctl.index_job is None)
    win.close()
    app.processEvents()
    return t_photo, committed[0] - t0, max(gaps)


def library_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    files = [str(p) for p in sorted(SAMPLES.glob("*.jpg"))]
    rng = random.Random(seed)
    t_end = time.time()
    rows = [{"id": i, "path": f"{files[i % len(files)]}", "mtime": t_end - rng.random() * 10 * 365 * 86_400,
             "taken_at": None} for i in range(n)]
    for r in rows[::3]:  # a third with a date taken in EXIF
        r["taken_at"] = time.strftime("%Y:%m:%d %H:%M:%S", time.localtime(r["mtime"] - 3600))
    return rows


def laid_out(app: Any, grid: Any) -> float:
    """Seconds until every row has its place and the scroll range stops changing."""
    t0 = time.perf_counter()
    model, bar = grid.photo_model, grid.verticalScrollBar()
    wait_for(app, lambda: grid.visualRect(model.index(model.rowCount() - 1)).isValid())
    took = time.perf_counter() - t0
    last, same = -1, 0
    while same < 20:
        app.processEvents()
        same = same + 1 if bar.maximum() == last else 0
        last = bar.maximum()
    return took


def frames(app: Any, grid: Any, n: int) -> list[float]:
    """Seconds per frame: a quarter page down and a synchronous repaint, spread over the library."""
    bar = grid.verticalScrollBar()
    starts = [bar.maximum() * k // 10 for k in range(10)]
    out = []
    for s in starts:
        bar.setValue(s)
        grid.viewport().repaint()
        for _ in range(n // len(starts)):
            t = time.perf_counter()
            bar.setValue(bar.value() + max(1, bar.pageStep() // 4))
            grid.viewport().repaint()
            out.append(time.perf_counter() - t)
            RESERVE.top_up()
        app.processEvents()  # thumbnails that arrived meanwhile
    return out


def timeline_run(app: Any, home: Path, n: int, n_frames: int, repeats: int) -> dict[str, list[float]]:
    from app import timeline

    win = new_window(home)
    wait_for(app, lambda: win.snapshot is not None)
    panel = win.library
    rows = library_rows(n)
    out: dict[str, list[float]] = {k: [] for k in ("arrange", "layout_tl", "layout_flat", "tl", "flat")}
    for r in range(repeats):
        fresh = [dict(x) for x in rows]  # no dates worked out yet: a new snapshot's rows
        t = time.perf_counter()
        timeline.arrange(timeline.in_range(fresh, None, None), "date")
        out["arrange"].append(time.perf_counter() - t)
        panel.set_order("date")
        panel.set_snapshot(fresh, [], {"photos": n, "missing": 0, "errors": 0, "tags": 0})
        out["layout_tl"].append(laid_out(app, panel.grid))
        if r == 0:
            frames(app, panel.grid, n_frames)  # warm: thumbnails made and cached
        out["tl"] += frames(app, panel.grid, n_frames)
        panel.set_order("name")
        out["layout_flat"].append(laid_out(app, panel.grid))
        out["flat"] += frames(app, panel.grid, n_frames)
    win.close()
    app.processEvents()
    return out


def main() -> None:
    p = parser(__doc__)
    p.set_defaults(repeats=3)
    p.add_argument("--photos", type=int, default=20_000, help="photos in the added folder for (a)")
    p.add_argument("--rows", type=int, default=100_000, help="photos in the library for (b)")
    p.add_argument("--frames", type=int, default=200, help="frames per timing pass for (b)")
    p.add_argument("--part", choices=("fill", "scroll", "all"), default="all")
    args = p.parse_args()
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    med = statistics.median
    try:
        if args.part in ("fill", "all"):
            t = time.perf_counter()
            folder = synth_folder(_TMP / "Camera", args.photos)
            made = time.perf_counter() - t
            shown, commit, gap = [], [], []
            for r in range(args.repeats):
                a, b, c = first_photo(app, _TMP / f"lib{r}", folder)
                shown.append(a)
                commit.append(b)
                gap.append(c)
            note = f"median of {args.repeats} runs; {args.photos:,} JPEGs written in {made:.0f} s"
            record(args, f"gui: first photo in the grid, folder of {args.photos:,}", med(shown), med(commit), "s",
                   "a few seconds", med(shown) < 5.0,
                   f"{note}; peer = first batch committed; longest event-loop gap {med(gap) * 1000:.0f} ms")
        if args.part in ("scroll", "all"):
            out = timeline_run(app, _TMP / "big", args.rows, args.frames, args.repeats)
            tl, flat = sorted(out["tl"]), sorted(out["flat"])
            p95 = lambda v: v[int(len(v) * 0.95)]  # noqa: E731
            record(args, f"gui: timeline scroll frame, {args.rows:,} photos (median)", med(tl) * 1000,
                   med(flat) * 1000, "ms", "< 16 ms", med(tl) * 1000 < 16,
                   f"{len(tl)} frames; p95 {p95(tl) * 1000:.1f} ms vs {p95(flat) * 1000:.1f} ms; peer = by name, no headers")
            record(args, f"gui: timeline laid out, {args.rows:,} photos", med(out["layout_tl"]) * 1000,
                   med(out["layout_flat"]) * 1000, "ms", "reported", None,
                   "batched (the event loop turns between batches); peer = by name, uniform sizes")
            record(args, f"gui: {args.rows:,} photos ordered into months", med(out["arrange"]) * 1000, None, "ms",
                   "reported", None, "dates worked out from EXIF text and file times, then sorted")
    finally:
        shutil.rmtree(_TMP, ignore_errors=True)
    # no interpreter shutdown: freeing everything would take None's count (see NoneReserve)
    # below zero after all, and abort a run whose results are already printed and saved
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
