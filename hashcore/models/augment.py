"""Photo variants for training and tests: the edits that make near-duplicates in real libraries
(resized copies, re-compressed JPEGs, light crops, brightness changes, small rotations, flips)."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageEnhance


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def crop(img: Image.Image, keep: float, rng: random.Random) -> Image.Image:
    w, h = img.size
    cw, ch = int(w * keep), int(h * keep)
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    return img.crop((x, y, x + cw, y + ch))


def random_variant(img: Image.Image, rng: random.Random) -> Image.Image:
    """One random near-duplicate edit chain of `img`."""
    out = img.convert("RGB")
    if rng.random() < 0.7:
        out = crop(out, rng.uniform(0.75, 0.98), rng)
    if rng.random() < 0.6:
        s = rng.uniform(0.25, 0.9)
        out = out.resize((max(16, int(out.width * s)), max(16, int(out.height * s))), Image.Resampling.BILINEAR)
    if rng.random() < 0.6:
        out = ImageEnhance.Brightness(out).enhance(rng.uniform(0.7, 1.35))
    if rng.random() < 0.4:
        out = ImageEnhance.Color(out).enhance(rng.uniform(0.5, 1.4))
    if rng.random() < 0.3:
        out = out.rotate(rng.uniform(-6, 6), resample=Image.Resampling.BILINEAR, expand=False)
    if rng.random() < 0.5:
        out = jpeg(out, rng.randint(30, 90))
    if rng.random() < 0.2:
        out = out.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return out


def random_views(img: Image.Image, n: int, rng: random.Random) -> list[Image.Image]:
    """Different parts of one photo at different scales: many distinct training samples."""
    views = []
    for _ in range(n):
        v = crop(img.convert("RGB"), rng.uniform(0.3, 0.9), rng)
        views.append(random_variant(v, rng))
    return views
