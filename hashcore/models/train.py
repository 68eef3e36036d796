"""Training a hashing head: from augmented real photos, from a feature file, or from a
library's own photos (up to LIBRARY_MAX_PHOTOS of them read again for augmented views; the codes
of every photo are then recomputed from the features already stored, none decoded again).
Adapting to a library also adapts its copy-detection head, if it has one, on the same views with
the head's own objective (which photo each view shows is the label)."""

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
from hashcore.models.manifest import HeadInfo, record_copy_head, record_head
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
    return augmented_views(files, backbone, views, variants, seed, progress, cancel)[0]


def augmented_views(files: list[Path], backbone: Backbone, views: int, variants: int, seed: int = 0,
                    progress: Progress | None = None,
                    cancel: Callable[[], bool] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`augmented_features`, and for each row which photo (0, 1, ... in the order read) it shows:
    the label a copy-detection head learns from."""
    rng = random.Random(seed)
    feats: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for n, path in enumerate(files):
        if cancel is not None and cancel():
            raise Cancelled("training cancelled; nothing was changed")
        try:
            img = decode_file(path, target=512).image
        except DecodeError:
            continue
        batch = [img] + [random_variant(img, rng) for _ in range(variants)] + random_views(img, views, rng)
        feats.append(backbone.embed_images(batch)[0])
        labels.append(np.full(len(feats[-1]), len(labels), np.int64))
        if progress:
            progress(n + 1, len(files), str(path))
    if not feats:
        raise HashLensError("no readable training photos")
    return np.concatenate(feats), np.concatenate(labels)


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
                     cancel: Callable[[], bool] | None = None, copy_head: bool = False) -> tuple[HeadInfo, int]:
    """Fit a head on the library's own photos, with no labels: the backbone features of up to
    `max_photos` of them (decoded again) plus `views` augmented views and `variants` near-duplicate
    variants of each (so copies of a photo stay close): (1 + views + variants) samples per photo.
    It becomes this library's default; the caller then recomputes the codes from the stored
    features, without decoding any photo again. Returns (info, samples).
    With `copy_head` (opt-in), where the library has a copy-detection head, a copy head is fitted
    on the same rows too, with its own objective (rows of one photo are copies of each other, rows
    of others are not) and the shipped head's settings and operating point; it needs two or more
    rows per photo (views or variants), else the copy head is left as it was. It is not the
    default: fitted afresh on a few dozen photos, without the shipped head's burst negatives,
    and held to the shipped head's operating point, it lost planted copies the shipped head keeps
    (tests/e2e/test_cli.py), and no measurement yet shows it helps.
    A cancel (between photos) raises Cancelled before anything is written."""
    rows = lib.store.images()
    bits = lib.encoder.bits
    if len(rows) < MIN_LIBRARY_PHOTOS:
        raise HashLensError(f"the library has {len(rows)} photos; index at least {MIN_LIBRARY_PHOTOS} "
                            "before adapting")
    rng = random.Random(seed)
    chosen = sorted(rng.sample(rows, min(max_photos, len(rows))), key=lambda r: r["path"])
    x, y = augmented_views([Path(r["path"]) for r in chosen], lib.encoder.backbone, views, variants, seed, progress,
                           cancel)
    if len(x) < bits:
        raise HashLensError(f"only {len(x)} training vectors could be made; {bits} are needed")
    out_dir = Path(lib.config.home) / "models"
    adapted_copy = _adapted_copy_head(lib, x, y, seed, progress) if copy_head and views + variants > 0 else None
    head = make_head(method, bits, seed=seed)
    info = fit_and_save(head, x, None, out_dir, f"{method}-{bits}-library", True)
    if adapted_copy is not None:
        path = out_dir / f"copy-{adapted_copy.bits}-library.npz"
        sha = adapted_copy.save(path)
        record_copy_head(HeadInfo(path.stem, path, adapted_copy.method, adapted_copy.bits, sha), out_dir)
    return info, len(x)


def _adapted_copy_head(lib: Library, x: np.ndarray, y: np.ndarray, seed: int,
                       progress: Progress | None) -> HashHead | None:
    """The library's copy head fitted again on its own photos' views (None without a copy head):
    the same method, settings and code length as the head in use, and its operating point."""
    if lib.copy is None:
        return None
    current = lib.copy.head
    params = {k: v for k, v in current.params.items() if k != "operating_point"}
    # as many steps as the shipped head took for its ~170 photos at most, fewer for a small library
    # (each step sees `batch` photos; a few passes over a small library's photos are enough)
    photos = len(np.unique(y))
    params["steps"] = int(min(int(params.get("steps", 1000)), max(200, 5 * photos)))
    head = make_head(current.method, current.bits, **{**params, "seed": seed})
    lib.copy.operating_point  # noqa: B018  (raises ModelError for a head without one, before fitting)
    head.fit(x, y, progress=progress)
    head.params["operating_point"] = dict(current.params["operating_point"])  # with its DCT test, if any
    return head
