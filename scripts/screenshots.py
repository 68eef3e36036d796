"""Start the real HashLens window under Xvfb on the sample photos and save a PNG of each panel.

    python scripts/screenshots.py [--out screenshots]

Without a DISPLAY the script re-runs itself under `xvfb-run -a` (Debian package xvfb). It uses a
throw-away data folder, HOME and settings, copies the sample photos plus a few edited copies
(downscaled, re-compressed, cropped, and one byte-identical backup) so that find-similar and the
duplicate finder have something to show, indexes them through the GUI and captures:
empty state, library, similar, duplicates (with the compare view), tags, problems panel.
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


def relaunch_under_xvfb() -> int:
    xvfb = shutil.which("xvfb-run")
    if xvfb is None:
        sys.stderr.write("screenshots: no DISPLAY and no xvfb-run; install the Debian package xvfb\n")
        return 2
    cmd = [xvfb, "-a", "-s", "-screen 0 1600x1000x24", sys.executable, __file__, *sys.argv[1:]]
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
    args = parser.parse_args()
    if not os.environ.get("DISPLAY") and not os.environ.get("HASHLENS_UNDER_XVFB"):
        return relaunch_under_xvfb()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="hashlens-shots-"))
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
    win.resize(1400, 880)
    win.show()

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

    def shot(name: str) -> None:
        wait(ms=900)  # let thumbnails and previews arrive
        path = out / f"{name}.png"
        win.grab().save(str(path))
        sys.stdout.write(f"saved {path}\n")

    wait(win.snapshotLoaded)
    shot("0-empty-state")
    win.library_ctl.show_errors_on_finish = False
    win.library_ctl.index_folders([str(photos)])
    wait(win.indexingFinished)
    wait(ms=1500)
    cat = next(r for r in win.library.model.rows if r["path"].endswith("chelsea-cat.jpg"))
    win.library.grid.select_id(cat["id"])
    shot("1-library")
    win.similar_ctl.find_similar(cat["id"])
    wait(win.searchFinished)
    win.similar.grid.select_id(win.similar.model.rows[0]["id"])
    shot("2-similar")
    win.tabs.setCurrentWidget(win.duplicates)
    win.duplicates_ctl.find_duplicates()
    wait(win.duplicatesFound)
    near = next((n for n, g in enumerate(win.duplicates.result.groups) if g.kind == "near"), 0)
    win.duplicates.select_group(near)
    wait(ms=2500)
    shot("3-duplicates")
    win.tabs.setCurrentWidget(win.tags)
    ids = [r["id"] for r in win.library.model.rows if "IMG_0412" in r["path"] or "chelsea" in r["path"]]
    win.tags_ctl.change_tags("add", ids, ["cat"])
    win.tags_ctl.change_tags("add", [r["id"] for r in win.library.model.rows if "astronaut" in r["path"]], ["space"])
    wait_until(lambda: {"cat", "space"} <= {t for t, n, _ in win.snapshot.tags if n})
    win.tags.tag_list.setCurrentRow(1)  # the "cat" tag: the grid shows only those photos
    wait(win.snapshotLoaded)
    win.tags.grid.selectAll()
    shot("4-tags")
    win.tabs.setCurrentWidget(win.library)
    win.errors_dock.show_problems()
    shot("5-problems")
    win.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
