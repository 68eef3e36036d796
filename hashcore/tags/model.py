"""Which multimodal tag model a library uses: the shipped one, or one retrained from its tags.

The shipped model is listed in resources/models/manifest.json under "multimodal"; a model
retrained from the user's tags lives in the library's data folder and wins over it.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from hashcore.config import RESOURCES, Config
from hashcore.errors import ModelError
from hashcore.models.manifest import HeadInfo

if TYPE_CHECKING:
    from hashcore.tags.multimodal import MultimodalSparseHash

MANIFEST_KEY = "multimodal"
USER_MODEL = "multimodal-user"
_MODELS: dict[tuple[str, str], MultimodalSparseHash] = {}
_MODEL_LOCK = threading.Lock()


def record_multimodal(info: HeadInfo, models_dir: Path) -> None:
    """Write (or replace) the "multimodal" entry of a manifest, leaving the other entries alone."""
    path = models_dir / "manifest.json"
    m = json.loads(path.read_text()) if path.is_file() else {"default": {}, "heads": {}}
    m[MANIFEST_KEY] = {"name": info.name, "file": info.path.name, "method": info.method,
                       "bits": info.bits, "sha256": info.sha256}
    path.write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")


def multimodal_info(models_dir: Path = RESOURCES / "models") -> HeadInfo:
    path = models_dir / "manifest.json"
    entry = json.loads(path.read_text()).get(MANIFEST_KEY) if path.is_file() else None
    if entry is None:
        raise ModelError(f"no multimodal tag model listed in {path}; reinstall HashLens")
    return HeadInfo(entry["name"], models_dir / entry["file"], entry["method"], int(entry["bits"]),
                    entry["sha256"])


def user_model_info(home: Path) -> HeadInfo | None:
    """The model retrained from this library's tags, if there is one."""
    path = home / "models"
    if not (path / "manifest.json").is_file():
        return None
    try:
        return multimodal_info(path)
    except (ModelError, KeyError, ValueError):
        return None


def model_info(config: Config) -> HeadInfo:
    """This library's retrained model when there is one, else the shipped model."""
    return user_model_info(Path(config.home)) or multimodal_info(config.models_dir)


def load_model(config: Config) -> MultimodalSparseHash:
    """The multimodal model, loaded once per process per file version (sha256-checked)."""
    from hashcore.models.methods import load_head
    from hashcore.tags.multimodal import MultimodalSparseHash  # also registers the model class

    info = model_info(config)
    key = (str(info.path), info.sha256)
    with _MODEL_LOCK:
        if key not in _MODELS:
            head = load_head(info.path, info.sha256)
            if not isinstance(head, MultimodalSparseHash):
                raise ModelError(f"{info.path.name} is not a multimodal tag model")
            _MODELS[key] = head
        return _MODELS[key]
