"""The photo inside a framed file (hashcore/ingest/frame.py): found in app pages around real
photos, not in the real photos themselves; and the duplicate finder, which pairs that box with the
other photos, groups a web-page screenshot with its original where the copy code of the whole page
is too far from the original's to be a candidate at all."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from hashcore.config import RESOURCES, Config
from hashcore.ingest import frame
from hashcore.ingest.frame import crop_box, photo_box
from hashcore.library import Library
from hashcore.search.dups import DOUBT_RADIUS_64
from tests.core.test_geometry import photo
from tests.photos import source_photos

SAMPLES = RESOURCES / "samples"


def web_post(img: Image.Image) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A web page showing `img` in a post (top bar, a menu column, the poster's name, text under the
    photo, a column of suggestions): the photo covers about a third of it. Also the photo's box."""
    w, h = img.size
    pw, ph = round(w * 1.7), round(h * 1.6)
    page = Image.new("RGB", (pw, ph), (242, 243, 245))
    d = ImageDraw.Draw(page)
    d.rectangle((0, 0, pw, round(ph * 0.08)), fill=(255, 255, 255))
    d.text((16, round(ph * 0.03)), "HashBook   Home   Friends   Groups   Watch", fill=(30, 30, 30))
    for k in range(12):
        d.text((12, round(ph * 0.12) + 22 * k), f"Menu item {k}", fill=(50, 50, 50))
    x0, y0 = round(pw * 0.2), round(ph * 0.1)
    d.rectangle((x0, y0, x0 + w + 20, y0 + h + 120), fill=(255, 255, 255))
    d.ellipse((x0 + 8, y0 + 8, x0 + 40, y0 + 40), fill=(120, 90, 60))
    d.text((x0 + 48, y0 + 14), "Jane Roe", fill=(20, 20, 20))
    page.paste(img, (x0 + 10, y0 + 50))
    for k in range(3):
        d.text((x0 + 12, y0 + h + 60 + 16 * k), "lorem ipsum dolor sit amet " * 2, fill=(40, 40, 40))
    rx = x0 + w + 40
    for k in range(5):
        top = round(ph * 0.12) + 90 * k
        d.rectangle((rx, top, pw - 10, top + 70), fill=(255, 255, 255))
        d.text((rx + 8, top + 8), f"Suggested {k}", fill=(30, 30, 30))
    return page, (x0 + 10, y0 + 50, x0 + 10 + w, y0 + 50 + h)


def phone_post(img: Image.Image) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A phone screenshot of a feed: status bar, the poster's name, the photo across the whole
    width of the screen, like buttons and text under it, a tab bar. Also the photo's box."""
    w, h = 540, 1170
    page = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(page)
    d.text((20, 12), "9:41", fill=(20, 20, 20))
    d.text((w - 80, 12), "5G 87%", fill=(20, 20, 20))
    d.text((20, 60), "HashGram", fill=(20, 20, 20))
    d.ellipse((16, 120, 56, 160), fill=(200, 120, 80))
    d.text((66, 132), "jane.roe", fill=(20, 20, 20))
    ph, top = round(img.height * w / img.width), 176
    page.paste(img.resize((w, ph)), (0, top))
    y = top + ph + 14
    for k in range(4):
        d.ellipse((16 + 44 * k, y, 44 + 44 * k, y + 28), outline=(20, 20, 20), width=2)
    d.text((16, y + 44), "1,234 likes", fill=(20, 20, 20))
    for k in range(3):
        d.text((16, y + 68 + 18 * k), "jane.roe what a day at the lake " * 2, fill=(20, 20, 20))
    for k in range(5):
        d.rectangle((40 + 100 * k, h - 60, 70 + 100 * k, h - 30), outline=(20, 20, 20), width=2)
    return page, (0, top, w, top + ph)


def small(name: str, side: int = 400) -> Image.Image:
    img = photo(name)
    img.thumbnail((side, side))
    return img


@pytest.mark.parametrize("name", ["astronaut.jpg", "coins.jpg", "chelsea-cat.jpg", "coffee.jpg"])
@pytest.mark.parametrize("app", [web_post, phone_post])
def test_the_photo_box_of_an_app_screenshot_is_the_photo(name: str, app) -> None:
    """On a web page (the photo boxed on four sides) and across the whole width of a phone's
    screen (two sides, app bars above and below)."""
    page, (x0, y0, x1, y1) = app(small(name))
    box = photo_box(page)
    assert box is not None
    w, h = page.size
    got = np.array([box[0] * w, box[1] * h, box[2] * w, box[3] * h])
    assert np.abs(got - [x0, y0, x1, y1]).max() <= 0.02 * max(w, h), (got, (x0, y0, x1, y1))
    assert crop_box(page, box).size == pytest.approx((x1 - x0, y1 - y0), abs=0.02 * max(w, h))


def test_plain_photos_and_thin_frames_show_no_photo_box() -> None:
    """Real photos (horizons, shelves, windows and all) are not framed files; nor is a thin
    border, which leaves the photo nearly whole."""
    files = [p for p in source_photos() if p.suffix == ".jpg"]
    assert len(files) >= 8
    boxed = [p.name for p in files if photo_box(Image.open(p)) is not None]
    assert not boxed, boxed
    coffee = small("coffee.jpg")
    bordered = Image.new("RGB", (round(coffee.width * 1.04), round(coffee.height * 1.04)), (255, 255, 255))
    bordered.paste(coffee, (round(coffee.width * 0.02), round(coffee.height * 0.02)))
    assert photo_box(bordered) is None
    assert photo_box(Image.new("RGB", (300, 200), (255, 255, 255))) is None  # nothing at all
    assert photo_box(Image.new("RGB", (8, 8))) is None


@pytest.mark.parametrize(("name", "app"), [("astronaut.jpg", web_post), ("retina.jpg", phone_post)])
def test_an_app_screenshot_joins_its_original_through_its_photo_box(tmp_path: Path, name: str, app) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for other in ("coffee.jpg", "camera.jpg", "rocket-launch.jpg"):
        shutil.copy(SAMPLES / other, folder / other)
    small(name).save(folder / "astronaut.jpg", quality=92)  # the photo, under one name for the checks below
    app(small(name))[0].save(folder / "astronaut-post.png")
    with Library(Config(home=tmp_path / "home"), db_path=tmp_path / "library.db") as lib:
        assert not lib.index([folder]).errors
        id_of = {Path(r["path"]).name: r["id"] for r in lib.store.images()}
        # the indexer kept the page's box and its features, and looked at every other photo too
        assert lib.store.frame_box(id_of["astronaut-post.png"], frame.VERSION) is not None
        assert lib.store.ids_without_frame(frame.VERSION) == []
        assert set(lib.store.frames(frame.VERSION)[0].tolist()) == {id_of["astronaut-post.png"]}
        # the page's own copy code is beyond the zone of doubt: the copy head alone never pairs them
        assert lib.copy is not None and lib.copy_model_id is not None
        ids, codes = lib.store.codes(lib.copy_model_id)
        row = {int(i): n for n, i in enumerate(ids)}
        far = np.bitwise_count(codes[row[id_of["astronaut.jpg"]]] ^ codes[row[id_of["astronaut-post.png"]]]).sum()
        assert far > DOUBT_RADIUS_64 * lib.copy.bits // 64
        groups = [sorted(Path(p).name for p in g.paths) for g in lib.duplicates() if g.kind == "near"]
        assert groups == [["astronaut-post.png", "astronaut.jpg"]], groups
        # and the best-copy rule keeps the photo, not the lossless page around it, and says why
        keep, remove = plan = lib.plan_removal([g for g in lib.duplicates() if g.kind == "near"][0])
        assert (keep, remove) == (id_of["astronaut.jpg"], [id_of["astronaut-post.png"]])
        assert "astronaut-post.png shows it on a page" in plan.reason, plan.reason


def test_photos_indexed_before_the_frame_detector_are_read_again_once(tmp_path: Path) -> None:
    """A library from before the detector (schema v4: no frame rows) gets its boxes on the next
    index: every photo is read again, its stored features reused; the backbone sees the boxes only."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("coffee.jpg", "camera.jpg"):
        shutil.copy(SAMPLES / name, folder / name)
    page, (x0, y0, x1, y1) = web_post(small("coins.jpg"))
    page.save(folder / "coins-post.png")
    with Library(Config(home=tmp_path / "home"), db_path=tmp_path / "library.db") as lib:
        lib.index([folder])
        with lib.store.transaction() as c:
            c.execute("DELETE FROM frames")
        assert len(lib.store.ids_without_frame(frame.VERSION)) == 3
        _, before = lib.store.features()
        seen: list[tuple[int, int]] = []
        real = lib.encoder.embed

        def recorded(images: list) -> tuple[np.ndarray, np.ndarray]:
            seen.extend(img.size for img in images)
            return real(images)

        lib.encoder.embed = recorded  # type: ignore[method-assign]
        assert lib.index([folder]).indexed == 3
        assert len(seen) == 1  # the box only (decoded at the indexer's working size: its shape)
        assert seen[0][0] / seen[0][1] == pytest.approx((x1 - x0) / (y1 - y0), rel=0.05)
        assert np.array_equal(lib.store.features()[1], before)
        assert lib.store.ids_without_frame(frame.VERSION) == []
        assert lib.index([folder]).skipped == 3  # once


def test_photos_like_this_one_lists_a_screenshot_of_the_photo_among_its_copies(tmp_path: Path) -> None:
    """The Hubble deep field on a web page: the page's copy embedding is too far from the photo's
    for "may be a copy" (cosine under 0.3); its photo box is not."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for other in ("coffee.jpg", "camera.jpg", "rocket-launch.jpg"):
        shutil.copy(SAMPLES / other, folder / other)
    hubble = small("hubble-deep-field.jpg")
    hubble.save(folder / "hubble.jpg", quality=92)
    web_post(hubble)[0].save(folder / "hubble-post.png")
    with Library(Config(home=tmp_path / "home"), db_path=tmp_path / "library.db") as lib:
        lib.index([folder])
        id_of = {Path(r["path"]).name: r["id"] for r in lib.store.images()}
        assert lib.copy is not None
        _, feats = lib.store.features([id_of["hubble.jpg"], id_of["hubble-post.png"]])
        emb = lib.copy.embed(feats)
        assert float(emb[0] @ emb[1]) < 0.3  # the whole page: not even "may be a copy"
        for query, other in (("hubble.jpg", "hubble-post.png"), ("hubble-post.png", "hubble.jpg")):
            hits = {Path(h.path).name: h for h in lib.search_id(id_of[query], k=3)}
            assert other in hits and (hits[other].copy or hits[other].maybe_copy), (query, hits)
