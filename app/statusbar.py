"""The window's status bar: a line of news, the library's totals, the one long job's progress
(indexing, tagging, adapting, learning tags, finding duplicates) with its Cancel button, and the
count of problems.

Every long job has the same shape here: a count ("120 / 601"), a rate ("14.2 photos/s"), the
time left and Cancel, all in the one progress area. A job names what it counts when it begins
(`unit`); a phase of a job may name its own ("Reading word meanings<SEP>...<SEP>words").

At most one long job runs at a time; `busy()` says whether one is on, and `progressEnded` tells
whoever queued work (folders dropped during a run) that the bar is free again.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStatusBar,
    QToolButton,
    QWidget,
)

from app.jobs import PHASE_SEP


def eta_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class StatusBar(QStatusBar):
    cancelRequested = Signal()
    problemsClicked = Signal()
    progressEnded = Signal()  # the long job is over: work that waited for it may start

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # long news and long job lines never widen the window: they are cut, the tooltip has all
        self.message = QLabel("")
        self.message.setObjectName("statusMessage")
        self.message.setMinimumWidth(60)
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.progress_label = QLabel("")
        self.progress_label.setObjectName("progressLabel")
        self.progress_label.setMinimumWidth(120)
        self.progress_label.setMaximumWidth(380)
        self.progress = QProgressBar()
        self.progress.setObjectName("indexProgress")
        self.progress.setFixedWidth(220)
        self.progress.setTextVisible(True)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setObjectName("cancelIndexing")
        self.cancel_btn.setToolTip("Stop indexing; what is done so far is kept")
        self.cancel_btn.clicked.connect(self.cancelRequested)
        self.errors_btn = QToolButton()
        self.errors_btn.setObjectName("errorsButton")
        self.errors_btn.setAutoRaise(True)
        self.errors_btn.clicked.connect(self.problemsClicked)
        self.stats_label = QLabel("")
        self.stats_label.setObjectName("statsLabel")
        self.addWidget(self.message, 1)
        for w in (self.stats_label, self.progress_label, self.progress, self.cancel_btn, self.errors_btn):
            self.addPermanentWidget(w)
        self.rate_start: tuple[str, float, int] | None = None
        self.unit = "photos"
        self._busy = False
        self._show_progress(False)

    def say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setToolTip(text)

    def set_stats(self, st: dict[str, Any]) -> None:
        self.stats_label.setText(f"{st['photos']:,} photos in {st['roots']} folder{'s' if st['roots'] != 1 else ''}"
                                 + (f" · {st['missing']} missing" if st["missing"] else ""))

    def set_problems(self, n: int) -> None:
        self.errors_btn.setText(f"⚠ {n} problem{'s' if n != 1 else ''}" if n else "No problems")
        self.errors_btn.setToolTip("Show the files that could not be indexed (Ctrl+E)")
        self.errors_btn.setEnabled(bool(n))

    # -- the one long job ------------------------------------------------------------------------
    def busy(self) -> bool:
        return self._busy

    def begin_progress(self, text: str, cancel_tip: str, unit: str = "photos") -> None:
        self._busy = True
        self.rate_start = None
        self.unit = unit
        self._show_progress(True)
        self.progress.setRange(0, 0)
        self.progress_label.setText(text)
        self.cancel_btn.setToolTip(cancel_tip)

    def job_progress(self, verb: str, done: int, total: int, text: str) -> None:
        """Count, rate and time left; a job's phase ("Reading keywords") replaces its verb, and
        may name its own unit. A total of 0 means "not countable yet": a busy bar and the phase."""
        name, sep, path = text.partition(PHASE_SEP)
        verb, path = (name, path) if sep else (verb, text)
        path, sep, unit = path.partition(PHASE_SEP)
        unit = unit if sep else self.unit
        if total <= 0:
            self.rate_start = None
            self.progress.setRange(0, 0)
            self.progress_label.setText(f"{verb}…")
            self.progress_label.setToolTip(path)
            return
        now = time.monotonic()
        phase = f"{verb}{PHASE_SEP}{total}"  # a new phase, or a new count in one, starts the rate again
        if self.rate_start is None or self.rate_start[0] != phase:
            self.rate_start = (phase, now, done)
        _, t_first, d_first = self.rate_start
        rate = (done - d_first) / (now - t_first) if now - t_first > 0.5 and done > d_first else 0.0
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done:,} / {total:,}")
        left = f" · about {eta_text((total - done) / rate)} left" if rate > 0 else ""
        self.progress_label.setText(f"{verb} {Path(path).name}".strip() if rate == 0 else
                                    f"{verb} · {rate:.1f} {unit}/s{left}")
        self.progress_label.setToolTip(path)

    def cancelling(self, text: str) -> None:
        self.cancel_btn.setEnabled(False)
        self.progress_label.setText(text)

    def end_progress(self) -> None:
        self._busy = False
        self._show_progress(False)
        self.progressEnded.emit()

    def _show_progress(self, on: bool) -> None:
        for w in (self.progress, self.progress_label, self.cancel_btn):
            w.setVisible(on)
        self.cancel_btn.setEnabled(on)
