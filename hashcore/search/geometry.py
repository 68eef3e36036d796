"""Geometric verification of a candidate copy pair: local features matched under one homography.

A global descriptor (the copy embedding, a DCT hash) sees a photo as a whole, so a crop to half,
a letterbox, a screenshot of the photo in an app or a photo of the photo at an angle move it far.
Local features do not care: SIFT keypoints of the two images (OpenCV), matched with Lowe's ratio
test, then one homography fitted robustly (MAGSAC++). A copy is a pair where many matches agree on
one plane-to-plane mapping, one image's frame lies inside the other's under it (a crop lies inside
its original, an original inside its letterbox or screenshot), *and* the pixels agree once aligned
(`_agree`). Two shots of one scene (a burst) mostly overlap only in part, or disagree with one
homography because of parallax, and are refused; but a stereo pair of a subject far away can fit
one homography well (the held-out benchmark's motorcycle pair does). Two photos of one kind of
subject share no geometry at all.

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

SIDE = 512  # longest side the keypoints are found at
SMALL = 96  # longest side of the grey photo kept to compare pixels once aligned
GRID = 6  # cells per side in which the aligned pixels are compared
CELL_R = 0.5  # a cell agrees at this correlation
FLAT = 3.0  # grey levels of standard deviation below which a cell is flat
FEATURES = 700  # keypoints per photo, strongest first
RATIO = 0.8  # Lowe's ratio test
REPROJ = 4.0  # pixels at SIDE: a match agrees with the homography within this


@dataclass(frozen=True)
class Keypoints:
    xy: np.ndarray  # (n, 2) float32, pixel positions at the working size
    desc: np.ndarray  # (n, 128) uint8 SIFT descriptors
    size: tuple[int, int]  # (width, height) at the working size
    small: np.ndarray | None = None  # the grey photo, longest side SMALL px (float32), for `agree`


@dataclass(frozen=True)
class Match:
    inliers: int  # matches agreeing with the homography
    matches: int  # matches passing the ratio test
    inside: float  # the larger share of one image's frame lying inside the other's (0..1)
    scale: float  # area ratio the homography implies (image a to image b)
    shared: int = 0  # matches whose two ends both lie where the two frames overlap under it
    agree: float = 0.0  # share of textured cells where the aligned pixels correlate, on the better grid

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
    return Keypoints(xy, np.clip(np.rint(desc), 0, 255).astype(np.uint8), grey.size, _small(arr))


def _small(arr: np.ndarray) -> np.ndarray:
    import cv2

    h, w = arr.shape
    f = SMALL / max(h, w)
    return cv2.resize(arr, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA).astype(np.float32)


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
    return Match(int(keep.sum()), len(good), inside, det, int((shared | keep).sum()),
                 max(_agree(a, b, h), _agree(b, a, hinv)))  # the better of the two photos' grids


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
    another member; `different` 0.3 refuses 1 of its 4,400 pairs of one photo's files."""

    inliers: int = 10
    ratio: float = 0.5
    agree: float = 0.8
    kin_agree: float = 0.5
    inside: float = 0.9
    overlap: float = 0.2
    max_scale: float = 50.0
    evidence: int = 15
    different: float = 0.3

    def same_content(self, m: Match) -> bool:
        return (m.inliers >= self.inliers and m.ratio >= self.ratio and m.agree >= self.kin_agree
                and m.inside >= self.overlap and 1.0 / self.max_scale <= m.scale <= self.max_scale)

    def copy(self, m: Match) -> bool:
        return self.same_content(m) and m.agree >= self.agree and m.inside >= self.inside


class GeometryJudge:
    """hashcore.search.dups.PairJudge by local features: each photo's keypoints are read from its
    file once (the most recent `keep` photos are kept, about 100 KB each) and each pair is matched
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
        sig = (fa[1], fb[1]) if fa is not None and fb is not None else None
        if sig is not None and sig[0] > sig[1]:
            sig = (sig[1], sig[0])
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

    def copies(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.zeros(len(a), bool)
        for k, (x, y) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
            if self.progress is not None and k % 16 == 0:
                self.progress(k, len(a), "Checking doubtful pairs")
            out[k] = self.rule.copy(self.match(x, y))
        if self.progress is not None:
            self.progress(len(a), len(a), "Checking doubtful pairs")
        return out

    def same_content(self, a: int, b: int) -> bool | None:
        """True: the same pixels in part; False: enough matches in the shared part and no one
        geometry for them (two different photos of one scene or subject); None: cannot tell."""
        m = self.match(a, b)
        if self.rule.same_content(m):
            return True
        return False if m.shared >= self.rule.evidence and m.ratio < self.rule.different else None
