"""Real photos for tests: the shipped public-domain samples, plus Debian's photo wallpapers
(mate-backgrounds, plasma-workspace-wallpapers; installed by .ci/run, never committed)."""

from __future__ import annotations

import io
import random
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageEnhance

from hashcore.config import Config
from hashcore.library import Library

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "resources" / "samples"


def source_photos() -> list[Path]:
    """One file per distinct photograph (wallpaper packages ship several sizes of each)."""
    files = sorted(SAMPLES.glob("*.jpg"))
    files += sorted(Path("/usr/share/backgrounds/mate/nature").glob("*.jpg"))
    elephants = Path("/usr/share/backgrounds/mate/abstract/Elephants.jpg")
    files += [elephants] if elephants.exists() else []
    for theme in sorted(Path("/usr/share/wallpapers").glob("*/contents/images")):
        sizes = sorted(theme.glob("*.jpg"), key=lambda p: p.stat().st_size)
        files += sizes[-1:]
    return files


def samples_library(tmp_path_factory: pytest.TempPathFactory,
                    extra: Callable[[Path], object] | None = None) -> Iterator[Library]:
    """For a module fixture: the shipped sample photos (and whatever `extra(folder)` writes beside
    them) indexed into a fresh library, yielded, then closed."""
    root = tmp_path_factory.mktemp("photos")
    for p in sorted(SAMPLES.glob("*.jpg")):
        shutil.copy2(p, root / p.name)
    if extra is not None:
        extra(root)
    home = tmp_path_factory.mktemp("home")
    with Library(Config(home=home), db_path=home / "library.db") as library:
        library.index([root])
        yield library


def save_jpeg(img: Image.Image, path: Path, quality: int = 90) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.convert("RGB").save(path, "JPEG", quality=quality)
    return path


def load_small(path: Path, max_side: int = 900) -> Image.Image:
    img = Image.open(path)
    img.draft("RGB", (max_side, max_side))
    img = img.convert("RGB")
    img.thumbnail((max_side, max_side))
    return img


def variants(img: Image.Image, seed: int) -> dict[str, Image.Image]:
    """The copies people really end up with: downscaled, re-compressed, cropped, brightened."""
    rng = random.Random(seed)
    w, h = img.size
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=35)
    dx, dy = int(w * rng.uniform(0.03, 0.07)), int(h * rng.uniform(0.03, 0.07))
    return {
        "small": img.resize((w // 2, h // 2), Image.Resampling.LANCZOS),
        "recompressed": Image.open(io.BytesIO(buf.getvalue())).convert("RGB"),
        "cropped": img.crop((dx, dy, w - dx, h - dy)),
        "bright": ImageEnhance.Brightness(img).enhance(1.25),
    }


def build_library(dest: Path, n_planted: int = 10) -> tuple[list[Path], dict[str, list[Path]]]:
    """Write every source photo to dest/originals, and variants of the first n_planted ones to
    dest/copies/<name>/. Returns (all originals, planted groups keyed by original name)."""
    originals, groups = [], {}
    for n, src in enumerate(source_photos()):
        img = load_small(src)
        name = f"{n:02d}-{src.parent.parent.name if src.parent.name == 'images' else src.stem}"
        orig = save_jpeg(img, dest / "originals" / f"{name}.jpg")
        originals.append(orig)
        if n < n_planted:
            copies = [save_jpeg(v, dest / "copies" / name / f"{kind}.jpg")
                      for kind, v in variants(img, n).items()]
            groups[name] = [orig, *copies]
    return originals, groups


def small_library(dest: Path, count: int, max_side: int) -> Path:
    """The first `count` distinct source photos, downsized, as dest/NN.jpg."""
    for n, src in enumerate(source_photos()[:count]):
        save_jpeg(load_small(src, max_side), dest / f"{n:02d}.jpg")
    return dest
