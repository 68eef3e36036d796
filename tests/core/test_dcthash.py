"""The DCT hash (hashcore/search/dcthash.py), the second copy signal: on real photos, the edits
it is there for (grey, re-compression, resizing, letterbox bars and borders, which it trims) keep
it within a few bits, while different photos are far apart."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from hashcore.search.dcthash import dct_distance, dct_hash, dct_hashes, trim_borders

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"
PHOTOS = ("astronaut.jpg", "chelsea-cat.jpg", "coffee.jpg", "coins.jpg", "hubble-deep-field.jpg",
          "rocket-launch.jpg")


def photo(name: str) -> Image.Image:
    with Image.open(SAMPLES / name) as im:
        return im.convert("RGB")


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def test_hash_is_eight_packed_bytes_and_deterministic():
    img = photo("coffee.jpg")
    h = dct_hash(img)
    assert h.dtype == np.uint8 and h.shape == (8,)
    np.testing.assert_array_equal(h, dct_hash(img.copy()))
    assert 16 <= int(np.unpackbits(h).sum()) <= 48  # median split: about half the bits set


def test_distance_by_hand():
    a = np.zeros(8, np.uint8)
    b = np.array([0xFF, 0x01, 0, 0, 0, 0, 0, 0x80], np.uint8)
    assert int(dct_distance(a, b)) == 10
    m = dct_distance(np.stack([a, b])[:, None, :], np.stack([a, b])[None, :, :])
    np.testing.assert_array_equal(m, [[0, 10], [10, 0]])


def test_trim_removes_flat_bars_and_borders_only():
    rng = np.random.default_rng(0)
    content = rng.uniform(0, 255, (60, 80)).astype(np.float32)
    padded = np.pad(content, ((20, 20), (5, 7)), constant_values=0.0)
    np.testing.assert_array_equal(trim_borders(padded), content)
    framed = np.pad(content, 4, constant_values=130.0)
    np.testing.assert_array_equal(trim_borders(framed), content)
    np.testing.assert_array_equal(trim_borders(content), content)  # nothing flat: nothing goes


@pytest.mark.parametrize("name", PHOTOS)
def test_everyday_edits_stay_close(name):
    img = photo(name)
    h = dct_hash(img)
    w, ht = img.size
    edits = {
        "grey": img.convert("L"),
        "jpeg q20": jpeg(img, 20),
        "half size": img.resize((w // 2, ht // 2), Image.Resampling.BILINEAR),
        "letterbox 16:9 black": ImageOps.pad(img, (max(w, ht * 16 // 9), ht), color=(0, 0, 0)),
        "letterbox square white": ImageOps.pad(img, (max(w, ht), max(w, ht)), color=(255, 255, 255)),
        "coloured border": ImageOps.expand(img, border=max(w, ht) // 15, fill=(40, 120, 200)),
    }
    far = {k: int(dct_distance(h, dct_hash(e))) for k, e in edits.items()}
    assert max(far.values()) <= 8, far  # the copy test uses radius 10; different photos are >= 16 apart


def test_different_photos_are_far_apart():
    h = dct_hashes([photo(n) for n in PHOTOS])
    d = dct_distance(h[:, None, :], h[None, :, :])
    off = d[~np.eye(len(PHOTOS), dtype=bool)]
    assert off.min() >= 16, d
