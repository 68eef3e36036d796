"""GUI tests: a real offscreen window over a real library of real photos and the real model.

Each test gets its own HASHLENS_HOME, HOME and XDG_DATA_HOME (so the Trash is a temp folder) from
tests/conftest.py; this file adds an isolated QSettings location, one Encoder shared by all tests
(the backbone loads once), and a folder of sample photos with the copies people really end up
with: downscaled, re-compressed, cropped, brightened, and a byte-identical backup.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "2")
# QSettings caches its folder on first use, so it is fixed once for the whole run
_SETTINGS_DIR = tempfile.mkdtemp(prefix="hashlens-gui-settings-")
os.environ["XDG_CONFIG_HOME"] = _SETTINGS_DIR

from tests.photos import SAMPLES, load_small, save_jpeg, variants  # noqa: E402

PLANTED = ("chelsea-cat", "astronaut", "coffee")
VARIANT_KINDS = ("small", "recompressed", "cropped", "bright")


@pytest.fixture(autouse=True)
def gui_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Same isolation as tests/conftest.py, stated here too so these tests never depend on order."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("HASHLENS_HOME", str(home / "hashlens"))
    from app.context import settings

    s = settings()
    s.clear()
    s.sync()
    return home


@pytest.fixture(scope="session")
def models_resources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped models; if this checkout has none yet, a real ITQ head trained on the samples."""
    from hashcore.config import RESOURCES
    from hashcore.errors import ModelError
    from hashcore.models.manifest import head_info

    try:
        head_info(64, models_dir=RESOURCES / "models")
        return RESOURCES
    except ModelError:
        pass
    from hashcore.models.backbone import Backbone
    from hashcore.models.train import augmented_features, fit_and_save, make_head, photo_files

    res = tmp_path_factory.mktemp("resources")
    x = augmented_features(photo_files([SAMPLES]), Backbone(), views=6, variants=3, seed=0)
    fit_and_save(make_head("itq", 64, seed=0), x, None, res / "models", "itq-64", default=True)
    return res


@pytest.fixture(scope="session")
def encoder(models_resources: Path):  # noqa: ANN201
    from hashcore.models.manifest import Encoder, head_info

    return Encoder(head_info(64, models_dir=models_resources / "models"))


@pytest.fixture
def config(gui_home: Path, models_resources: Path):  # noqa: ANN201
    from hashcore.config import Config

    return Config(home=gui_home / "hashlens", bits=64, resources=models_resources)


@pytest.fixture(scope="session")
def photo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once: samples + variants of three of them + an exact backup copy."""
    root = tmp_path_factory.mktemp("photos")
    (root / "originals").mkdir()
    for src in sorted(SAMPLES.glob("*.jpg")):
        shutil.copy2(src, root / "originals" / src.name)
    for n, stem in enumerate(PLANTED):
        img = load_small(SAMPLES / f"{stem}.jpg")
        for kind, v in variants(img, n).items():
            save_jpeg(v, root / "copies" / f"{stem}-{kind}.jpg")
    (root / "backup").mkdir()
    shutil.copy2(SAMPLES / "astronaut.jpg", root / "backup" / "astronaut.jpg")
    return root


@pytest.fixture
def photos(tmp_path: Path, photo_template: Path) -> Path:
    """This test's own copy of the photo folder (tests move files to the Trash)."""
    dest = tmp_path / "Pictures"
    shutil.copytree(photo_template, dest)
    return dest


@pytest.fixture
def window(qtbot, config, encoder) -> Iterator:  # noqa: ANN001
    from app.window import MainWindow

    win = MainWindow(config, encoder)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: win.snapshot is not None, timeout=10_000)  # first read of the library
    yield win
    win.close()


@pytest.fixture
def indexed(qtbot, window, photos: Path):  # noqa: ANN001, ANN201
    """A window whose library holds `photos`, indexed through the GUI."""
    with qtbot.waitSignal(window.indexingFinished, timeout=180_000):
        window.library_ctl.index_folders([str(photos)])
    qtbot.waitUntil(lambda: window.library.model.rowCount() == count_photos(photos), timeout=20_000)
    return window


def count_photos(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*.jpg"))


class LoopWatch:
    """Counts the ticks of a 10 ms timer on the GUI thread. A test holds a job mid-run with a
    JobGate and waits for more ticks: they come only if the event loop runs on while the job
    works (a job that blocked the loop would hold it, and the gate's hold would run out)."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.ticks = 0
        self.timer = QTimer()
        self.timer.timeout.connect(self._tick)
        self.timer.start(10)

    def _tick(self) -> None:
        self.ticks += 1

    def stop(self) -> int:
        self.timer.stop()
        return self.ticks


class JobGate:
    """Holds a GUI job's worker thread right after a progress report that the predicate given
    to `hold` accepts, until `release()`. While it holds, the test acts on a job that is surely
    mid-run, on a machine of any speed. The report it stops at always reaches the GUI (JobContext
    otherwise drops reports that come closer than 50 ms together)."""

    HOLD_LIMIT = 120.0  # seconds; only turns a job that can never be released into a failure

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from app.workers import JobContext

        self._lock = threading.Lock()
        self._when: Callable[[int, int, str], bool] | None = None
        self._go: threading.Event | None = None
        self.stopped_at: tuple[int, int, str] | None = None
        self.ran_out = False
        real = JobContext.progress

        def progress(ctx: JobContext, done: int, total: int, text: str = "") -> None:
            with self._lock:
                go = None
                if self._when is not None and self._when(done, total, text):
                    self._when = None
                    go = self._go = threading.Event()
                    self.stopped_at = (done, total, text)
            if go is not None:
                ctx._last = float("-inf")  # not dropped as too soon: the GUI shows where the job stopped
            real(ctx, done, total, text)
            if go is not None and not go.wait(self.HOLD_LIMIT):
                self.ran_out = True

        monkeypatch.setattr(JobContext, "progress", progress)

    def hold(self, when: Callable[[int, int, str], bool]) -> None:
        """Stop the next job at its first progress report (done, total, text) that `when` accepts."""
        with self._lock:
            self._when = when

    def held(self) -> bool:
        return self._go is not None and not self._go.is_set()

    def release(self) -> None:
        with self._lock:
            go, self._go = self._go, None
        assert go is not None, "no job is held"
        go.set()


def answer_dialog(qtbot, name: str, button_prefix: str, seen: list[str]) -> Callable[[], None]:  # noqa: ANN001
    """Click a button of the modal dialog called `name` when it opens; its text goes to `seen`."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    def poll() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox) and box.objectName() == name:
            seen.append(box.text() + "\n" + box.informativeText())
            for b in box.buttons():
                if b.text().startswith(button_prefix):
                    b.click()
                    return
        QTimer.singleShot(50, poll)

    QTimer.singleShot(50, poll)
    return poll
