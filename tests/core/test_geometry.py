"""The geometric check of doubtful copy pairs (hashcore/search/geometry.py), on real photos: a
crop to about half, a letterbox and a screenshot-like frame are copies; two different photos and
two crops that only overlap are not, nor two shots of one scene (a stereo pair); an unreadable
file gives no verdict; and a group never joins two photos that are each inside a third (a
collage) but share nothing; nor are two photos of one layout (toy blocks A-B-C and 1-2-3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from hashcore.config import RESOURCES
from hashcore.search import dups as dupmod
from hashcore.search.geometry import GeometryJudge, Rule, keypoints, match

SAMPLES = RESOURCES / "samples"


def photo(name: str) -> Image.Image:
    with Image.open(SAMPLES / name) as img:
        return img.convert("RGB")


def crop(img: Image.Image, x0: float, y0: float, x1: float, y1: float) -> Image.Image:
    w, h = img.size
    return img.crop((round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h)))


def screenshot(img: Image.Image) -> Image.Image:
    """The photo shrunk into an app window: a title bar with text and buttons, side panels."""
    w, h = img.size
    canvas = Image.new("RGB", (round(w * 0.9), round(h * 0.95)), (236, 236, 240))
    inner = img.resize((round(w * 0.6), round(h * 0.6)))
    canvas.paste(inner, (round(w * 0.2), round(h * 0.2)))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, canvas.width, round(h * 0.1)), fill=(40, 60, 120))
    for k in range(6):
        draw.rectangle((10 + 60 * k, 10, 50 + 60 * k, 30), fill=(200, 200, 210))
        draw.text((14 + 60 * k, 14), f"tab{k}", fill=(0, 0, 0))
    return canvas


def letterbox(img: Image.Image) -> Image.Image:
    w, h = img.size
    side = max(w, h)
    canvas = Image.new("RGB", (round(side * 16 / 9), side), (0, 0, 0))
    canvas.paste(img, ((canvas.width - w) // 2, (canvas.height - h) // 2))
    return canvas


@pytest.fixture(scope="module")
def cat() -> Image.Image:
    return photo("chelsea-cat.jpg")


def test_edits_that_move_a_global_descriptor_are_copies(cat: Image.Image) -> None:
    rule = Rule()
    original = keypoints(cat)
    for name, edited in (("crop to 52%", crop(cat, 0.1, 0.2, 0.82, 0.92)), ("letterbox", letterbox(cat)),
                         ("screenshot", screenshot(cat))):
        m = match(original, keypoints(edited))
        assert rule.copy(m), f"{name}: {m}"
        assert m.inside > 0.95 and m.agree > 0.8, f"{name}: {m}"


def test_different_photos_and_partly_overlapping_crops_are_not_copies(cat: Image.Image) -> None:
    rule = Rule()
    coffee, astronaut = keypoints(photo("coffee.jpg")), keypoints(photo("astronaut.jpg"))
    cat_points = keypoints(cat)
    for other in (coffee, astronaut):
        m = match(cat_points, other)
        assert not rule.same_content(m) and not rule.copy(m), m
    # the left 60% and the right 60% of one photo share a fifth of it: the same pixels, not copies
    left, right = keypoints(crop(cat, 0.0, 0.0, 0.6, 1.0)), keypoints(crop(cat, 0.4, 0.0, 1.0, 1.0))
    m = match(left, right)
    assert rule.same_content(m), m
    assert not rule.copy(m), m


def stereo(side: str) -> Image.Image:
    """scikit-image's stereo pair: one motorcycle in a garage, shot from two points a few
    centimetres apart (the nearer things shift against the shelves behind them)."""
    skimage = pytest.importorskip("skimage")
    with Image.open(Path(skimage.__file__).parent / "data" / f"motorcycle_{side}.png") as img:
        return img.convert("RGB")


def test_two_shots_of_one_scene_are_told_from_a_copy_once_aligned() -> None:
    rule = Rule()
    left, right = stereo("left"), stereo("right")
    shots = match(keypoints(left), keypoints(right))
    # one homography holds most of their matches and the frames overlap: only the moved pixels tell
    assert shots.inliers >= 100 and shots.inside >= 0.9, shots
    assert rule.two_shots(shots) and rule.distinct(shots), shots
    assert not rule.copy(shots) and not rule.same_content(shots), shots
    # the same photo blurred, sharpened, re-encoded or cropped moved nothing: still a copy
    base = keypoints(left)
    edits = {
        "blur": left.filter(ImageFilter.GaussianBlur(2.0)),
        "sharpen": left.filter(ImageFilter.UnsharpMask(3, 150, 2)),
        "thumbnail": left.resize((left.width // 3, left.height // 3)),
        "crop": crop(left, 0.15, 0.1, 0.9, 0.95),
    }
    for what, img in edits.items():
        m = match(base, keypoints(img))
        assert not rule.two_shots(m) and not rule.distinct(m), (what, m)
        assert rule.copy(m), (what, m)


def test_two_photos_of_one_layout_are_not_copies() -> None:
    """Toy blocks A-B-C and 1-2-3 on one shelf (gcompris's photos): framed alike, and a loose
    homography fits the blocks' outlines, but half the matches stay off it and the aligned pixels
    disagree. Each photo's everyday edits, text over it included, are still its copies."""
    from tests.e2e.test_dups_levels import GCOMPRIS, gcompris_photo

    assert GCOMPRIS.is_dir(), "install Debian's gcompris-qt-data (.ci/run does)"
    rule = Rule()
    abc = gcompris_photo("categorization", "images/alphabets/alphabets.webp")
    digits = gcompris_photo("categorization", "images/numbers/numbers.webp")
    layout = match(keypoints(abc), keypoints(digits))
    assert rule.unlike(layout) and rule.refutes(layout) and rule.distinct(layout), layout
    assert not rule.copy(layout) and not rule.same_content(layout), layout
    for img in (abc, digits):
        texted = img.copy()
        ImageDraw.Draw(texted).text((img.width // 4, img.height // 3), "HAPPY BIRTHDAY " * 2, fill=(255, 255, 0))
        edits = {"grey": img.convert("L").convert("RGB"), "text": texted,
                 "blur": img.filter(ImageFilter.GaussianBlur(1.5)), "letterbox": letterbox(img),
                 "thumbnail": img.resize((img.width // 2, img.height // 2))}
        base = keypoints(img)
        for what, edited in edits.items():
            m = match(base, keypoints(edited))
            assert not rule.refutes(m) and rule.copy(m), (what, m)


def test_an_unreadable_file_gives_no_verdict_and_is_reported(cat: Image.Image, tmp_path: Path) -> None:
    good = tmp_path / "cat.jpg"
    cat.save(good, quality=92)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(good.read_bytes()[:200])
    files = {1: (good, "a"), 2: (broken, "b"), 3: (tmp_path / "gone.jpg", "c")}
    judge = GeometryJudge(files.get, dupmod.Check(16, 0.3))
    assert judge.copies(np.array([1, 1]), np.array([2, 3])).tolist() == [False, False]
    assert len(judge.unreadable) == 2
    assert any("broken.jpg" in u for u in judge.unreadable) and any("gone.jpg" in u for u in judge.unreadable)


def test_a_group_never_joins_two_photos_that_only_share_a_collage(tmp_path: Path, cat: Image.Image) -> None:
    """A collage holds photo X and photo Y side by side: X and Y are each inside it (copies of it
    by the geometric check) but share nothing, so no group holds both. Codes and features are
    set so that every pair is in the zone of doubt and only the judge decides."""
    coffee = photo("coffee.jpg").resize(cat.size)
    collage = Image.new("RGB", (cat.width * 2 + 20, cat.height), (255, 255, 255))
    collage.paste(cat, (0, 0))
    collage.paste(coffee, (cat.width + 20, 0))
    files = {10: tmp_path / "collage.jpg", 11: tmp_path / "cat.jpg", 12: tmp_path / "coffee.jpg",
             13: tmp_path / "cat-crop.jpg"}
    collage.save(files[10], quality=92)
    cat.save(files[11], quality=92)
    coffee.save(files[12], quality=92)
    crop(cat, 0.15, 0.1, 0.85, 0.85).save(files[13], quality=92)
    ids = np.array(sorted(files))
    codes = np.zeros((4, 1), np.uint64)  # every pair at distance 0
    # every pair at cosine 0.5: in the zone of doubt, below the copy check and below KIN_MIN_COSINE
    features = np.zeros((4, 5), np.float32)
    features[:, 0] = 1.0  # a shared direction, and one of its own each
    for k in range(4):
        features[k, k + 1] = 1.0
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    assert np.allclose((unit @ unit.T)[np.triu_indices(4, 1)], 0.5)
    judge = GeometryJudge(lambda i: (files[i], files[i].name), dupmod.Check(16, 0.3))
    assert judge.copies(np.array([10, 10]), np.array([11, 12])).tolist() == [True, True]  # both inside it
    assert judge.same_content(11, 12) is not True
    groups = dupmod.near_groups(ids, codes, features, 64, 6, 0.9, judge=judge)
    sets = [set(g.image_ids) for g in groups]
    assert not any({11, 12} <= s for s in sets), sets  # the cat and the coffee never together
    assert any({11, 13} <= s for s in sets), sets  # the cat and its crop are copies
    # and without the judge nothing at cosine 0.5 is a copy
    assert dupmod.near_groups(ids, codes, features, 64, 6, 0.9) == []


def test_batched_phase_correlation_agrees_with_opencv() -> None:
    """The moved-pixels test correlates all cells of a photo at once; each must read as OpenCV's
    phaseCorrelate reads it alone (the shift and the peak the thresholds were chosen with)."""
    cv2 = pytest.importorskip("cv2")
    from hashcore.search.geometry import _phase

    rng = np.random.default_rng(7)
    grey = np.asarray(photo("coffee.jpg").convert("L"), np.float32)
    for h, w in ((24, 32), (31, 41), (21, 12)):
        y0, x0 = rng.integers(0, 200, 6), rng.integers(0, 300, 6)
        moves = rng.integers(-4, 5, (6, 2))
        a = np.stack([grey[y:y + h, x:x + w] for y, x in zip(y0, x0, strict=True)])
        b = np.stack([grey[y + dy:y + dy + h, x + dx:x + dx + w] for y, x, (dx, dy) in zip(y0, x0, moves, strict=True)])
        window = cv2.createHanningWindow((w, h), cv2.CV_32F)
        shifts, peaks = _phase(a, b, window)
        for k in range(len(a)):
            (dx, dy), peak = cv2.phaseCorrelate(a[k] - a[k].mean(), b[k] - b[k].mean(), window)
            assert np.allclose(shifts[k], (dx, dy), atol=1e-3) and abs(peaks[k] - peak) < 1e-3, (k, shifts[k], dx, dy)
