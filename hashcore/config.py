"""Where HashLens keeps its data, resolved once and passed around as a frozen value."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
DEFAULT_BITS = 64
SUPPORTED_BITS = (32, 64, 128)


def data_home() -> Path:
    """HASHLENS_HOME wins so tests and portable installs never touch the user's real data dir."""
    env = os.environ.get("HASHLENS_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("hashlens", appauthor=False))


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
    def models_dir(self) -> Path:
        return self.resources / "models"
