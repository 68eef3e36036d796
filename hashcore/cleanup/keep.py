"""Keep rules: which copy of a duplicate group to keep, and so which ones to remove.

A file under a protected (reference) folder is never proposed for removal. When the rule's
favourite is not protected but another copy is, the protected copy is kept instead.

The default rule, "best", looks for the original: it reads the few files of a group when it
decides (headers and a small view always; full pixels only when members differ in size), because
a bigger file is not a better one when it is an upscale of a smaller copy or the photo padded
into a larger frame. Every plan carries a short reason.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import ExifTags, Image, ImageOps

RULES = ("best", "resolution", "size", "oldest", "newest", "folder")
DEFAULT_RULE = "best"
RULE_TEXT = {"best": "the best copy", "resolution": "highest resolution", "size": "largest file",
             "oldest": "oldest", "newest": "newest", "folder": "in the preferred folder"}

# Upscale test (see upscale_evidence): the bigger copy's detail above the smaller copy's Nyquist
# frequency, over that of the smaller copy upscaled. Measured on 36 real photos (mate, plasma,
# palapeli, samples; 180 cases each): upscales of 1.25-2x (bicubic, Lanczos, bilinear; JPEG q75-95)
# score 0.8-8.5 (87% below 3.0; the rest are very soft photos), a real original against its own
# downscaled copy 2.8-1200 (1% below 3.0). Below the threshold: upscaled. (/tmp/p4/m3.py in the
# issue-14 notes; a wrongly flagged original would lose to its smaller copy, hence the margin.)
UPSCALE_MAX_ENERGY = 3.0
ALIGNED_MIN_CORRELATION = 0.9  # below: the smaller copy is not a rescale of the bigger (a crop)
MIN_SCALE = 1.1  # members closer in size than this are not tested for upscaling
CROP = 1024  # the test looks at a central crop this size (in the bigger copy's pixels)
FRAMED_LARGER = 2.0  # a screenshot is kept over the photo only with more than this many times its pixels
SAME_RESOLUTION = 0.8  # effective pixels within this share of the best count as the same
QUALITY_SLACK = 10  # JPEG quality points within which copies count as equally compressed
BPP_SLACK = 0.6  # same format and size: fewer bytes per pixel than this share is more compressed

# libjpeg's standard luminance table (ITU T.81 K.1, natural order, as Pillow reports tables);
# quality tables are scaled from it.
_STD_LUMA = np.array((16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40,
                      57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35,
                      55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112,
                      100, 103, 99), np.float64)
_LOSSLESS = frozenset({"PNG", "TIFF", "BMP", "PPM"})


class Plan(tuple):
    """(keep id, remove ids) of one group, compared and unpacked like a pair; `.reason` says why."""

    reason: str

    def __new__(cls, keep: int, remove: list[int], reason: str = "") -> Plan:
        plan = super().__new__(cls, (keep, remove))
        plan.reason = reason
        return plan

    def __getnewargs__(self) -> tuple[Any, ...]:
        return (self[0], self[1], self.reason)


def _date(row: dict[str, Any]) -> str:
    """Sortable date: EXIF date taken when present (YYYY:MM:DD HH:MM:SS sorts as text), else mtime."""
    if row.get("taken_at"):
        return str(row["taken_at"])
    return time.strftime("%Y:%m:%d %H:%M:%S", time.localtime(row.get("mtime") or 0))


def _pixels(r: dict[str, Any]) -> int:
    return (r.get("width") or 0) * (r.get("height") or 0)


def _key(rule: str, preferred: str | None) -> Callable[[dict[str, Any]], tuple]:
    if rule == "resolution":
        return lambda r: (-_pixels(r), -r["size"], r["path"])
    if rule == "size":
        return lambda r: (-r["size"], -_pixels(r), r["path"])
    if rule == "oldest":
        return lambda r: (_date(r), r["path"])
    if rule == "newest":
        return lambda r: (tuple(-ord(ch) for ch in _date(r)), r["path"])
    if rule == "folder":
        if not preferred:
            raise ValueError("the 'folder' keep rule needs a preferred folder")
        pref = os.path.join(os.path.abspath(preferred), "")
        return lambda r: (not r["path"].startswith(pref), -_pixels(r), -r["size"], r["path"])
    raise ValueError(f"unknown keep rule {rule!r}; choose one of {', '.join(RULES)}")


def is_protected(path: str, protected_roots: list[str]) -> bool:
    return any(path.startswith(os.path.join(root, "")) for root in protected_roots)


def choose_removals(rows: list[dict[str, Any]], rule: str, protected_roots: list[str],
                    preferred: str | None = None) -> Plan:
    """(id to keep, ids to remove) for one group of image rows, with the reason."""
    if rule == "best":
        ranked, reason = best_copy(rows)
    else:
        ranked = sorted(rows, key=_key(rule, preferred))
        reason = RULE_TEXT[rule]
    keep = ranked[0]
    guarded = [r for r in ranked if is_protected(r["path"], protected_roots)]
    if guarded and keep not in guarded:
        keep, reason = guarded[0], "in a protected folder"
    remove = [r["id"] for r in ranked if r is not keep and not is_protected(r["path"], protected_roots)]
    return Plan(keep["id"], remove, f"keep {_name(keep)}: {reason}")


# -- the "best copy" rule ----------------------------------------------------------------------
@dataclass(eq=False)
class Facts:
    """What the best-copy rule knows of one member of a group."""

    row: dict[str, Any]
    quality: float | None  # JPEG quality estimate; 100 for lossless formats; None unknown
    fmt: str
    camera: bool  # camera EXIF: Make, Model or DateTimeOriginal
    upscale: float = 1.0  # estimated upscale factor against a smaller member (1: none found)
    content: float = 1.0  # share of the frame that is photo, not flat bars (a letterbox, a border) or an app
    framed: bool = False  # the file shows the photo inside an app's page (a screenshot: ingest/frame.py)

    @property
    def effective_pixels(self) -> float:
        return _pixels(self.row) * self.content / self.upscale ** 2

    @property
    def bpp(self) -> float:
        return self.row["size"] / max(_pixels(self.row), 1)


def best_copy(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    """Rows best first, and why the first: a cascade of filters, each dropping the members that
    are clearly worse on one signal (the resolution the pixels really hold, not upscaled, least
    compressed, camera EXIF, oldest); ties go on to the next signal, then to name order."""
    facts = [_facts(r) for r in sorted(rows, key=lambda r: r["path"])]
    _mark_upscales(facts)
    left, reasons, dropped = facts, [], []
    for step in (_by_frame, _by_resolution, _by_upscale, _by_quality, _by_bpp, _by_camera, _by_date):
        kept, why = step(left)
        if why and len(kept) < len(left):
            reasons.append(why)
            dropped += [f for f in left if f not in kept]
            left = kept
    return [f.row for f in left + dropped[::-1]], ", ".join(reasons) or "all copies alike; kept the first by name"


def _facts(row: dict[str, Any]) -> Facts:
    quality, fmt, camera = _header_facts(row["path"], row.get("size"), row.get("mtime"))
    content, framed = _content_share(row["path"], row.get("size"), row.get("mtime"))
    return Facts(row, quality, fmt, camera, content=content, framed=framed)


@functools.lru_cache(maxsize=4096)
def _content_share(path: str, size: int | None, mtime: float | None) -> tuple[float, bool]:
    """(share, framed): the share of a file's frame that is the photo, and whether the file shows
    it inside a page (a photo box was found). The share left once flat bands of one shade along its edges are trimmed
    (hashcore.search.dcthash.trim_borders, on a view of at most 256 px), or the photo box of a
    framed file (hashcore.ingest.frame: the photo in a screenshot of an app), whichever is less: a
    letterboxed, bordered or screenshotted copy holds no more of the photo than its original,
    whatever its pixel count. (1.0, False) where the file cannot be read."""
    from hashcore.errors import DecodeError
    from hashcore.ingest.decode import decode_file
    from hashcore.ingest.frame import photo_box
    from hashcore.search.dcthash import trim_borders

    try:
        img = decode_file(path, target=256).image
    except DecodeError:
        return 1.0, False
    grey = np.asarray(img.convert("L"), np.float32)
    share = trim_borders(grey).size / max(grey.size, 1)
    box = photo_box(img)
    if box is not None:
        share = min(share, (box[2] - box[0]) * (box[3] - box[1]))
    return share, box is not None


@functools.lru_cache(maxsize=4096)
def _header_facts(path: str, size: int | None, mtime: float | None) -> tuple[float | None, str, bool]:
    """(quality, format, camera EXIF) from a file's header, without decoding pixels. The size and
    mtime are part of the cache key, so a changed file is read again."""
    try:
        img = Image.open(path)
    except OSError:  # gone or unreadable since indexing: nothing known, the other signals decide
        return None, "", False
    with img:
        fmt = img.format or ""
        quality = 100.0 if fmt in _LOSSLESS else None
        tables = getattr(img, "quantization", None)  # JPEG only: its quantization tables
        if fmt == "JPEG" and tables:
            quality = jpeg_quality(tables)
        exif = img.getexif()
        sub = exif.get_ifd(ExifTags.IFD.Exif) if exif else {}
        camera = any(str(v).strip("\x00 ") for v in (exif.get(ExifTags.Base.Make), exif.get(ExifTags.Base.Model),
                                                      sub.get(ExifTags.Base.DateTimeOriginal)) if v)
    return quality, fmt, camera


def jpeg_quality(tables: dict[int, Any]) -> float:
    """The libjpeg quality (1-100) a luminance quantisation table was scaled for: libjpeg scales
    the standard table by S = 5000/q (q < 50) or 200 - 2q percent, clamped to 1..255 (entries at
    the clamps say nothing and are left out); cameras' own tables land near the quality they
    resemble."""
    luma = np.asarray(list(tables[min(tables)]), np.float64)
    free = (luma > 1) & (luma < 255)
    if not free.any():
        return 100.0 if luma.max() <= 1 else 1.0
    scale = 100.0 * float(np.median(luma[free] / _STD_LUMA[free]))
    quality = 5000.0 / scale if scale > 100 else (200.0 - scale) / 2
    return float(min(max(quality, 1.0), 100.0))


def _mark_upscales(facts: list[Facts]) -> None:
    """Set `upscale` on members whose extra pixels hold no detail beyond a smaller member's (the
    largest such factor). Pixels are decoded only for members of different sizes, once each."""
    greys: dict[str, Image.Image | None] = {}

    def grey(row: dict[str, Any]) -> Image.Image | None:
        if row["path"] not in greys:
            greys[row["path"]] = _grey(row["path"])
        return greys[row["path"]]

    for big in facts:
        for small in sorted(facts, key=lambda f: _pixels(f.row)):
            scale = (_pixels(big.row) / max(_pixels(small.row), 1)) ** 0.5
            if scale < MIN_SCALE or not _same_shape(big.row, small.row):
                continue
            key = tuple((r["path"], r.get("size"), r.get("mtime")) for r in (big.row, small.row))
            if key not in _EVIDENCE:
                if len(_EVIDENCE) > 10_000:
                    _EVIDENCE.clear()
                _EVIDENCE[key] = upscale_evidence(grey(big.row), grey(small.row))
            if _EVIDENCE[key] < UPSCALE_MAX_ENERGY:
                big.upscale = scale
                break


_EVIDENCE: dict[tuple, float] = {}  # (big, small) file keys -> upscale_evidence, for re-planning


def _same_shape(a: dict[str, Any], b: dict[str, Any]) -> bool:
    ra = (a.get("width") or 1) / (a.get("height") or 1)
    rb = (b.get("width") or 1) / (b.get("height") or 1)
    return abs(ra / rb - 1) < 0.02


def upscale_evidence(big: Image.Image | None, small: Image.Image | None) -> float:
    """Detail of grey image `big` above `small`'s Nyquist frequency, over the same measure for
    `small` upscaled to `big`'s size (on a central crop). An upscale of `small` holds little more
    there than an interpolation of it (ratio ~1-3); a real higher-resolution original holds the
    detail the smaller copy lost (ratio > 4 on real photos). Infinite when either is unknown."""
    if big is None or small is None:
        return float("inf")
    scale_x, scale_y = big.width / small.width, big.height / small.height
    cw, ch = _aligned(min(CROP, big.width), scale_x), _aligned(min(CROP, big.height), scale_y)
    left, top = _aligned((big.width - cw) // 2, scale_x), _aligned((big.height - ch) // 2, scale_y)
    crop_big = big.crop((left, top, left + cw, top + ch))
    crop_up = small.resize((cw, ch), Image.Resampling.BICUBIC,
                           box=(left / scale_x, top / scale_y, (left + cw) / scale_x, (top + ch) / scale_y))
    low = (max(1, round(cw / scale_x)), max(1, round(ch / scale_y)))
    if not _aligned_views(crop_big, crop_up, low):
        return float("inf")  # not the same pixels scaled (a crop, a shifted frame): no upscale of it
    return _detail_above(crop_big, low) / max(_detail_above(crop_up, low), 1e-6)


def _aligned_views(a: Image.Image, b: Image.Image, size: tuple[int, int]) -> bool:
    """Whether two same-size views show the same pixels: their low-resolution versions correlate
    (a 90% crop of a photo, compared as if it were a downscale of it, does not)."""
    x = np.asarray(a.resize(size, Image.Resampling.BOX), np.float64).ravel()
    y = np.asarray(b.resize(size, Image.Resampling.BOX), np.float64).ravel()
    if x.std() < 1e-6 or y.std() < 1e-6:
        return True  # flat images: nothing to tell them apart by
    return float(np.corrcoef(x, y)[0, 1]) >= ALIGNED_MIN_CORRELATION


def _aligned(n: int, scale: float) -> int:
    """A length at most `n` that is (nearly) a whole number of the smaller copy's pixels too, for
    crop offsets and sizes: round trips through a grid out of phase with an upscale's source lose
    detail that an aligned one keeps, and an upscale would then look like an original."""
    if n < 1:
        return 0
    ks = np.arange(max(0, int(n / scale) - 256), int(n / scale) + 1)
    off = np.abs(ks * scale - np.round(ks * scale))
    best = ks[int(np.argmin(off - 1e-6 * ks))]  # the most aligned; among equals the longest
    return min(int(round(best * scale)), n)


def _detail_above(g: Image.Image, low: tuple[int, int]) -> float:
    """Mean energy lost by a round trip through size `low`: the detail above its Nyquist."""
    back = g.resize(low, Image.Resampling.LANCZOS).resize(g.size, Image.Resampling.BICUBIC)
    diff = np.asarray(g, np.float32) - np.asarray(back, np.float32)
    return float(np.mean(diff * diff))


def _grey(path: str) -> Image.Image | None:
    """The full-resolution grey image, upright (as a row's width and height are)."""
    import hashcore.ingest.decode  # noqa: F401 - registers the HEIF opener

    try:
        with Image.open(path) as img:
            return (ImageOps.exif_transpose(img) or img).convert("L")
    except (OSError, ValueError):  # unreadable now (or a bogus orientation): no evidence either way
        return None


def _name(f: Facts | dict[str, Any]) -> str:
    row = f.row if isinstance(f, Facts) else f
    return os.path.basename(row["path"])


def _names(dropped: list[Facts]) -> str:
    if len(dropped) > 2:
        return f"{len(dropped)} others"
    return " and ".join(_name(f) for f in dropped)


def _split(left: list[Facts], good: Callable[[Facts], bool]) -> tuple[list[Facts], list[Facts]]:
    kept = [f for f in left if good(f)]
    return kept, [f for f in left if f not in kept]


def _by_resolution(left: list[Facts]) -> tuple[list[Facts], str]:
    best = max(f.effective_pixels for f in left)
    kept, dropped = _split(left, lambda f: f.effective_pixels >= SAME_RESOLUTION * best)
    return kept, f"highest resolution ({_names(dropped)} smaller)" if dropped else ""


def _by_frame(left: list[Facts]) -> tuple[list[Facts], str]:
    """The photo itself before a copy that shows it on an app's page (a screenshot), unless the
    page shows it with more than twice the photo's pixels (an app shows a photo at the screen's
    size: a larger one is usually an upscale). (Bars and borders are not counted here: a photo
    with a plain sky along its top edge trims like one.)"""
    plain = max((f.effective_pixels for f in left if not f.framed), default=0.0)
    kept, dropped = _split(left, lambda f: not f.framed or f.effective_pixels > FRAMED_LARGER * plain)
    if not kept or not dropped:
        return left, ""
    return kept, f"the photo itself ({_names(dropped)} shows it on a page: a screenshot)"


def _by_upscale(left: list[Facts]) -> tuple[list[Facts], str]:
    kept, dropped = _split(left, lambda f: f.upscale == 1.0)
    if not kept or not dropped:
        return left, ""
    factors = " / ".join(sorted({f"{f.upscale:.1f}x" for f in dropped}))
    return kept, f"original resolution ({_names(dropped)} upscaled {factors})"


def _by_quality(left: list[Facts]) -> tuple[list[Facts], str]:
    known = [f.quality for f in left if f.quality is not None]
    if not known:
        return left, ""
    best = max(known)
    kept, dropped = _split(left, lambda f: f.quality is None or f.quality >= best - QUALITY_SLACK)
    if not dropped:
        return left, ""
    worst = min(f.quality or 0 for f in dropped)
    return kept, f"least compressed ({_names(dropped)} JPEG quality ~{worst:.0f})"


def _by_bpp(left: list[Facts]) -> tuple[list[Facts], str]:
    def denser_twin(f: Facts) -> bool:
        return any(g.fmt == f.fmt and _pixels(g.row) == _pixels(f.row) and f.bpp < BPP_SLACK * g.bpp for g in left)

    kept, dropped = _split(left, lambda f: not denser_twin(f))
    if not dropped or not kept:
        return left, ""
    return kept, f"least compressed ({_names(dropped)} a smaller file for the same pixels)"


def _by_camera(left: list[Facts]) -> tuple[list[Facts], str]:
    kept, dropped = _split(left, lambda f: f.camera)
    if not kept or not dropped:
        return left, ""
    return kept, f"camera EXIF ({_names(dropped)} without)"


def _by_date(left: list[Facts]) -> tuple[list[Facts], str]:
    oldest = min(_date(f.row) for f in left)
    kept, dropped = _split(left, lambda f: _date(f.row) == oldest)
    return kept, f"oldest ({_names(dropped)} newer)" if dropped else ""
