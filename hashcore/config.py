"""Where HashLens keeps its data, resolved once and passed around as a frozen value."""

from __future__ import annotations

import importlib.resources
import os
from dataclasses import dataclass, field
from pathlib import Path


def _resources() -> Path:
    """The shipped files (models, tag vocabulary, sample photos, icon).

    An installed wheel carries them as the package `hashcore.resources` (pyproject.toml maps the
    repository's top-level resources/ there), and so does an editable install; a bare source
    checkout on sys.path has no such package, and its files are the top-level resources/ folder.
    """
    try:
        root = importlib.resources.files("hashcore.resources")
    except ModuleNotFoundError as exc:
        if exc.name != "hashcore.resources":
            raise
        return Path(__file__).resolve().parent.parent / "resources"
    if not isinstance(root, Path):  # zip imports and the like: no real folder to open files in
        raise RuntimeError(f"hashcore.resources is not a folder on disk: {root}")
    return root.resolve()


RESOURCES = _resources()
DEFAULT_BITS = 64
SUPPORTED_BITS = (32, 64, 128)


def data_home() -> Path:
    """HASHLENS_HOME wins so tests and portable installs never touch the user's real data dir."""
    env = os.environ.get("HASHLENS_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("hashlens", appauthor=False))


def shared_cache_home() -> Path:
    """HASHLENS_CACHE wins (tests share one across their private homes), else the platform's
    per-user cache folder."""
    env = os.environ.get("HASHLENS_CACHE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("hashlens", appauthor=False))


@dataclass(frozen=True)
class Config:
    home: Path = field(default_factory=data_home)
    bits: int = DEFAULT_BITS
    resources: Path = RESOURCES

    @property
    def db_path(self) -> Path:
        return self.home / "library.db"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def shared_cache_dir(self) -> Path:
        """Per-user cache of what depends only on the shipped models, never on a library (the text
        model's word vectors): shared by every library of the user, so it is made once."""
        return shared_cache_home()

    @property
    def models_dir(self) -> Path:
        return self.resources / "models"
