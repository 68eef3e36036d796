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
from hashcore.models.methods.copyhash import CopyHash
from hashcore.search import bits as bitops

COPY_METHOD = "copyhash"
# The DCT hash (hashcore/search/dcthash.py), the copy head's second signal: stored as the codes of
# a model row named DCT_NAME whose "sha256" is DCT_VERSION, so that a change of the hash's
# definition makes stored hashes stale (Store.ensure_model) and the next index computes them again.
DCT_NAME, DCT_METHOD, DCT_BITS = "dct-64", "dcthash", 64


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
    """Go back to the shipped heads for this code length (the semantic one and the copy head).
    True if an adapted one was in use."""
    path = Path(config.home) / "models" / "manifest.json"
    if not path.is_file():
        return False
    m = json.loads(path.read_text())
    had = m.get("default", {}).pop(str(config.bits), None) is not None
    had = m.pop("copy", None) is not None or had
    path.write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")
    return had


def copy_head_info(models_dir: Path = RESOURCES / "models", bits: int | None = None) -> HeadInfo | None:
    """The copy-detection head of a model folder, or None where it has none (then duplicates and
    search work from the semantic code alone, as before copy heads existed).

    The manifest names it under "copy": a head name, or {bits: name} (the entry for `bits`
    first, else any); a folder whose manifest has no "copy" entry offers its first head of
    method "copyhash", if any."""
    m = manifest(models_dir) if (models_dir / "manifest.json").is_file() else {"heads": {}}
    heads = m.get("heads", {})
    named = m.get("copy")
    if isinstance(named, dict):
        named = named.get(str(bits)) or next(iter(sorted(named.values())), None)
    if named is None:
        named = next((n for n, e in sorted(heads.items()) if e.get("method") == COPY_METHOD), None)
    if named is None:
        return None
    entry = heads.get(named)
    if entry is None:
        raise ModelError(f"the model manifest in {models_dir} names copy head {named!r} but does not list it")
    return HeadInfo(named, models_dir / entry["file"], entry["method"], int(entry["bits"]), entry["sha256"])


def library_copy_info(config: Config) -> HeadInfo | None:
    """The copy head a library uses: one adapted to it (`hashcore train --library`) if any, else
    the shipped one, else None."""
    user_dir = Path(config.home) / "models"
    if (user_dir / "manifest.json").is_file() and "copy" in manifest(user_dir):
        return copy_head_info(user_dir, config.bits)
    return copy_head_info(config.models_dir, config.bits)


def record_copy_head(info: HeadInfo, models_dir: Path) -> None:
    """Add a copy head to a model folder's manifest as its copy head (`hashcore train --library`)."""
    record_head(info, False, models_dir)
    path = models_dir / "manifest.json"
    m = json.loads(path.read_text())
    m["copy"] = {str(info.bits): info.name}
    path.write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")


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


class CopyEncoder:
    """The copy-detection head (hashcore/models/methods/copyhash.py) over the backbone features
    the Encoder already computed: a second code per photo, for duplicates and for the copies a
    search lists first, and the float embedding that verifies a candidate pair. Loaded lazily."""

    def __init__(self, info: HeadInfo) -> None:
        self.info = info
        self._head: CopyHash | None = None

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def bits(self) -> int:
        return self.info.bits

    @property
    def head(self) -> CopyHash:
        if self._head is None:
            head = load_head(self.info.path, self.info.sha256)
            if not isinstance(head, CopyHash):
                raise ModelError(f"model {self.info.name} is a {head.method} head, not a copy-detection head")
            if head.bits != self.info.bits:
                raise ModelError(f"model {self.info.name} has {head.bits} bits, manifest says {self.info.bits}")
            self._head = head
        return self._head

    @property
    def operating_point(self) -> tuple[int, float]:
        """(Hamming radius, embedding cosine) the head was tuned for: the copy level's defaults."""
        op = self.head.params.get("operating_point")
        if not isinstance(op, dict) or "radius" not in op or "min_cosine" not in op:
            raise ModelError(f"copy head {self.info.name} carries no operating point (radius, min_cosine)")
        return int(op["radius"]), float(op["min_cosine"])

    @property
    def dct_point(self) -> tuple[int, float] | None:
        """(DCT-hash radius, embedding cosine) of the second test the head was tuned with (a pair
        whose DCT hashes are that close is a copy at that lower cosine), or None without one."""
        op = self.head.params.get("operating_point") or {}
        if op.get("dct_radius") is None or op.get("dct_min_cosine") is None:
            return None
        return int(op["dct_radius"]), float(op["dct_min_cosine"])

    def codes(self, features: np.ndarray) -> np.ndarray:
        """Features (N, 1280) -> packed copy codes (N, words) uint64."""
        if len(features) == 0:
            return np.zeros((0, bitops.n_words(self.bits)), np.uint64)
        return bitops.pack(self.head.encode(np.asarray(features, np.float32)))

    def embed(self, features: np.ndarray) -> np.ndarray:
        """Features (N, 1280) -> unit-length copy embeddings (N, dim) float32; NaN rows stay NaN
        (a photo without features)."""
        x = np.asarray(features, np.float32)
        if len(x) == 0:
            return np.zeros((0, 1), np.float32)
        bad = np.asarray(np.isnan(x).any(axis=1), bool)
        out = self.head.embed(np.where(bad[:, None], 0.0, x))
        out[bad] = np.nan
        return out


def dct_version() -> str:
    """What the stored DCT hashes were made by: the hash's settings (see DCT_NAME)."""
    from hashcore.search import dcthash as d

    return f"dcthash-v1:{d.HASH_SIDE}:{d.LOW}:{d.WORK_SIDE}:{d.FLAT_STD}:{d.FLAT_MEAN_STEP}:{d.MAX_TRIM}"


def dct_codes(images: list[Any]) -> np.ndarray:
    """Decoded photos -> their 64-bit DCT hashes as codes (N, 1) uint64 (Hamming distances as
    dcthash.dct_distance gives them)."""
    from hashcore.search.dcthash import dct_hashes

    packed = np.ascontiguousarray(dct_hashes(images), np.uint8)
    return packed.view("<u8").astype(np.uint64).reshape(len(images), 1)
