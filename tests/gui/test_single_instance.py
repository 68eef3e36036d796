"""A second window on the same library is refused with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_second_instance_is_refused(tmp_path):
    from app.main import instance_lock
    from hashcore.config import Config

    cfg = Config(home=tmp_path / "hl")
    lock = instance_lock(cfg)
    assert lock is not None
    # a real second process, as a person double-clicking the icon again would start
    code = ("import sys; from PySide6.QtWidgets import QMessageBox; "
            "QMessageBox.information = staticmethod(lambda *a: print('MESSAGE:', a[1], '|', a[2]) or 0); "
            "from app.main import main; sys.exit(main([]))")
    env = dict(os.environ, HASHLENS_HOME=str(cfg.home), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1
    assert "already running" in proc.stdout and str(cfg.home) in proc.stdout
    lock.unlock()
    assert instance_lock(cfg) is not None  # free again once the first window closes
