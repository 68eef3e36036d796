"""The shipped hashing heads and the Encoder that turns photos into features and codes.

`resources/models/manifest.json` lists each shipped head with its method, bits and sha256, and
which one is the default for each code length. Heads are loaded lazily and sha256-checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hashcore.config import RESOURCES, SUPPORTED_BITS, Config
from hashcore.errors import ModelError
from hashcore.models.backbone import Backbone
from hashcore.models.methods import HashHead, load_head
from hashcore.search import bits as bitops


@dataclass(frozen=True)
class HeadInfo:
    name: str
    path: Path
    method: str
    bits: int
    sha256: str


def manifest(models_dir: Path = RESOURCES / "models") -> dict[str, Any]:
    path = models_dir / "manifest.json"
    if not path.is_file():
        raise ModelError(f"no model manifest at {path}; reinstall HashLens or run `hashcore train`")
    return json.loads(path.read_text())


def head_info(bits: int, name: str | None = None, models_dir: Path = RESOURCES / "models") -> HeadInfo:
    """The named head, or the default one for this code length."""
    if bits not in SUPPORTED_BITS:
        raise ModelError(f"code length {bits} is not supported; choose one of {SUPPORTED_BITS}")
    m = manifest(models_dir)
    name = name or m["default"].get(str(bits))
    entry = m["heads"].get(name or "")
    if entry is None:
        raise ModelError(f"no shipped model {name!r} for {bits} bits")
    return HeadInfo(name, models_dir / entry["file"], entry["method"], int(entry["bits"]), entry["sha256"])


def library_head_info(config: Config) -> HeadInfo:
    """The head a library uses: one adapted to it (`hashcore train --library`, kept in
    HASHLENS_HOME/models) when there is one for this code length, else the shipped default."""
    user_dir = Path(config.home) / "models"
    if (user_dir / "manifest.json").is_file():
        m = manifest(user_dir)
        if str(config.bits) in m.get("default", {}):
            return head_info(config.bits, models_dir=user_dir)
    return head_info(config.bits, models_dir=config.models_dir)


def forget_library_head(config: Config) -> bool:
    """Go back to the shipped head for this code length. True if an adapted one was in use."""
    path = Path(config.home) / "models" / "manifest.json"
    if not path.is_file():
        return False
    m = json.loads(path.read_text())
    had = m.get("default", {}).pop(str(config.bits), None) is not None
    path.write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")
    return had


def record_head(info: HeadInfo, default: bool, models_dir: Path) -> None:
    """Add or replace a head in the manifest (used by `hashcore train --out`)."""
    path = models_dir / "manifest.json"
    m = json.loads(path.read_text()) if path.is_file() else {"default": {}, "heads": {}}
    m["heads"][info.name] = {"file": info.path.name, "method": info.method, "bits": info.bits,
                             "sha256": info.sha256}
    if default:
        m["default"][str(info.bits)] = info.name
    path.write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")


class Encoder:
    """Backbone + hashing head. Nothing heavy is loaded until the first photo is encoded."""

    def __init__(self, info: HeadInfo, backbone: Backbone | None = None) -> None:
        self.info = info
        self.backbone = backbone or Backbone()
        self._head: HashHead | None = None

    @classmethod
    def default(cls, bits: int, name: str | None = None) -> Encoder:
        return cls(head_info(bits, name))

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def bits(self) -> int:
        return self.info.bits

    @property
    def head(self) -> HashHead:
        if self._head is None:
            head = load_head(self.info.path, self.info.sha256)
            if head.bits != self.info.bits:
                raise ModelError(f"model {self.info.name} has {head.bits} bits, manifest says {self.info.bits}")
            self._head = head
        return self._head

    def embed(self, images: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        """RGB PIL images -> (features, ImageNet probabilities)."""
        return self.backbone.embed_images(images)

    def codes(self, features: np.ndarray) -> np.ndarray:
        """Features (N, 1280) -> packed codes (N, words) uint64."""
        if len(features) == 0:
            return np.zeros((0, bitops.n_words(self.bits)), np.uint64)
        return bitops.pack(self.head.encode(np.asarray(features, np.float32)))
