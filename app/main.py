"""`hashlens`: open the HashLens window."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def resolve_config(bits: int | None = None, home: str | None = None) -> Any:
    """HASHLENS_HOME wins, then the command line, then the saved setting, then the default."""
    from app.context import settings
    from hashcore.config import DEFAULT_BITS, SUPPORTED_BITS, Config, data_home

    s = settings()
    if os.environ.get("HASHLENS_HOME"):
        home_path = data_home()
    elif home:
        home_path = Path(home).expanduser()
    else:
        saved = str(s.value("dataHome", "") or "")
        home_path = Path(saved).expanduser() if saved else data_home()
    b = bits or int(s.value("bits", DEFAULT_BITS))
    return Config(home=home_path, bits=b if b in SUPPORTED_BITS else DEFAULT_BITS)


def make_encoder(config: Any) -> Any:
    from hashcore.models.manifest import Encoder, library_head_info

    return Encoder(library_head_info(config))


def build_window(config: Any = None) -> Any:
    """The real main window (used by `main`, the tests and the screenshot script)."""
    from app.window import MainWindow

    config = config or resolve_config()
    return MainWindow(config, make_encoder(config))


def instance_lock(config: Any) -> Any:
    """A lock on the library's data folder: one window per library. None if already taken."""
    from PySide6.QtCore import QLockFile

    config.home.mkdir(parents=True, exist_ok=True)
    lock = QLockFile(str(config.home / "hashlens.lock"))
    lock.setStaleLockTime(0)  # a crashed instance's lock is detected by its dead PID instead
    return lock if lock.tryLock(200) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hashlens", description="HashLens: offline photo search")
    parser.add_argument("folders", nargs="*", help="photo folders to add and index")
    parser.add_argument("--bits", type=int, choices=(32, 64, 128), help="code length")
    parser.add_argument("--home", help="data folder (database, thumbnails)")
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.window import app_icon
    from hashcore.errors import HashLensError

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("HashLens")
    app.setOrganizationName("HashLens")
    app.setApplicationDisplayName("HashLens")
    app.setDesktopFileName("hashlens")
    app.setWindowIcon(app_icon())
    config = resolve_config(args.bits, args.home)
    lock = instance_lock(config)
    if lock is None:
        QMessageBox.information(None, "HashLens is already running",
                                f"HashLens is already open on the library in {config.home}.\n"
                                "Switch to that window; two windows on one library would fight over it.")
        return 1
    try:
        win = build_window(config)
    except HashLensError as exc:
        QMessageBox.critical(None, "HashLens cannot start", str(exc))
        return 1
    win.show()
    if args.folders:
        win.library_ctl.index_folders(args.folders)
    try:
        return int(app.exec())
    finally:
        lock.unlock()


if __name__ == "__main__":
    sys.exit(main())
