"""Every test runs with its own HashLens home, HOME and trash, so nothing touches real data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One per-user cache for the whole run (word vectors depend only on the shipped text model),
    as a real user's libraries share theirs; it starts empty, so the first test that needs it
    makes it."""
    return tmp_path_factory.mktemp("user-cache")


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_cache: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("HASHLENS_HOME", str(home / "hashlens"))
    monkeypatch.setenv("HASHLENS_CACHE", str(shared_cache))
    return home
