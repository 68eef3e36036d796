"""Edit families for near-duplicate benchmarks and copy-detection training.

The edits are made by libraries, as in DISC2021 (built with AugLy) and in common training
pipelines (albumentations), plus Pillow and pillow-heif for file formats and EXIF. Both work
offline: AugLy 1.0 ships its fonts, emoji and screenshot templates in its wheel, and
albumentations' update check is switched off before it is imported. Two AugLy functions do not
run on current Pillow/NumPy (meme_format, perspective_transform); captions are built from AugLy's
pad/overlay calls instead and perspective comes from albumentations.

A family is a function (image, rng) -> Edit. `make_edit(family, image, rng)` is the entry point;
`Edit.decoded()` is what a viewer shows (the bytes decoded, EXIF orientation applied), which is
what training wants; `Edit.save(path)` writes the file a user would have.

TRAIN_FAMILIES may be used to train a model. HELDOUT_FAMILIES never are: the benchmark reports
them apart to show what happens on edits nobody trained for. (The training family "watermark"
is small, faint corner text; the held-out "overlay_text" is large, opaque text in other fonts.)
"""

from __future__ import annotations

import io
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no network call at import

JPEG_SAVE_QUALITY = 92  # how an editor saves a photo after a pixel edit
WORDS = ("summer", "holiday", "family", "trip", "best", "day", "ever", "weekend", "with", "friends",
         "happy", "birthday", "view", "from", "the", "top", "morning", "light", "memories", "home",
         "beach", "city", "walk", "sunday", "lunch", "garden", "museum", "look", "at", "this",
         "wow", "amazing", "new", "old", "photo", "dump", "2019", "2023", "love", "it")
# AugLy fonts whose character table has a space and ASCII (several of its fonts lack the space)
CAPTION_FONTS = ("Impact.ttf", "OpenSans-ExtraBold.ttf", "SourceSansPro-Black.ttf")
WATERMARK_FONTS = ("OpenSans-Regular.ttf", "SourceSansPro-Regular.ttf", "OpenSans-Light.ttf")
HELDOUT_TEXT_FONTS = ("Raleway-Bold.ttf", "Lobster_1.3.ttf", "Pacifico.ttf", "Titillium-Bold.ttf",
                      "Chunkfive.ttf", "GrandHotel-Regular.ttf", "LeagueSpartan-Bold.ttf", "Sofia-Regular.ttf")
# EXIF orientation -> the transpose that turns the displayed photo into the stored pixels
# (the inverse of what a viewer applies; Pillow's ImageOps.exif_transpose applies the forward one)
STORE_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                   4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                   6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
                   8: Image.Transpose.ROTATE_270}


@dataclass
class Edit:
    """An edited photo as it would be saved: pixels, file format and save options."""

    family: str
    image: Image.Image
    params: str  # what was done, for reports ("jpeg q=23")
    format: str = "JPEG"  # Pillow format name: JPEG, WEBP, PNG, HEIF
    save_args: dict[str, Any] = field(default_factory=lambda: {"quality": JPEG_SAVE_QUALITY})

    @property
    def suffix(self) -> str:
        return {"JPEG": ".jpg", "WEBP": ".webp", "PNG": ".png", "HEIF": ".heic"}[self.format]

    def encode(self) -> bytes:
        if self.format == "HEIF":
            import pillow_heif

            pillow_heif.register_heif_opener()
        img = self.image if self.format == "PNG" or self.image.mode in ("RGB", "L") else self.image.convert("RGB")
        buf = io.BytesIO()
        img.save(buf, self.format, **self.save_args)
        return buf.getvalue()

    def save(self, path: str | Path) -> Path:
        path = Path(path).with_suffix(self.suffix)
        path.write_bytes(self.encode())
        return path

    def decoded(self) -> Image.Image:
        """What a viewer shows for the saved file: decoded, EXIF-oriented, RGB."""
        if self.format == "HEIF":
            import pillow_heif

            pillow_heif.register_heif_opener()
        with Image.open(io.BytesIO(self.encode())) as img:
            img.load()
            return (ImageOps.exif_transpose(img) or img).convert("RGB")


Family = Callable[[Image.Image, random.Random], Edit]


def _augly() -> Any:
    import augly.image as imaugs

    return imaugs


def _alb() -> Any:
    import albumentations

    return albumentations


def _alb_apply(transform: Any, img: Image.Image, rng: random.Random) -> Image.Image:
    """Run an albumentations transform with a seed drawn from rng (deterministic per rng)."""
    transform.set_random_seed(rng.randrange(2**31))
    return Image.fromarray(transform(image=np.asarray(img.convert("RGB")))["image"])


def _side(img: Image.Image) -> int:
    return max(img.size)


def _font(name: str) -> str:
    from augly.utils import FONTS_DIR

    return os.path.join(FONTS_DIR, name)


def _text_ids(font_file: str, text: str) -> list[int]:
    """AugLy's overlay_text takes indices into the font's character table (its .pkl file)."""
    import pickle

    with open(os.path.splitext(font_file)[0] + ".pkl", "rb") as f:
        chars = pickle.load(f)
    missing = {c for c in text if ord(c) not in chars}
    if missing:
        raise ValueError(f"{os.path.basename(font_file)} cannot write {sorted(missing)}")
    return [chars.index(ord(c)) for c in text]


def _words(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


# -- re-encoding --------------------------------------------------------------------------------
def jpeg(img: Image.Image, rng: random.Random) -> Edit:
    q = rng.randint(10, 95)
    return Edit("jpeg", img, f"JPEG q={q}", "JPEG", {"quality": q})


def webp(img: Image.Image, rng: random.Random) -> Edit:
    q = rng.randint(20, 90)
    return Edit("webp", img, f"WebP q={q}", "WEBP", {"quality": q})


def heic(img: Image.Image, rng: random.Random) -> Edit:
    q = rng.randint(30, 90)
    # x265's fastest preset: the default takes seconds per photo, and phones encode in hardware
    return Edit("heic", img, f"HEIC q={q}", "HEIF", {"quality": q, "enc_params": {"preset": "ultrafast"}})


def png(img: Image.Image, rng: random.Random) -> Edit:
    return Edit("png", img, "PNG (lossless)", "PNG", {"compress_level": 3})


# -- size and framing ---------------------------------------------------------------------------
def thumbnail(img: Image.Image, rng: random.Random) -> Edit:
    long = _side(img)
    lo, hi = min(256, long // 2), min(512, long * 4 // 5)
    side = rng.randint(lo, max(lo, hi))
    w, h = img.size
    f = side / max(w, h)
    out = _augly().resize(img, width=max(1, round(w * f)), height=max(1, round(h * f)))
    return Edit("thumbnail", out, f"long side {side} px", "JPEG", {"quality": rng.randint(75, 90)})


def upscale(img: Image.Image, rng: random.Random) -> Edit:
    f = rng.uniform(1.25, 2.0)
    return Edit("upscale", _augly().scale(img, factor=f), f"x{f:.2f}")


def crop(img: Image.Image, rng: random.Random) -> Edit:
    """A crop keeping 50-90% of the area, off-centre, aspect changed a little."""
    area = rng.uniform(0.5, 0.9)
    aspect = rng.uniform(0.8, 1.25)
    fw = min(1.0, (area * aspect) ** 0.5)
    fh = min(1.0, area / fw)
    x1, y1 = rng.uniform(0, 1 - fw), rng.uniform(0, 1 - fh)
    out = _augly().crop(img, x1=x1, y1=y1, x2=x1 + fw, y2=y1 + fh)
    return Edit("crop", out, f"keeps {fw * fh:.0%} of the area")


def rotate(img: Image.Image, rng: random.Random) -> Edit:
    deg = rng.choice((-1, 1)) * rng.uniform(2.0, 10.0)
    out = _alb_apply(_alb().Rotate(limit=(deg, deg), crop_border=True, p=1.0), img, rng)
    return Edit("rotate", out, f"{deg:+.1f} deg, cropped to no border")


def border(img: Image.Image, rng: random.Random) -> Edit:
    f = rng.uniform(0.02, 0.10)
    color = rng.choice(((255, 255, 255), (0, 0, 0), tuple(rng.randrange(256) for _ in range(3))))
    out = _augly().pad(img, w_factor=f, h_factor=f, color=color)
    return Edit("border", out, f"{f:.0%} border {color}")


def letterbox(img: Image.Image, rng: random.Random) -> Edit:
    """Padded into a 16:9 or a square frame (a video still, a social-media post)."""
    target = rng.choice((16 / 9, 1.0, 9 / 16))
    color = rng.choice(((0, 0, 0), (255, 255, 255)))
    w, h = img.size
    if w / h < target:  # too narrow: bars left and right
        wf, hf = (h * target - w) / 2 / w, 0.0
    else:
        wf, hf = 0.0, (w / target - h) / 2 / h
    out = _augly().pad(img, w_factor=wf, h_factor=hf, color=color) if wf or hf else img
    name = {16 / 9: "16:9", 1.0: "1:1", 9 / 16: "9:16"}[target]
    return Edit("letterbox", out, f"{name} frame {color}")


def screenshot(img: Image.Image, rng: random.Random) -> Edit:
    """A screenshot of the photo in a web or phone app (AugLy's bundled templates), cut down by
    the user to the photo and some of the app around it: screenshot-like padding."""
    import json

    from augly.utils import SCREENSHOT_TEMPLATES_DIR

    template = rng.choice(("web.png", "mobile.png"))
    with open(os.path.join(SCREENSHOT_TEMPLATES_DIR, "bboxes.json")) as f:
        x1, y1, x2, y2 = json.load(f)[template]
    shot = _augly().overlay_onto_screenshot(
        img, template_filepath=os.path.join(SCREENSHOT_TEMPLATES_DIR, template), crop_src_to_fit=False)
    mx, my = rng.uniform(0.03, 0.25) * (x2 - x1), rng.uniform(0.1, 0.45) * (y2 - y1)
    box = (max(0, round(x1 - mx)), max(0, round(y1 - my)),
           min(shot.width, round(x2 + mx)), min(shot.height, round(y2 + my)))
    out = shot.convert("RGB").crop(box)
    share = (x2 - x1) * (y2 - y1) / ((box[2] - box[0]) * (box[3] - box[1]))
    if rng.random() < 0.5:  # screenshots are PNG files, unless a messenger re-encoded them
        return Edit("screenshot", out, f"{template}, photo box {share:.0%} of it, PNG", "PNG", {})
    return Edit("screenshot", out, f"{template}, photo box {share:.0%} of it, JPEG")


def exif_orientation(img: Image.Image, rng: random.Random) -> Edit:
    """Pixels stored rotated or mirrored, with the EXIF tag that makes a viewer show the photo
    unchanged (what a phone writes)."""
    o = rng.choice((3, 6, 6, 8, 8, 2, 5, 7, 4))
    exif = Image.Exif()
    exif[0x0112] = o
    return Edit("exif_orientation", img.transpose(STORE_TRANSPOSE[o]), f"orientation {o}", "JPEG",
                {"quality": JPEG_SAVE_QUALITY, "exif": exif.tobytes()})


# -- colour and tone ----------------------------------------------------------------------------
def grey(img: Image.Image, rng: random.Random) -> Edit:
    out = _augly().grayscale(img, mode=rng.choice(("luminosity", "average")))
    return Edit("grey", out.convert("L") if rng.random() < 0.5 else out, "greyscale")


def tone(img: Image.Image, rng: random.Random) -> Edit:
    """Sepia or a colour tint, blended with the photo at 50-100%."""
    if rng.random() < 0.6:
        toned, what = _alb_apply(_alb().ToSepia(p=1.0), img, rng), "sepia"
    else:
        dark = tuple(rng.randrange(0, 90) for _ in range(3))
        light = tuple(rng.randrange(170, 256) for _ in range(3))
        toned, what = ImageOps.colorize(img.convert("L"), dark, light), f"duotone {dark}-{light}"
    a = rng.uniform(0.5, 1.0)
    return Edit("tone", Image.blend(img.convert("RGB"), toned, a), f"{what} at {a:.0%}")


def saturation(img: Image.Image, rng: random.Random) -> Edit:
    f = rng.uniform(0.2, 0.6) if rng.random() < 0.5 else rng.uniform(1.5, 2.5)
    return Edit("saturation", _augly().saturation(img, factor=f), f"x{f:.2f}")


def exposure(img: Image.Image, rng: random.Random) -> Edit:
    """Brighter or darker by a brightness factor, or a gamma curve."""
    if rng.random() < 0.5:
        f = rng.uniform(0.45, 0.75) if rng.random() < 0.5 else rng.uniform(1.3, 1.7)
        return Edit("exposure", _augly().brightness(img, factor=f), f"brightness x{f:.2f}")
    g = rng.choice((rng.randint(45, 70), rng.randint(140, 200)))
    out = _alb_apply(_alb().RandomGamma(gamma_limit=(g, g), p=1.0), img, rng)
    return Edit("exposure", out, f"gamma {g / 100:.2f}")


def white_balance(img: Image.Image, rng: random.Random) -> Edit:
    """A camera's white balance set for another light (black-body colour temperature)."""
    t = rng.choice((rng.randint(4000, 5200), rng.randint(7500, 11000)))
    jitter = _alb().PlanckianJitter(mode="blackbody", p=1.0)
    out = Image.fromarray(jitter.apply(np.asarray(img.convert("RGB")), temperature=t))
    return Edit("white_balance", out, f"{t} K")


# -- noise, blur, sharpening --------------------------------------------------------------------
def noise(img: Image.Image, rng: random.Random) -> Edit:
    if rng.random() < 0.5:
        s = rng.uniform(0.03, 0.12)
        out, what = _alb_apply(_alb().GaussNoise(std_range=(s, s), p=1.0), img, rng), f"gaussian std {s:.2f}"
    else:
        i = rng.uniform(0.3, 0.8)
        out, what = _alb_apply(_alb().ISONoise(intensity=(i, i), p=1.0), img, rng), f"ISO noise {i:.2f}"
    return Edit("noise", out, what)


def blur(img: Image.Image, rng: random.Random) -> Edit:
    r = rng.uniform(0.002, 0.008) * _side(img)  # 0.5-2 px once the photo is seen at 224 px
    return Edit("blur", _augly().blur(img, radius=r), f"gaussian radius {r:.1f} px")


def sharpen(img: Image.Image, rng: random.Random) -> Edit:
    a = rng.uniform(0.3, 0.9)
    out = _alb_apply(_alb().Sharpen(alpha=(a, a), lightness=(1.0, 1.0), p=1.0), img, rng)
    return Edit("sharpen", out, f"alpha {a:.2f}")


# -- overlays -----------------------------------------------------------------------------------
def caption(img: Image.Image, rng: random.Random) -> Edit:
    """A meme-style caption band above or below the photo."""
    aug = _augly()
    band = rng.uniform(0.12, 0.25)
    top = rng.random() < 0.6
    w, h = img.size
    paper = rng.choice(((255, 255, 255), (0, 0, 0)))
    canvas = Image.new("RGB", (w, round(h * (1 + band))), paper)
    canvas.paste(img.convert("RGB"), (0, round(h * band) if top else 0))
    font = _font(rng.choice(CAPTION_FONTS))
    text = _words(rng, 2, 5).upper()
    ink = (0, 0, 0) if paper == (255, 255, 255) else (255, 255, 255)
    y = 0.02 if top else h / canvas.size[1] + 0.02
    out = aug.overlay_text(canvas, text=_text_ids(font, text), font_file=font, font_size=band * 0.45,
                           color=ink, x_pos=0.04, y_pos=y)
    return Edit("caption", out.convert("RGB"), f"'{text}' {'above' if top else 'below'}, band {band:.0%}")


def watermark(img: Image.Image, rng: random.Random) -> Edit:
    """Small, faint text in a corner (a photographer's or a site's mark)."""
    font = _font(rng.choice(WATERMARK_FONTS))
    text = rng.choice(("© ", "")) + rng.choice(("photo", "studio", "pics", "foto", "images")) + \
        rng.choice((" by ", "-", " ")) + rng.choice(("anna", "tom", "leo", "mia", "ravi", "kim")) + \
        rng.choice(("", ".com", " 2022"))
    size = rng.uniform(0.035, 0.07)
    op = rng.uniform(0.3, 0.7)
    x, y = rng.choice(((0.03, 0.9), (0.55, 0.9), (0.03, 0.03), (0.55, 0.03)))
    out = _augly().overlay_text(img, text=_text_ids(font, text), font_file=font, font_size=size, opacity=op,
                                color=rng.choice(((255, 255, 255), (0, 0, 0), (200, 200, 200))), x_pos=x, y_pos=y)
    return Edit("watermark", out.convert("RGB"), f"'{text}' opacity {op:.1f}")


# -- held out: never used in training -----------------------------------------------------------
def overlay_text(img: Image.Image, rng: random.Random) -> Edit:
    """One to three lines of large, opaque text across the photo (DISC2021-style)."""
    font = _font(rng.choice(HELDOUT_TEXT_FONTS))
    lines = [_text_ids(font, _words(rng, 1, 3)) for _ in range(rng.randint(1, 3))]
    size = rng.uniform(0.08, 0.16)
    color = tuple(rng.randrange(256) for _ in range(3))
    out = _augly().overlay_text(img, text=lines, font_file=font, font_size=size, color=color,
                                x_pos=rng.uniform(0.0, 0.3), y_pos=rng.uniform(0.1, 0.55))
    return Edit("overlay_text", out.convert("RGB"), f"{len(lines)} lines, {os.path.basename(font)}, size {size:.2f}")


def emoji(img: Image.Image, rng: random.Random) -> Edit:
    """One or two emoji stickers (AugLy's bundled Twemoji)."""
    from augly.utils import EMOJI_DIR

    files = sorted(Path(EMOJI_DIR).rglob("*.png"))
    out, names = img.convert("RGB"), []
    for _ in range(rng.choice((1, 1, 2))):
        pick = rng.choice(files)
        size = rng.uniform(0.15, 0.35)
        out = _augly().overlay_emoji(out, emoji_path=str(pick), emoji_size=size,
                                     x_pos=rng.uniform(0.0, 1 - size), y_pos=rng.uniform(0.0, 1 - size)).convert("RGB")
        names.append(f"{pick.stem} {size:.0%}")
    return Edit("emoji", out, ", ".join(names))


def perspective(img: Image.Image, rng: random.Random) -> Edit:
    """A photo of the photo taken at an angle (corners moved 4-10%), frame kept."""
    s = rng.uniform(0.04, 0.10)
    out = _alb_apply(_alb().Perspective(scale=(s, s), keep_size=False, fit_output=True,
                                         border_mode=0, fill=(v := rng.choice((0, 255)), v, v), p=1.0), img, rng)
    return Edit("perspective", out, f"corner shift {s:.0%}")


# -- pairs --------------------------------------------------------------------------------------
COMBINABLE_FIRST = ("thumbnail", "upscale", "crop", "rotate", "border", "letterbox", "grey", "tone",
                    "saturation", "exposure", "white_balance", "noise", "blur", "sharpen", "caption",
                    "watermark")


def combo(img: Image.Image, rng: random.Random) -> Edit:
    """Two training edits in a row (the second may be a re-encoding or an EXIF rotation)."""
    first = rng.choice(COMBINABLE_FIRST)
    second = rng.choice([f for f in TRAIN_FAMILIES if f not in ("combo", first)])
    a = FAMILIES[first](img, rng)
    b = FAMILIES[second](a.decoded(), rng)
    return Edit("combo", b.image, f"{first} ({a.params}) + {second} ({b.params})", b.format, b.save_args)


FAMILIES: dict[str, Family] = {f.__name__: f for f in (
    jpeg, webp, heic, png, thumbnail, upscale, crop, rotate, border, letterbox, screenshot,
    exif_orientation, grey, tone, saturation, exposure, white_balance, noise, blur, sharpen,
    caption, watermark, combo, overlay_text, emoji, perspective)}
HELDOUT_FAMILIES: tuple[str, ...] = ("overlay_text", "emoji", "perspective")
TRAIN_FAMILIES: tuple[str, ...] = tuple(f for f in FAMILIES if f not in HELDOUT_FAMILIES)


def make_edit(family: str, img: Image.Image, rng: random.Random) -> Edit:
    """One edited copy of `img` (RGB) from `family`, with parameters drawn from `rng`."""
    try:
        fn = FAMILIES[family]
    except KeyError:
        raise ValueError(f"unknown edit family {family!r}; known: {', '.join(FAMILIES)}") from None
    return fn(img.convert("RGB") if img.mode != "RGB" else img, rng)


def training_view(img: Image.Image, rng: random.Random, families: tuple[str, ...] = TRAIN_FAMILIES) -> Image.Image:
    """A random training-family edit of `img`, as a viewer shows it: what training code wants."""
    return make_edit(rng.choice(families), img, rng).decoded()
