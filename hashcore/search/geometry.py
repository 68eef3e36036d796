"""Geometric verification of a candidate copy pair: local features matched under one homography.

A global descriptor (the copy embedding, a DCT hash) sees a photo as a whole, so a crop to half,
a letterbox, a screenshot of the photo in an app or a photo of the photo at an angle move it far.
Local features do not care: SIFT keypoints of the two images (OpenCV), matched with Lowe's ratio
test, then one homography fitted robustly (MAGSAC++). A copy is a pair where many matches agree on
one plane-to-plane mapping, one image's frame lies inside the other's under it (a crop lies inside
its original, an original inside its letterbox or screenshot), *and* the pixels agree once aligned
(`_agree`). Two shots of one scene (a burst) mostly overlap only in part, or disagree with one
homography because of parallax, and are refused. Where one homography does hold most matches
(scikit-image's stereo motorcycle pair), the pixels tell: aligned by it, parts of a second shot
still moved, and nothing of a copy did (`_moved`). A global descriptor cannot see that, so the
duplicate finder asks this check about the pairs it calls copies too (`Rule.two_shots`). Two
photos of one kind of subject share no geometry at all.

`Keypoints` are computed once per photo from its file (the longest side brought to SIDE pixels,
grey) and kept by the caller for the pairs it verifies. OpenCV is imported on first use only.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from hashcore.errors import DecodeError
from hashcore.search.dups import Check

VERSION = 2  # of what a Match measures: kept verdicts (Store.verdicts) of another version are ignored
SIDE = 512  # longest side the keypoints are found at
SMALL = 96  # longest side of the grey photo kept to compare pixels once aligned
GRID = 6  # cells per side in which the aligned pixels are compared
CELL_R = 0.5  # a cell agrees at this correlation
FLAT = 3.0  # grey levels of standard deviation below which a cell is flat
FEATURES = 700  # keypoints per photo, strongest first
RATIO = 0.8  # Lowe's ratio test
REPROJ = 4.0  # pixels at SIDE: a match agrees with the homography within this
MID = 256  # longest side of the grey photo kept to look for pixels that moved once aligned
MOVE_GRID = 8  # cells per side in which moved pixels are looked for
MOVE_PX = 2.0  # pixels at MID: a cell whose content lies further than this from where the homography puts it moved
MOVE_PEAK = 0.2  # phase-correlation peak a moved cell must reach (a sticker's cell has no clear peak)
MOVE_INLIERS = 30  # moved cells are looked for where at least this many matches fit the homography


@dataclass(frozen=True)
class Keypoints:
    xy: np.ndarray  # (n, 2) float32, pixel positions at the working size
    desc: np.ndarray  # (n, 128) uint8 SIFT descriptors
    size: tuple[int, int]  # (width, height) at the working size
    small: np.ndarray | None = None  # the grey photo, longest side SMALL px (float32), for `agree`
    mid: np.ndarray | None = None  # the grey photo, longest side MID px (uint8), for `_moved`


@dataclass(frozen=True)
class Match:
    inliers: int  # matches agreeing with the homography
    matches: int  # matches passing the ratio test
    inside: float  # the larger share of one image's frame lying inside the other's (0..1)
    scale: float  # area ratio the homography implies (image a to image b)
    shared: int = 0  # matches whose two ends both lie where the two frames overlap under it
    agree: float = 0.0  # share of textured cells where the aligned pixels correlate, on the better grid
    moved: float = 0.0  # share of textured cells whose content moved once aligned (`_moved`)
    cells: int = 0  # textured cells `moved` was measured on

    def numbers(self) -> list[float]:
        """Its fields in order, as kept in the library (Store.add_verdicts)."""
        return [self.inliers, self.matches, self.inside, self.scale, self.shared, self.agree, self.moved, self.cells]

    @classmethod
    def from_numbers(cls, v: list[float]) -> Match:
        return cls(int(v[0]), int(v[1]), float(v[2]), float(v[3]), int(v[4]), float(v[5]), float(v[6]), int(v[7]))

    @property
    def ratio(self) -> float:
        """Inliers among the matches in the shared part: a screenshot's app chrome or a letterbox's
        bars match at random and do not count against the photo inside them."""
        return self.inliers / self.shared if self.shared else 0.0


NO_MATCH = Match(0, 0, 0.0, 0.0)
EMPTY = Keypoints(np.zeros((0, 2), np.float32), np.zeros((0, 128), np.uint8), (0, 0))


def keypoints(img: Image.Image, side: int = SIDE, features: int = FEATURES) -> Keypoints:
    import cv2

    grey = img.convert("L")
    f = side / max(grey.size)
    if f < 1.0:
        grey = grey.resize((max(1, round(grey.width * f)), max(1, round(grey.height * f))), Image.Resampling.BILINEAR)
    arr = np.asarray(grey, np.uint8)
    sift = cv2.SIFT_create(nfeatures=features)  # type: ignore[attr-defined]  # in cv2, not in its stubs
    kps, desc = sift.detectAndCompute(arr, None)
    if desc is None or not kps:
        return Keypoints(EMPTY.xy, EMPTY.desc, grey.size)
    xy = np.array([k.pt for k in kps], np.float32)
    # SIFT's values are whole numbers in 0..255: kept as bytes (a quarter of the memory)
    return Keypoints(xy, np.clip(np.rint(desc), 0, 255).astype(np.uint8), grey.size, _small(arr).astype(np.float32),
                     _small(arr, MID))


def _small(arr: np.ndarray, side: int = SMALL) -> np.ndarray:
    import cv2

    h, w = arr.shape
    f = side / max(h, w)
    return cv2.resize(arr, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)


def _agree(a: Keypoints, b: Keypoints, h: np.ndarray) -> float:
    """The share of the overlap's textured cells (a GRID x GRID grid over b's small grey photo) in
    which b's pixels and a's, warped onto b by h, correlate (Pearson r >= CELL_R). A copy's cells
    agree once aligned, whatever its tone curve, bar those under a sticker or a caption; two
    screenshots of different photos in one app agree on the app's frame only, not on the photo."""
    import cv2

    if a.small is None or b.small is None:
        return 0.0
    sa = np.diag([a.small.shape[1] / a.size[0], a.small.shape[0] / a.size[1], 1.0])
    sb = np.diag([b.small.shape[1] / b.size[0], b.small.shape[0] / b.size[1], 1.0])
    hs = sb @ h @ np.linalg.inv(sa)
    size = (b.small.shape[1], b.small.shape[0])
    warped = cv2.warpPerspective(a.small, hs, size, flags=cv2.INTER_LINEAR)
    cover = cv2.warpPerspective(np.ones_like(a.small), hs, size, flags=cv2.INTER_NEAREST) > 0.5
    cover = cv2.erode(cover.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)  # drop the blended rim
    if min(size) < GRID:
        return 0.0
    # per-cell sums over a GRID x GRID split of the grid (np.array_split's cells), all at once
    rs = np.array([len(r) for r in np.array_split(np.arange(size[1]), GRID)])
    cs = np.array([len(c) for c in np.array_split(np.arange(size[0]), GRID)])
    r0, c0 = np.concatenate([[0], np.cumsum(rs)[:-1]]), np.concatenate([[0], np.cumsum(cs)[:-1]])
    x, y = warped.astype(np.float64), b.small.astype(np.float64)

    def cells(m: np.ndarray) -> np.ndarray:
        return np.add.reduceat(np.add.reduceat(m, r0, axis=0), c0, axis=1)

    n = np.outer(rs, cs).astype(np.float64)
    covered = cells(cover.astype(np.float64)) / n >= 0.8
    sx, sy = cells(x), cells(y)
    vx = np.maximum(cells(x * x) - sx * sx / n, 0.0)  # n times the variance
    vy = np.maximum(cells(y * y) - sy * sy / n, 0.0)
    cov = cells(x * y) - sx * sy / n
    textured = covered & (np.sqrt(np.minimum(vx, vy)) >= FLAT * np.sqrt(n))  # flat cells (sky, a wall) say nothing
    if textured.sum() < 4:
        return 0.0
    r = cov[textured] / np.sqrt(vx[textured] * vy[textured])
    return float((r >= CELL_R).mean())


def _moved(a: Keypoints, b: Keypoints, h: np.ndarray, where: np.ndarray) -> tuple[float, int]:
    """(share, cells): of the textured cells of a MOVE_GRID x MOVE_GRID grid over b's MID-px grey
    photo that a's pixels, warped onto b by h, cover and whose centre lies in the convex hull of
    the matches (`where`, b's ends at the working size, inliers or not: the part the two share,
    not a letterbox's bars or a screenshot's app around it), the share whose content lies more than
    MOVE_PX from where h puts it (phase correlation per cell, with a clear peak), or from where
    one homography fitted to the cells' own shifts puts it, whichever counts fewer. A copy is one
    picture: once aligned, nothing moved, whatever its tone, blur or noise (see Rule). Two shots of
    one scene are not: the subject moved, or nearer things shifted against farther ones
    (parallax)."""
    import cv2

    if a.mid is None or b.mid is None:
        return 0.0, 0
    sa = np.diag([a.mid.shape[1] / a.size[0], a.mid.shape[0] / a.size[1], 1.0])
    sb = np.diag([b.mid.shape[1] / b.size[0], b.mid.shape[0] / b.size[1], 1.0])
    hs = sb @ h @ np.linalg.inv(sa)
    size = (b.mid.shape[1], b.mid.shape[0])
    src = a.mid.astype(np.float32)
    warped = cv2.warpPerspective(src, hs, size, flags=cv2.INTER_LINEAR)
    cover = cv2.warpPerspective(np.ones_like(src), hs, size, flags=cv2.INTER_NEAREST)
    ch, cw = size[1] // MOVE_GRID, size[0] // MOVE_GRID
    if ch < 12 or cw < 12:
        return 0.0, 0

    def split(img: np.ndarray) -> np.ndarray:  # (cells, ch, cw), row by row
        return img[:ch * MOVE_GRID, :cw * MOVE_GRID].reshape(MOVE_GRID, ch, MOVE_GRID, cw).swapaxes(1, 2).reshape(-1, ch, cw)

    pa, pb = split(warped), split(b.mid.astype(np.float32))
    textured = (split(cover).mean(axis=(1, 2)) >= 0.95) & (np.minimum(pa.std(axis=(1, 2)), pb.std(axis=(1, 2))) >= 2 * FLAT)
    hull = cv2.convexHull((where * [sb[0, 0], sb[1, 1]]).astype(np.float32))
    grid = np.arange(MOVE_GRID * MOVE_GRID)
    centres = np.stack([grid % MOVE_GRID * cw + cw / 2, grid // MOVE_GRID * ch + ch / 2], axis=1)
    textured &= np.array([cv2.pointPolygonTest(hull, (float(x), float(y)), False) >= 0 for x, y in centres])
    cells = int(textured.sum())  # flat cells (sky, a wall) have nothing to place
    at = np.flatnonzero(textured)
    shift, peak = _phase(pa[at], pb[at], cv2.createHanningWindow((cw, ch), cv2.CV_32F))
    clear = peak >= MOVE_PEAK
    found = np.hstack([centres[at], shift])[clear]  # (x, y) of a cell's centre, its shift: cells with a clear peak
    if not cells:
        return 0.0, 0
    if len(found) < 8:
        return 0.0, cells
    at = found.astype(np.float32)
    moved = int((np.hypot(at[:, 2], at[:, 3]) > MOVE_PX).sum())
    # the keypoints' homography can be off by a smooth warp; the cells' own shifts under one
    # homography (robustly, 1 px) take that out: the cells that still moved, if fewer, count
    fit, _ = cv2.findHomography(at[:, :2], at[:, :2] + at[:, 2:], cv2.USAC_DEFAULT, 1.0)
    if fit is not None:
        rest = at[:, :2] + at[:, 2:] - cv2.perspectiveTransform(at[None, :, :2], fit)[0]
        moved = min(moved, int((np.hypot(rest[:, 0], rest[:, 1]) > MOVE_PX).sum()))
    return moved / cells, cells


def _phase(pa: np.ndarray, pb: np.ndarray, window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Phase correlation of each pair of equal-sized patches at once, as cv2.phaseCorrelate does
    one pair (mean removed, Hann window, zero-padded to its DFT size; the peak's 5x5 weighted
    centroid): ((n, 2) shifts in pixels, (n,) peak strengths, 1 for a pure shift)."""
    import cv2

    n, h, w = pa.shape
    if not n:
        return np.zeros((0, 2)), np.zeros(0)
    size = (cv2.getOptimalDFTSize(h), cv2.getOptimalDFTSize(w))
    x = (pa - pa.mean(axis=(1, 2), keepdims=True)) * window
    y = (pb - pb.mean(axis=(1, 2), keepdims=True)) * window
    from scipy import fft  # float32 transforms (NumPy's take float64 only)

    cross = fft.rfft2(x, s=size) * np.conj(fft.rfft2(y, s=size))
    surface = np.fft.fftshift(fft.irfft2(cross / np.maximum(np.abs(cross), 1e-12), s=size), axes=(1, 2))
    top = surface.reshape(n, -1).argmax(axis=1)
    py, px = np.divmod(top, size[1])
    offs = np.arange(-2, 3)
    rows = np.clip(py[:, None] + offs, 0, size[0] - 1)  # the 5x5 window, clipped at the border
    cols = np.clip(px[:, None] + offs, 0, size[1] - 1)
    inside_r = (py[:, None] + offs >= 0) & (py[:, None] + offs < size[0])
    inside_c = (px[:, None] + offs >= 0) & (px[:, None] + offs < size[1])
    patch = surface[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    patch = patch * (inside_r[:, :, None] & inside_c[:, None, :])
    total = patch.sum(axis=(1, 2))
    safe = np.where(np.abs(total) > 1e-12, total, 1.0)
    cy = (patch.sum(axis=2) * (py[:, None] + offs)).sum(axis=1) / safe
    cx = (patch.sum(axis=1) * (px[:, None] + offs)).sum(axis=1) / safe
    return np.stack([size[1] / 2 - cx, size[0] / 2 - cy], axis=1), total


def _quad(size: tuple[int, int]) -> np.ndarray:
    w, h = size
    return np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)


def _inside(h: np.ndarray, src: tuple[int, int], dst: tuple[int, int]) -> float:
    """Share of src's frame, mapped by h, that lies within dst's frame."""
    import cv2

    quad = cv2.perspectiveTransform(_quad(src)[None], h)[0]
    area = abs(cv2.contourArea(quad))
    if not np.isfinite(area) or area <= 1e-6 or not cv2.isContourConvex(quad.astype(np.float32)):
        return 0.0
    inter, _ = cv2.intersectConvexConvex(quad.astype(np.float32), _quad(dst))
    return float(inter / area)


def match(a: Keypoints, b: Keypoints) -> Match:
    import cv2

    if len(a.xy) < 8 or len(b.xy) < 8:
        return NO_MATCH
    matcher = cv2.BFMatcher(cv2.NORM_L2)
    knn = matcher.knnMatch(a.desc.astype(np.float32), b.desc.astype(np.float32), k=2)
    good = [m[0] for m in knn if len(m) == 2 and m[0].distance < RATIO * m[1].distance]
    if len(good) < 8:
        return Match(0, len(good), 0.0, 0.0)
    src = a.xy[[m.queryIdx for m in good]]
    dst = b.xy[[m.trainIdx for m in good]]
    h, mask = cv2.findHomography(src, dst, cv2.USAC_MAGSAC, REPROJ)
    if h is None or mask is None:
        return Match(0, len(good), 0.0, 0.0)
    keep = mask.ravel().astype(bool)
    det = float(np.linalg.det(h[:2, :2]))
    if not np.isfinite(det) or det <= 1e-4 or det > 1e4:
        return Match(0, len(good), 0.0, 0.0)
    try:
        hinv = np.linalg.inv(h)
    except np.linalg.LinAlgError:
        return Match(0, len(good), 0.0, 0.0)
    inside = max(_inside(h, a.size, b.size), _inside(hinv, b.size, a.size))
    to_b = cv2.perspectiveTransform(src[None], h)[0]
    to_a = cv2.perspectiveTransform(dst[None], hinv)[0]
    shared = _within(to_b, b.size) & _within(to_a, a.size)
    # on the grid of whichever photo gives more cells (the photo, not the screenshot it sits in);
    # only where enough keypoints pin the homography down (Rule.two_shots reads it no further)
    moved = (0.0, 0)
    if keep.sum() >= MOVE_INLIERS:
        part = shared | keep
        moved = max(_moved(a, b, h, dst[part]), _moved(b, a, hinv, src[part]), key=lambda m: (m[1], -m[0]))
    return Match(int(keep.sum()), len(good), inside, det, int((shared | keep).sum()),
                 max(_agree(a, b, h), _agree(b, a, hinv)), *moved)  # agree: the better of the two grids


def pair_key(a: str, b: str) -> tuple[str, str]:
    """The key of a verdict between the files of content hashes a and b (in either order)."""
    return (a, b) if a <= b else (b, a)


def _within(xy: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.isfinite(xy).all(axis=1) & (xy[:, 0] >= 0) & (xy[:, 1] >= 0) & (xy[:, 0] <= size[0]) & (xy[:, 1] <= size[1])


@dataclass(frozen=True)
class Rule:
    """When a match shows shared content: at least `inliers` matches agree with one homography,
    they are at least `ratio` of the matches in the shared part, its area scale lies within
    1/`max_scale` .. `max_scale`, the frames overlap by at least `overlap`, and at least
    `kin_agree` of the textured cells correlate once aligned. A copy, besides: at least `agree`
    of the cells correlate and one frame lies `inside` the other. "Different photos": at least
    `evidence` matches in the shared part, under `different` of them inliers.

    Chosen on the training pool of bench/eval_dups.py (80 photos, 880 files; docs/results_dups.md):
    a copy's `agree` 0.8 keeps 96.5% of the photo-copy pairs and 4 of the 721 other pairs in the
    copy head's zone of doubt (all screenshots of different photos in one app, whose frame
    matches); `kin_agree` 0.5 is for two members of one group, each already a verified copy of
    another member; `different` 0.3 refuses 1 of its 4,400 pairs of one photo's files. `moved`
    0.25: of those 4,400 pairs, the 3,824 with at least MOVE_INLIERS inliers and 8 cells measured
    had at most 15% of their cells moved (99.5% under 7.4%), and none is called two shots; with
    fewer inliers the homography is too loose to tell (up to 41% moved), so no pair is called two
    shots there. The only real second shots at hand are the held-out pool's (bench/photos.py
    SCENES), so no threshold was chosen on them; scikit-image's stereo motorcycle pair has 27%.
    `unlike` (two photos of one layout): of the training pool's 4,400 pairs of one photo's files,
    it refuses 1 (a screenshot against a caption-and-screenshot copy of it: 24 of 49 matches on the
    homography, 67% of its cells agreeing); at (agree 0.75, ratio 0.6) 3, at (0.8, 0.6) 7; of the
    3,146 pairs of files of two photos of one kind of subject there, 1."""

    inliers: int = 10
    ratio: float = 0.5
    agree: float = 0.8
    kin_agree: float = 0.5
    inside: float = 0.9
    overlap: float = 0.2
    max_scale: float = 50.0
    evidence: int = 15
    different: float = 0.3
    moved: float = 0.25
    moved_cells: int = 8
    shot_scale: float = 1.25
    unlike_inliers: int = 8
    unlike_ratio: float = 0.6
    unlike_agree: float = 0.7
    unlike_scale: float = 1.5

    def same_content(self, m: Match) -> bool:
        return (m.inliers >= self.inliers and m.ratio >= self.ratio and m.agree >= self.kin_agree
                and m.inside >= self.overlap and 1.0 / self.max_scale <= m.scale <= self.max_scale
                and not self.refutes(m))

    def two_shots(self, m: Match) -> bool:
        """Two shots of one scene (a burst, a stereo pair): framed alike (one frame `inside` the
        other, areas within `shot_scale` of each other) and one homography holds many of the
        matches, yet once aligned at least `moved` of at least `moved_cells` textured cells moved.
        (Two screenshots of one photo shown at two sizes in one app are framed unlike: the photo
        moved against the app around it, and they stay copies.)"""
        return (m.inliers >= max(self.inliers, MOVE_INLIERS) and m.ratio >= self.ratio
                and m.inside >= self.inside and 1.0 / self.shot_scale <= m.scale <= self.shot_scale
                and m.cells >= self.moved_cells and m.moved >= self.moved)

    def unlike(self, m: Match) -> bool:
        """Two photos of one layout (toy blocks A-B-C and 1-2-3 on one shelf, two forms of one
        template): framed alike (one frame `inside` the other, areas within `unlike_scale`), a
        homography found (at least `unlike_inliers` matches), yet it fits under `unlike_ratio` of
        the matches in the shared part and under `unlike_agree` of the textured cells correlate
        once aligned. A copy aligned that well agrees, bar the cells under a sticker or a
        caption; a blurred or noisy copy with a loose fit still has most of its matches on it."""
        return (m.inliers >= self.unlike_inliers and m.inside >= self.inside
                and 1.0 / self.unlike_scale <= m.scale <= self.unlike_scale
                and m.ratio < self.unlike_ratio and m.agree < self.unlike_agree)

    def refutes(self, m: Match) -> bool:
        """A pair a global descriptor takes for a copy that the match shows to be two photos: two
        shots of one scene, or two photos of one layout."""
        return self.two_shots(m) or self.unlike(m)

    def distinct(self, m: Match) -> bool:
        """Two photos, not one: `refutes`, or enough matches in the shared part and no one
        geometry for them."""
        return self.refutes(m) or (m.shared >= self.evidence and m.ratio < self.different)

    def copy(self, m: Match) -> bool:
        return self.same_content(m) and m.agree >= self.agree and m.inside >= self.inside


class GeometryJudge:
    """hashcore.search.dups.PairJudge by local features: each photo's keypoints are read from its
    file once (the most recent `keep` photos are kept, about 150 KB each) and each pair is matched
    once. `file_of(id)` gives a photo's path and
    content hash; verdicts are kept in `memo` under the two content hashes, so a caller that keeps
    the memo (the duplicate finder between runs) never matches the same two files twice.
    `progress(done, total, what)` hears of the pairs matched; `cancel()` stops with Cancelled."""

    def __init__(self, file_of: Callable[[int], tuple[str | Path, str] | None], reach: Check, rule: Rule = Rule(),
                 keep: int = 2048, memo: dict[tuple[str, str], Match] | None = None,
                 progress: Callable[[int, int, str], None] | None = None,
                 cancel: Callable[[], bool] | None = None) -> None:
        self.file_of, self.reach, self.rule, self.keep = file_of, reach, rule, keep
        self.memo = memo if memo is not None else {}
        self.progress, self.cancel = progress, cancel
        self._points: OrderedDict[int, Keypoints] = OrderedDict()
        self._matches: dict[tuple[int, int], Match] = {}
        self.unreadable: list[str] = []
        self.matched = 0  # pairs matched here (not found in the memo)
        self.decoded = 0  # photos whose keypoints were computed (again, after leaving the `keep` kept)

    def points(self, image_id: int) -> Keypoints:
        got = self._points.get(image_id)
        if got is not None:
            self._points.move_to_end(image_id)
            return got
        file = self.file_of(image_id)
        kp = EMPTY
        if file is not None:
            from hashcore.ingest.decode import decode_file

            self.decoded += 1
            try:
                kp = keypoints(decode_file(file[0], target=SIDE // 2).image)
            except DecodeError as e:  # moved, deleted or corrupt since indexing: no verdict
                self.unreadable.append(f"{file[0]}: {e}")
        self._points[image_id] = kp
        if len(self._points) > self.keep:
            self._points.popitem(last=False)
        return kp

    def match(self, a: int, b: int) -> Match:
        key = (min(a, b), max(a, b))
        got = self._matches.get(key)
        if got is not None:
            return got
        fa, fb = self.file_of(key[0]), self.file_of(key[1])
        sig = pair_key(fa[1], fb[1]) if fa is not None and fb is not None else None
        got = self.memo.get(sig) if sig is not None else None
        if got is None:
            if self.cancel is not None and self.cancel():
                from hashcore.errors import Cancelled

                raise Cancelled("duplicate search cancelled")
            pa, pb = self.points(key[0]), self.points(key[1])
            got = match(pa, pb)
            self.matched += 1
            if sig is not None and pa is not EMPTY and pb is not EMPTY:
                self.memo[sig] = got  # an unreadable file gets no lasting verdict
        self._matches[key] = got
        return got

    def _each(self, a: np.ndarray, b: np.ndarray, test: Callable[[Match], bool], what: str) -> np.ndarray:
        """`test` on the match of each pair of photo ids, `progress` told as `what`."""
        out = np.zeros(len(a), bool)
        for k, (x, y) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
            if self.progress is not None and k % 16 == 0:
                self.progress(k, len(a), what)
            out[k] = test(self.match(x, y))
        if self.progress is not None:
            self.progress(len(a), len(a), what)
        return out

    def copies(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self._each(a, b, self.rule.copy, "Checking doubtful pairs")

    def same_content(self, a: int, b: int) -> bool | None:
        """True: the same pixels in part; False: enough matches in the shared part and no one
        geometry for them (two different photos of one scene or subject); None: cannot tell."""
        m = self.match(a, b)
        if self.rule.same_content(m):
            return True
        return False if self.rule.distinct(m) else None

    def evidence(self, a: int, b: int) -> float:
        """How strongly two photos match: the matches on their homography."""
        return float(self.match(a, b).inliers)

    def refuted(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """For pairs of photo ids the codes and features call copies, whether the pixels show two
        photos instead (Rule.refutes: two shots of one scene, two photos of one layout), which a
        global descriptor cannot tell from a re-encoded copy. (Not Rule.distinct's "no one
        geometry": a blurred copy can have that.)"""
        return self._each(a, b, self.rule.refutes, "Checking copies against similar shots")
