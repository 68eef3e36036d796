"""The photo inside a frame: a screenshot of a photo in an app, a photo on a page or a card.

A copy-detection embedding sees the whole file. Where a photo fills half of a screenshot, the
app's bars, avatars and text around it move the embedding so far that the copy falls outside the
copy code's candidate radius, and no later check ever sees the pair. So the indexer looks for a
photo box in each decoded file and, where it finds one, hashes the box as well (a second copy
code per framed file, hashcore/ingest/indexer.py); the duplicate finder pairs that code with the
other photos' copy codes, and the geometric check on the whole files decides.

A photo box is an axis-aligned rectangle whose sides are long straight edges: along each side,
the pixels just inside differ clearly from those just outside over nearly all of its length.
Rows and columns are scanned for long runs of such edge pixels (at WORK px), a box is formed by a
top and a bottom run of like extent and checked along its left and right sides. A side may be
the file's own edge (a screenshot cut through the photo), but at least three sides must be
found edges, so that a horizon or a shelf across a plain photo is not taken for a frame; or two,
the top and the bottom of a photo across the whole width of a phone's screen, where the bands
above and below it are quiet like an app's bars (a few lines of text, icons). The box
must cover MIN_AREA..MAX_AREA of the file: a thin border or letterbox leaves the photo nearly
whole, and the copy embedding already sees through it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

VERSION = 1  # of the detector: boxes found by another version are looked for again
WORK = 256  # longest side the edges are looked for at
STEP = 24.0  # grey-level difference (largest of R, G, B) across an edge
RUN = 0.3  # an edge run spans at least this share of the file's width (rows) or height (columns)
GAP = 3  # pixels of weak edge a run may bridge (a JPEG block, an icon touching the box)
COVER = 0.85  # share of a box side that must lie on strong edge
TOL = 0.03  # share of the side by which the ends of two runs of one box may differ
APART = 3  # lines away from a side at which ...
QUIET = 0.3  # ... at most this share of the run's length is on strong edge, on one side at least
BAND = 0.05  # a photo across the whole width of a phone screenshot: the bars above and below it
BAND_BUSY = 0.06  # are at least this share of the height each, and this quiet (`_quiet_bands`)
MIN_AREA = 0.15
MAX_AREA = 0.85


def _strong(d: np.ndarray) -> np.ndarray:
    """Where a difference image (h, w, 3) reaches STEP in any channel (elementwise over the
    channels: a reduction along the last axis is several times slower)."""
    d = np.abs(d)
    return np.maximum(np.maximum(d[..., 0], d[..., 1]), d[..., 2]) >= STEP


def _runs(strong: np.ndarray, min_len: int) -> list[tuple[int, int, int]]:
    """(line, start, end) of every run of True along each row of `strong` (gaps up to GAP bridged)
    at least min_len long; end exclusive."""
    out: list[tuple[int, int, int]] = []
    for y in np.flatnonzero(strong.sum(axis=1) >= min_len):
        xs = np.flatnonzero(strong[y])
        cuts = np.flatnonzero(np.diff(xs) > GAP + 1)
        starts = np.concatenate([[0], cuts + 1])
        ends = np.concatenate([cuts, [len(xs) - 1]])
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            x0, x1 = int(xs[s]), int(xs[e]) + 1
            if x1 - x0 < min_len:
                continue
            # a side, not texture: on one side of it at least, the lines nearby are mostly quiet
            near = [float(strong[yy, x0:x1].mean()) for yy in (y - APART, y + APART) if 0 <= yy < len(strong)]
            if min(near, default=0.0) < QUIET:
                out.append((int(y), x0, x1))
    return out


def _covered(strong: np.ndarray, line: int, start: int, end: int) -> float:
    """Share of positions start..end of `line` (or of a line next to it) on strong edge."""
    if end <= start:
        return 0.0
    rows = strong[max(0, line - 1):line + 2, start:end]
    return float(rows.any(axis=0).mean()) if rows.size else 0.0


def photo_box(img: Image.Image) -> tuple[float, float, float, float] | None:
    """The photo box inside a framed file, as (left, top, right, bottom) shares of its width and
    height, or None where the file shows no frame around a photo."""
    small = img.convert("RGB")
    f = WORK / max(small.size)
    if f < 1.0:
        small = small.resize((max(1, round(small.width * f)), max(1, round(small.height * f))),
                             Image.Resampling.BILINEAR)
    a = np.asarray(small, np.int16)
    h, w = a.shape[:2]
    if min(h, w) < 16:
        return None
    # edge between row y and y+1 (horizontal sides), and between column x and x+1 (vertical ones)
    hor = _strong(np.diff(a, axis=0))  # (h-1, w)
    ver = _strong(np.diff(a, axis=1)).T  # (w-1, h)
    # boxes from a top and a bottom run, and (the same search on the transposed image) from a
    # left and a right one: a white photo on a white page shows only two of its sides as runs
    found = [b for b in (_search(hor, ver, h, w), _flip(_search(ver, hor, w, h))) if b is not None]
    if not found:
        return None
    x0, y0, x1, y1 = max(found)[1]
    return x0 / w, y0 / h, x1 / w, y1 / h


def _flip(b: tuple[tuple[int, int], tuple[int, int, int, int]] | None
          ) -> tuple[tuple[int, int], tuple[int, int, int, int]] | None:
    return None if b is None else (b[0], (b[1][1], b[1][0], b[1][3], b[1][2]))


def _search(hor: np.ndarray, ver: np.ndarray, h: int, w: int
            ) -> tuple[tuple[int, int], tuple[int, int, int, int]] | None:
    """The best box ((found sides, area), (x0, y0, x1, y1)) whose top and bottom sides are runs
    along the rows of `hor` (edges between rows, (h-1, w)); its left and right sides are checked
    along `ver` (edges between columns, (w-1, h))."""
    rows = _runs(hor, round(RUN * w))
    if not rows:
        return None
    tol_x = max(2, round(TOL * w))
    # a side at the file's edge: no edge to find there, it takes the other run's extent
    tops = rows + [(-1, -1, -1)]
    bottoms = rows + [(h - 1, -1, -1)]
    best: tuple[tuple[int, int], tuple[int, int, int, int]] | None = None
    for ty, tx0, tx1 in tops:
        for by, bx0, bx1 in bottoms:
            if by - ty < 0.25 * h or (tx0 < 0 and bx0 < 0):
                continue
            if tx0 >= 0 and bx0 >= 0:
                if abs(tx0 - bx0) > tol_x or abs(tx1 - bx1) > tol_x:
                    continue
                x0, x1 = min(tx0, bx0), max(tx1, bx1)
            else:
                x0, x1 = (tx0, tx1) if tx0 >= 0 else (bx0, bx1)
            y0, y1 = ty + 1, by + 1  # the box's rows: y0 .. y1 - 1
            sides = (ty >= 0) + (by < h - 1)
            for x, at_edge in ((x0 - 1, x0 <= tol_x), (x1 - 1, x1 >= w - tol_x)):
                if at_edge:
                    continue
                if max(_covered(ver, xx, y0, y1) for xx in range(max(0, x - 1), min(w - 1, x + 2))) >= COVER:
                    sides += 1
            full = x0 <= tol_x and x1 >= w - tol_x
            if sides < 3 and not (sides == 2 and full and _quiet_bands(hor, ty, by)):
                continue
            area = (x1 - x0) * (y1 - y0)
            if not MIN_AREA * w * h <= area <= MAX_AREA * w * h:
                continue
            if best is None or (sides, area) > best[0]:  # found sides first: a side at the file's edge
                best = ((sides, area), (x0, y0, x1, y1))  # is only taken where no edge was found
    return best


def _quiet_bands(hor: np.ndarray, top: int, bottom: int) -> bool:
    """Whether the bands above the side at row `top` and below the side at row `bottom` look like
    an app's bars, not like more of a photo: each at least BAND of the file's height, and under
    BAND_BUSY of their pixels on strong edges (a few lines of text, icons)."""
    h = len(hor) + 1
    bands = (hor[:max(0, top - 1)], hor[bottom + 2:])
    return all(len(b) >= BAND * h and float(b.mean()) < BAND_BUSY for b in bands)


def crop_box(img: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    """The photo box of `img` (photo_box's shares) at the file's own resolution."""
    w, h = img.size
    return img.crop((round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h)))
