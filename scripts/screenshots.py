"""Start the real HashLens window under Xvfb on real photos and save a PNG of each panel, at
each screen size asked for (default 1280x800 and 1920x1080, one folder each).

    python scripts/screenshots.py [--out screenshots] [--sizes 1280x800,1920x1080]

Each size runs under its own `xvfb-run -a -s "-screen 0 WxHx24"` (Debian package xvfb), and the
window takes the size a first start gives it on that screen. It uses a throw-away data folder,
HOME and settings, copies the sample photos, the wallpapers of Debian's mate-backgrounds where
installed (big photos: indexing takes long enough to be seen under way) and a few edited copies
(downscaled, re-compressed, cropped, and one byte-identical backup) so that find-similar and the
duplicate finder have something to show, indexes them through the GUI and captures: empty
state, indexing under way, library, similar, duplicates (with the compare view), tags, the
viewer, problems panel.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


WALLPAPERS = Path("/usr/share/backgrounds/mate")


def relaunch_under_xvfb(out: Path, size: str) -> int:
    xvfb = shutil.which("xvfb-run")
    if xvfb is None:
        sys.stderr.write("screenshots: no xvfb-run; install the Debian package xvfb\n")
        return 2
    cmd = [xvfb, "-a", "-s", f"-screen 0 {size}x24", sys.executable, __file__, "--out", str(out / size), "--sizes", size]
    return subprocess.call(cmd, env={**os.environ, "HASHLENS_UNDER_XVFB": "1"})


def make_photos(dest: Path) -> Path:
    from PIL import Image

    samples = ROOT / "resources" / "samples"
    lib = dest / "Pictures"
    (lib / "Holiday").mkdir(parents=True)
    (lib / "Phone backup").mkdir()
    for src in sorted(samples.glob("*.jpg")):
        shutil.copy2(src, lib / "Holiday" / src.name)
    cat = Image.open(samples / "chelsea-cat.jpg").convert("RGB")
    w, h = cat.size
    cat.resize((w // 2, h // 2), Image.Resampling.LANCZOS).save(lib / "Phone backup" / "IMG_0412.jpg", quality=88)
    buf = io.BytesIO()
    cat.save(buf, "JPEG", quality=30)
    (lib / "Phone backup" / "IMG_0412 (whatsapp).jpg").write_bytes(buf.getvalue())
    cat.crop((20, 15, w - 20, h - 15)).save(lib / "Phone backup" / "IMG_0412 cropped.jpg", quality=92)
    shutil.copy2(samples / "astronaut.jpg", lib / "Phone backup" / "astronaut copy.jpg")
    walls = sorted(WALLPAPERS.glob("*/*.jpg")) if WALLPAPERS.is_dir() else []
    if walls:
        (lib / "Wallpapers").mkdir()
        for src in walls:
            shutil.copy2(src, lib / "Wallpapers" / src.name)
    (lib / "Phone backup" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a photo")
    return lib


def config_with_models(config, tmp: Path):  # noqa: ANN001, ANN201
    """The shipped models; on a checkout without them yet, a real ITQ head trained on the samples."""
    from dataclasses import replace

    from hashcore.errors import ModelError
    from hashcore.models.manifest import head_info

    try:
        head_info(config.bits, models_dir=config.models_dir)
        return config
    except ModelError:
        sys.stdout.write("no shipped model for this code length: training a small one on the sample photos\n")
    from hashcore.models.backbone import Backbone
    from hashcore.models.train import augmented_features, fit_and_save, make_head, photo_files

    x = augmented_features(photo_files([ROOT / "resources" / "samples"]), Backbone(), views=6, variants=3)
    fit_and_save(make_head("itq", config.bits, seed=0), x, None, tmp / "res" / "models", f"itq-{config.bits}", True)
    return replace(config, resources=tmp / "res")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "screenshots"))
    parser.add_argument("--sizes", default="1280x800,1920x1080", help="screen sizes, WxH, comma-separated")
    args = parser.parse_args()
    out = Path(args.out)
    if not os.environ.get("HASHLENS_UNDER_XVFB"):
        return max(relaunch_under_xvfb(out, size) for size in args.sizes.split(","))
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="hashlens-shots-"))
    try:
        return capture(out, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def capture(out: Path, tmp: Path) -> int:  # noqa: PLR0915 - one straight story, panel by panel
    os.environ.update(HASHLENS_HOME=str(tmp / "data"), HOME=str(tmp / "home"),
                      XDG_DATA_HOME=str(tmp / "home" / "share"), XDG_CONFIG_HOME=str(tmp / "config"))
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.main import build_window, resolve_config
    from app.window import app_icon

    app = QApplication([sys.argv[0]])
    app.setApplicationName("HashLens")
    app.setWindowIcon(app_icon())
    photos = make_photos(tmp)
    win = build_window(config_with_models(resolve_config(64), tmp))
    win.show()  # the size a first start takes on this screen

    def wait(signal=None, ms: int = 800) -> None:  # noqa: ANN001
        loop = QEventLoop()
        if signal is not None:
            signal.connect(loop.quit)
        QTimer.singleShot(ms if signal is None else 180_000, loop.quit)
        loop.exec()

    def wait_until(done, limit_ms: int = 180_000) -> None:  # noqa: ANN001
        """Wait for a state, not a count of signals: two jobs' answers can arrive in one batch."""
        for _ in range(limit_ms // 50):
            if done():
                return
            wait(ms=50)

    def shot(name: str, settle_ms: int = 900) -> None:
        wait(ms=settle_ms)  # let thumbnails and previews arrive
        path = out / f"{name}.png"
        win.grab().save(str(path))
        g = win.frameGeometry()
        sys.stdout.write(f"saved {path} (window {g.width()}x{g.height()} on a "
                         f"{win.screen().size().width()}x{win.screen().size().height()} screen)\n")

    wait(win.snapshotLoaded)
    shot("0-empty-state")
    win.library_ctl.show_errors_on_finish = False
    win.library_ctl.index_folders([str(photos)])
    sb = win.status_bar
    wait_until(lambda: "/s" in sb.progress_label.text() or not sb.busy())  # count, rate and time left
    shot("1-indexing", settle_ms=0)
    wait_until(lambda: not sb.busy())
    wait(ms=1500)
    cat = next(r for r in win.library.model.rows if r["path"].endswith("chelsea-cat.jpg"))
    win.library.grid.select_id(cat["id"])
    shot("2-library")
    win.similar_ctl.find_similar(cat["id"])
    wait(win.searchFinished)
    win.similar.grid.select_id(win.similar.model.rows[0]["id"])
    shot("3-similar")
    win.show_panel(2)
    win.duplicates_ctl.find_duplicates()
    wait(win.duplicatesFound)
    near = next((n for n, g in enumerate(win.duplicates.result.groups) if g.kind == "near"), 0)
    win.duplicates.select_group(near)
    wait_until(lambda: all(v.img_w > 1 for v in win.duplicates.compare.views), 60_000)
    shot("4-duplicates")
    win.show_panel(3)
    ids = [r["id"] for r in win.library.model.rows if "IMG_0412" in r["path"] or "chelsea" in r["path"]]
    win.tags_ctl.change_tags("add", ids, ["cat"])
    win.tags_ctl.change_tags("add", [r["id"] for r in win.library.model.rows if "astronaut" in r["path"]], ["space"])
    wait_until(lambda: {"cat", "space"} <= {t for t, n, _ in win.snapshot.tags if n})
    win.tags.tag_list.setCurrentRow(1)  # the "cat" tag: the grid shows only those photos
    wait(win.snapshotLoaded)
    win.tags.grid.selectAll()
    shot("5-tags")
    win.show_panel(0)
    rows = win.library.model.rows
    big = max(range(len(rows)), key=lambda n: rows[n].get("width") or 0)
    win.open_viewer(rows, big, win.library.grid)
    wait_until(lambda: win.viewer.loaded_path == rows[big]["path"], 60_000)
    shot("6-viewer")
    win.viewer.actual_pixels()
    shot("7-viewer-1to1")
    win.close_viewer(rows[big]["id"])
    win.errors_dock.show_problems()
    shot("8-problems")
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
