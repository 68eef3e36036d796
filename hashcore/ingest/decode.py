"""Reading photos safely: one read of the bytes gives the content hash and the decoded image.

EXIF orientation is applied, JPEGs are decoded in draft mode near the size the backbone needs,
and anything Pillow cannot read (or that declares an absurd size) becomes a DecodeError with a
reason a person can act on.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from hashcore.errors import DecodeError

try:  # HEIC/HEIF support is optional at run time; without it those files are reported, not fatal
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_AVAILABLE = True
except ImportError:  # pragma: no cover - depends on the install
    HEIF_AVAILABLE = False

EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp",
                        ".gif", ".heic", ".heif"})
MAX_PIXELS = 200_000_000  # 200 MP: larger than any camera, smaller than a decompression bomb
MAX_FILE_BYTES = 512 * 1024 * 1024
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


@dataclass(frozen=True)
class Photo:
    """A decoded photo (RGB, reduced to about `target` px) and its facts."""

    image: Image.Image
    content_hash: str
    width: int
    height: int
    format: str
    taken_at: str | None
    camera: str | None
    box: tuple[float, float, float, float] | None = None  # the photo inside a framed file (ingest/frame.py)


def is_photo_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in EXTENSIONS


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def read_bytes(path: str | Path) -> bytes:
    try:
        size = os.path.getsize(path)
        if size == 0:
            raise DecodeError("empty file (0 bytes)")
        if size > MAX_FILE_BYTES:
            raise DecodeError(f"file too large ({size // (1 << 20)} MB)")
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError as exc:
        raise DecodeError("file vanished before it could be read") from exc
    except PermissionError as exc:
        raise DecodeError("permission denied") from exc
    except IsADirectoryError as exc:
        raise DecodeError("is a directory") from exc
    except OSError as exc:
        raise DecodeError(f"cannot read file: {exc.strerror or exc}") from exc


def _exif_facts(img: Image.Image) -> tuple[str | None, str | None, bool]:
    """Date taken, camera, and whether the EXIF orientation turns the photo on its side."""
    try:
        exif = img.getexif()
    except Exception:  # broken EXIF must not cost the photo
        return None, None, False
    sub = exif.get_ifd(ExifTags.IFD.Exif) if exif else {}
    taken = sub.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
    make = str(exif.get(ExifTags.Base.Make, "") or "").strip("\x00 ")
    model = str(exif.get(ExifTags.Base.Model, "") or "").strip("\x00 ")
    camera = model if make and model.startswith(make) else f"{make} {model}".strip()
    swaps = exif.get(ExifTags.Base.Orientation) in (5, 6, 7, 8)
    return (str(taken).strip("\x00 ") or None) if taken else None, camera or None, swaps


def decode_bytes(data: bytes, target: int = 224) -> Photo:
    """Decode image bytes; raise DecodeError with a clear reason on any failure."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img: Image.Image = Image.open(io.BytesIO(data))
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise DecodeError(f"image declares {width}x{height} pixels, more than HashLens decodes "
                                  "(refused as a possible decompression bomb)")
            fmt = img.format or "unknown"
            taken, camera, swaps = _exif_facts(img)
            if fmt == "JPEG":
                img.draft("RGB", (target * 2, target * 2))
            img.seek(0)
            img.load()
            img = _orient(img)
            rgb = _to_rgb(img)
        except DecodeError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise DecodeError(f"image declares more than {MAX_PIXELS // 1_000_000} MP; refused as a possible "
                              f"decompression bomb ({exc})") from exc
        except UnidentifiedImageError as exc:
            if not HEIF_AVAILABLE and data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc"):
                raise DecodeError("HEIC/HEIF photo, but HEIF support (pillow-heif) is not installed") from exc
            raise DecodeError("not an image file Pillow can read (unknown or corrupt format)") from exc
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
            raise DecodeError(f"corrupt or truncated image: {exc}") from exc
        except MemoryError as exc:
            raise DecodeError("image too large to decode in memory") from exc
    rgb.thumbnail((target * 2, target * 2), Image.Resampling.BILINEAR)
    if swaps:
        width, height = height, width
    return Photo(rgb, content_hash(data), width, height, fmt, taken, camera)


def _orient(img: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(img) or img
    except Exception:  # a bogus orientation value: keep the pixels as stored
        return img


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        return img.point(lambda v: v / 256).convert("L").convert("RGB")
    return img.convert("RGB")


def decode_file(path: str | Path, target: int = 224) -> Photo:
    return decode_bytes(read_bytes(path), target)


def open_full(path: str | Path) -> Image.Image:
    """Full-resolution, oriented RGB image for previews and comparison views."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(path)
            img.load()
            return _to_rgb(_orient(img))
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError,
                Image.DecompressionBombWarning) as exc:
            raise DecodeError(f"cannot open {Path(path).name}: {exc}") from exc
