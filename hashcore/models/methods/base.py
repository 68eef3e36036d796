"""The one small interface every hashing method shares, and safe (pickle-free) persistence."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from hashcore.errors import ModelError

_REGISTRY: dict[str, type[HashHead]] = {}


def register(cls: type[HashHead]) -> type[HashHead]:
    """Class decorator: make a head loadable by its `method` name."""
    _REGISTRY[cls.method] = cls
    return cls


class HashHead(ABC):
    """Features (N, D) float32 -> binary codes (N, bits) bool.

    Subclasses keep their learned state as a dict of numpy arrays (`state`) plus JSON-able
    hyper-parameters (`params`), which is all `save`/`load` need.
    """

    method: ClassVar[str] = ""
    supervised: ClassVar[bool] = False

    def __init__(self, bits: int, **params: Any) -> None:
        self.bits = int(bits)
        self.params: dict[str, Any] = dict(params)
        self.state: dict[str, np.ndarray] = {}

    @abstractmethod
    def fit(self, x: np.ndarray, y: np.ndarray | None = None, progress: Any = None) -> HashHead:
        """Learn from features x (and labels y for supervised methods). Returns self."""

    @abstractmethod
    def encode(self, x: np.ndarray) -> np.ndarray:
        """Features (N, D) -> (N, bits) bool codes."""

    @property
    def fitted(self) -> bool:
        return bool(self.state)

    def save(self, path: str | Path) -> str:
        """Write an .npz of plain arrays; returns the file's sha256."""
        path = Path(path)
        meta = json.dumps({"method": self.method, "bits": self.bits, "params": self.params})
        arrays: dict[str, Any] = {f"state__{k}": np.asarray(v) for k, v in self.state.items()}
        with open(path, "wb") as fh:
            np.savez(fh, __meta__=np.frombuffer(meta.encode(), dtype=np.uint8), **arrays)
        return sha256_file(path)

    @classmethod
    def from_arrays(cls, bits: int, params: dict[str, Any], state: dict[str, np.ndarray]) -> HashHead:
        head = cls(bits, **params)
        head.state = state
        return head


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_head(path: str | Path, sha256: str | None = None) -> HashHead:
    """Load a head saved by `HashHead.save`, checking its sha256 first when one is given."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    if sha256 is not None and sha256_file(path) != sha256:
        raise ModelError(f"model file {path.name} does not match its sha256; it may be damaged or tampered with")
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["__meta__"]).decode())
            state = {k[len("state__"):]: z[k] for k in z.files if k.startswith("state__")}
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"cannot read model file {path.name}: {exc}") from exc
    cls = _REGISTRY.get(meta["method"])
    if cls is None:
        raise ModelError(f"model file {path.name} uses unknown method {meta['method']!r}")
    return cls.from_arrays(meta["bits"], meta.get("params", {}), state)
