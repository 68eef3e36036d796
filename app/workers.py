"""The only place the GUI runs work off its event loop.

A `Job` is a QRunnable that calls a plain function `fn(ctx, *args)`; the function reports with
`ctx.progress(done, total, text)`, checks `ctx.cancelled()`, and opens its own `Library` with
`ctx.library()` (SQLite connections are never shared across threads; the Encoder is). Results
come back through a `JobSignals` QObject created in the GUI thread, so the slots run there.
Workers never touch widgets.

`ThumbLoader` feeds thumbnails to item models: most recently requested first (what is on screen
now), a bounded queue (what scrolled away is forgotten), two threads of its own so indexing
never starves the grid.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from hashcore.config import Config
from hashcore.errors import HashLensError
from hashcore.ingest import thumbs
from hashcore.ingest.paths import display_path


class JobSignals(QObject):
    progress = Signal(int, int, str)
    result = Signal(object)
    error = Signal(str)
    finished = Signal()


class JobContext:
    """What a job function may use: progress, cancellation, and its own Library."""

    def __init__(self, job: Job) -> None:
        self._job = job
        self._last = 0.0

    def progress(self, done: int, total: int, text: str = "") -> None:
        now = time.monotonic()
        if now - self._last >= 0.05 or done >= total:  # at most ~20 updates a second
            self._last = now
            self._job.signals.progress.emit(done, total, display_path(text))  # shown, never opened

    def cancelled(self) -> bool:
        return self._job.cancel_event.is_set()

    @property
    def config(self) -> Config | None:
        return self._job.config

    @property
    def encoder(self) -> Any:
        return self._job.encoder

    def library(self, encoder: Any = None) -> Any:
        """This job's own Library; `encoder` other than the window's one is for a model change."""
        from hashcore.library import Library

        return Library(self._job.config, self._job.db_path, encoder=encoder or self._job.encoder)


class Job(QRunnable):
    def __init__(self, fn: Callable[..., Any], *args: Any, config: Config | None = None,
                 db_path: str | None = None, encoder: Any = None, name: str = "") -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.fn, self.args, self.name = fn, args, name or getattr(fn, "__name__", "job")
        self.config, self.db_path, self.encoder = config, db_path, encoder
        self.signals = JobSignals()
        self.cancel_event = threading.Event()
        self.done = threading.Event()

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:
        try:
            out = self.fn(JobContext(self), *self.args)
        except HashLensError as exc:
            self.signals.error.emit(display_path(str(exc)))
        except Exception as exc:  # a bug must reach the user as a dialog, not kill the thread
            traceback.print_exc()
            self.signals.error.emit(display_path(f"{type(exc).__name__}: {exc}"))
        else:
            self.signals.result.emit(out)
        finally:
            self.done.set()
            self.signals.finished.emit()


class JobRunner(QObject):
    """Starts jobs on a pool and keeps them alive until they finish."""

    def __init__(self, config: Config, db_path: str | None, encoder: Any,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config, self.db_path, self.encoder = config, db_path, encoder
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self.jobs: set[Job] = set()

    def start(self, fn: Callable[..., Any], *args: Any, on_result: Callable[[Any], None] | None = None,
              on_error: Callable[[str], None] | None = None,
              on_progress: Callable[[int, int, str], None] | None = None,
              on_finished: Callable[[], None] | None = None, name: str = "") -> Job:
        job = Job(fn, *args, config=self.config, db_path=self.db_path, encoder=self.encoder, name=name)
        if on_result:
            job.signals.result.connect(on_result)
        if on_error:
            job.signals.error.connect(on_error)
        if on_progress:
            job.signals.progress.connect(on_progress)
        if on_finished:
            job.signals.finished.connect(on_finished)
        job.signals.finished.connect(lambda: self.jobs.discard(job))
        self.jobs.add(job)
        self.pool.start(job)
        return job

    def busy(self) -> bool:
        return bool(self.jobs)

    def shutdown(self, timeout_ms: int = 10000) -> None:
        for job in list(self.jobs):
            job.cancel()
        self.pool.waitForDone(timeout_ms)


class ThumbSignals(QObject):
    # paths travel as Python objects: a str signal would turn a name whose bytes are not UTF-8
    # ('caf\\udce9.jpg') into another file's name ('caf.jpg')
    ready = Signal(object, int, QImage)
    failed = Signal(object, int)


class _ThumbTask(QRunnable):
    def __init__(self, loader: ThumbLoader) -> None:
        super().__init__()
        self.loader = loader

    def run(self) -> None:
        while True:
            item = self.loader._next()
            if item is None:
                return
            path, edge = item
            try:
                file = thumbs.thumbnail(self.loader.cache_dir, path, edge)
                img = QImage(str(file))  # QImage (unlike QPixmap) is safe off the GUI thread
                if img.isNull():
                    raise HashLensError("unreadable thumbnail")
            except (HashLensError, OSError):
                self.loader.signals.failed.emit(path, edge)
            else:
                self.loader.signals.ready.emit(path, edge, img)
            finally:
                self.loader._done(path, edge)


class ThumbLoader(QObject):
    """Request thumbnails by (path, edge); `signals.ready` delivers them in the GUI thread."""

    MAX_QUEUED = 400

    def __init__(self, cache_dir: str | Path, threads: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache_dir = Path(cache_dir)
        self.signals = ThumbSignals()
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self.threads = threads
        self._lock = threading.Lock()
        self._queue: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._running: set[tuple[str, int]] = set()
        self._tasks = 0

    def request(self, path: str, edge: int) -> None:
        key = (path, edge)
        with self._lock:
            if key in self._running:
                return
            self._queue[key] = None
            self._queue.move_to_end(key)  # newest request first: what is on screen now
            while len(self._queue) > self.MAX_QUEUED:
                self._queue.popitem(last=False)
            start = self._tasks < self.threads
            if start:
                self._tasks += 1
        if start:
            self.pool.start(_ThumbTask(self))

    def _next(self) -> tuple[str, int] | None:
        with self._lock:
            if not self._queue:
                self._tasks -= 1
                return None
            key, _ = self._queue.popitem(last=True)
            self._running.add(key)
            return key

    def _done(self, path: str, edge: int) -> None:
        with self._lock:
            self._running.discard((path, edge))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self.clear()
        self.pool.waitForDone(timeout_ms)
