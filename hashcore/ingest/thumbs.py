"""Thumbnails cached on disk, so a grid of 100,000 photos only decodes each photo once.

The cache key is the file's path, size and mtime (a changed file gets a new thumbnail) and the
thumbnail edge, so thumbnails of different sizes live side by side. Files are small JPEGs under
`<cache_dir>/thumbs/<edge>/ab/<key>.jpg`; a failed decode is remembered as an empty `.bad` file
so a corrupt photo is not retried on every scroll. Qt-free: the GUI's workers call `thumbnail()`.
"""

from __future__ import annotations

import hashlib
import os
import threading
import warnings
from pathlib import Path

from PIL import Image, ImageOps

from hashcore.errors import DecodeError

THUMB_QUALITY = 85


def thumb_path(cache_dir: str | Path, path: str, edge: int) -> Path:
    """Where the thumbnail of `path` at `edge` px lives (whether or not it exists yet)."""
    try:
        st = os.stat(path)
        stamp = f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        stamp = "gone"
    key = hashlib.blake2b(f"{path}\0{stamp}".encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()
    return Path(cache_dir) / "thumbs" / str(int(edge)) / key[:2] / f"{key}.jpg"


def _render(path: str, edge: int) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img: Image.Image = Image.open(path)
            if img.format == "JPEG":
                img.draft("RGB", (edge * 2, edge * 2))
            img.seek(0)
            img.load()
            img = ImageOps.exif_transpose(img) or img
            if img.mode in ("RGBA", "LA", "P"):
                rgba = img.convert("RGBA")
                bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                img = Image.alpha_composite(bg, rgba)
            img = img.convert("RGB")
        except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError,
                Image.DecompressionBombWarning) as exc:
            raise DecodeError(f"cannot make a thumbnail of {Path(path).name}: {exc}") from exc
    img.thumbnail((edge, edge), Image.Resampling.LANCZOS)
    return img


def thumbnail(cache_dir: str | Path, path: str, edge: int) -> Path:
    """The cached thumbnail file of `path`, made now if missing. Raises DecodeError if unreadable."""
    dest = thumb_path(cache_dir, path, edge)
    if dest.is_file():
        return dest
    bad = dest.with_suffix(".bad")
    if bad.exists():
        raise DecodeError(f"cannot make a thumbnail of {Path(path).name} (remembered failure)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        img = _render(path, edge)
    except DecodeError:
        if os.path.exists(path):
            bad.touch()
        raise
    tmp = dest.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")
    img.save(tmp, "JPEG", quality=THUMB_QUALITY)
    os.replace(tmp, dest)  # atomic: a reader never sees half a thumbnail
    return dest


def clear(cache_dir: str | Path) -> int:
    """Delete every cached thumbnail; returns how many files went."""
    root = Path(cache_dir) / "thumbs"
    n = 0
    for p in root.rglob("*"):
        if p.is_file():
            p.unlink(missing_ok=True)
            n += 1
    return n
