"""Training a hashing head: from augmented real photos, from a feature file, or from a
library's own photos (up to LIBRARY_MAX_PHOTOS of them read again for augmented views; the codes
of every photo are then recomputed from the features already stored, none decoded again)."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hashcore.errors import Cancelled, DecodeError, HashLensError
from hashcore.ingest.decode import decode_file, is_photo_name
from hashcore.models.augment import random_variant, random_views
from hashcore.models.backbone import Backbone
from hashcore.models.manifest import HeadInfo, record_head
from hashcore.models.methods import HashHead
from hashcore.models.methods.base import _REGISTRY

if TYPE_CHECKING:
    from hashcore.library import Library

Progress = Callable[[int, int, str], None]
MIN_LIBRARY_PHOTOS = 16  # fewer photos than this teach a head nothing a shipped one does not know
LIBRARY_MAX_PHOTOS = 500  # adapting reads at most this many photos again
LIBRARY_VIEWS, LIBRARY_VARIANTS = 8, 4  # augmented views and near-duplicate variants per photo


def make_head(method: str, bits: int, **params: object) -> HashHead:
    cls = _REGISTRY.get(method)
    if cls is None:
        raise HashLensError(f"unknown method {method!r}; choose one of {', '.join(sorted(_REGISTRY))}")
    return cls(bits, **params)


def photo_files(dirs: list[str | Path]) -> list[Path]:
    files = []
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            raise HashLensError(f"training folder not found: {d}")
        files += sorted(p for p in d.rglob("*") if p.is_file() and is_photo_name(p.name))
    return files


def augmented_features(files: list[Path], backbone: Backbone, views: int, variants: int, seed: int = 0,
                       progress: Progress | None = None,
                       cancel: Callable[[], bool] | None = None) -> np.ndarray:
    """Backbone features of each photo, its random views, and near-duplicate variants of them.
    `cancel` is checked between photos (raises Cancelled): nothing is written before the end."""
    rng = random.Random(seed)
    feats = []
    for n, path in enumerate(files):
        if cancel is not None and cancel():
            raise Cancelled("training cancelled; nothing was changed")
        try:
            img = decode_file(path, target=512).image
        except DecodeError:
            continue
        batch = [img] + [random_variant(img, rng) for _ in range(variants)] + random_views(img, views, rng)
        feats.append(backbone.embed_images(batch)[0])
        if progress:
            progress(n + 1, len(files), str(path))
    if not feats:
        raise HashLensError("no readable training photos")
    return np.concatenate(feats)


def fit_and_save(head: HashHead, x: np.ndarray, y: np.ndarray | None, out_dir: Path, name: str,
                 default: bool) -> HeadInfo:
    head.fit(x, y)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.npz"
    sha = head.save(path)
    info = HeadInfo(name, path, head.method, head.bits, sha)
    record_head(info, default, out_dir)
    return info


def adapt_to_library(lib: Library, method: str = "itq", seed: int = 0, views: int = LIBRARY_VIEWS,
                     variants: int = LIBRARY_VARIANTS, max_photos: int = LIBRARY_MAX_PHOTOS,
                     progress: Progress | None = None,
                     cancel: Callable[[], bool] | None = None) -> tuple[HeadInfo, int]:
    """Fit a head on the library's own photos, with no labels: the backbone features of up to
    `max_photos` of them (decoded again) plus `views` augmented views and `variants` near-duplicate
    variants of each (so copies of a photo stay close): (1 + views + variants) samples per photo.
    It becomes this library's default; the caller then recomputes the codes from the stored
    features, without decoding any photo again. Returns (info, samples).
    A cancel (between photos) raises Cancelled before anything is written."""
    rows = lib.store.images()
    bits = lib.encoder.bits
    if len(rows) < MIN_LIBRARY_PHOTOS:
        raise HashLensError(f"the library has {len(rows)} photos; index at least {MIN_LIBRARY_PHOTOS} "
                            "before adapting")
    rng = random.Random(seed)
    chosen = sorted(rng.sample(rows, min(max_photos, len(rows))), key=lambda r: r["path"])
    x = augmented_features([Path(r["path"]) for r in chosen], lib.encoder.backbone, views, variants, seed, progress,
                           cancel)
    if len(x) < bits:
        raise HashLensError(f"only {len(x)} training vectors could be made; {bits} are needed")
    head = make_head(method, bits, seed=seed)
    name = f"{method}-{bits}-library"
    return fit_and_save(head, x, None, Path(lib.config.home) / "models", name, True), len(x)
