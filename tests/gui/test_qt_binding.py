"""The Qt binding the app runs on must not leak references to None.

PySide6 6.12.0 drops one reference to None on every C++ call that returns nothing; on Python 3.11,
where None is an ordinary counted object, a long session of repaints then aborts the app with
"none_dealloc". pyproject.toml keeps that version out; this test notices if one comes back.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QRect


def test_void_calls_keep_none_alive():
    rect = QRect()
    before = sys.getrefcount(None)
    for _ in range(1000):
        rect.setWidth(3)
    assert sys.getrefcount(None) - before > -100, "this PySide6 leaks references to None: install another version"
