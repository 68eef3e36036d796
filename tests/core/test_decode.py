import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hashcore.errors import DecodeError
from hashcore.ingest.decode import decode_bytes, decode_file

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"


def encoded(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return Image.open(SAMPLES / "coffee.jpg").convert("RGB")


@pytest.mark.parametrize("fmt,kw", [("JPEG", {}), ("PNG", {}), ("WEBP", {}), ("TIFF", {}),
                                    ("BMP", {}), ("GIF", {}), ("HEIF", {})])
def test_every_supported_format_decodes_to_rgb(photo, fmt, kw):
    p = decode_bytes(encoded(photo, fmt, **kw))
    assert p.image.mode == "RGB"
    assert (p.width, p.height) == photo.size
    assert p.format in (fmt, "HEIF", "HEIC")
    assert len(p.content_hash) == 40


def test_exif_orientation_is_applied_and_size_reported_upright(photo):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    p = decode_bytes(encoded(photo, "JPEG", exif=exif.tobytes()))
    assert (p.width, p.height) == (photo.height, photo.width)
    assert p.image.height > p.image.width  # landscape coffee shown as portrait


def test_large_jpeg_is_decoded_in_draft_mode():
    big = Image.new("RGB", (6000, 4000), (120, 80, 40))
    p = decode_bytes(encoded(big, "JPEG", quality=70))
    assert (p.width, p.height) == (6000, 4000)
    assert max(p.image.size) <= 448  # never the full 24 MP in memory


def test_exif_facts_are_read(photo):
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0132] = "Canon", "Canon EOS 5D", "2021:06:01 12:00:00"
    p = decode_bytes(encoded(photo, "JPEG", exif=exif.tobytes()))
    assert p.camera == "Canon EOS 5D" and p.taken_at == "2021:06:01 12:00:00"


def test_palette_png_with_transparency_and_16bit_tiff(photo):
    pal = photo.convert("P", palette=Image.Palette.ADAPTIVE)
    pal.info["transparency"] = 0
    assert decode_bytes(encoded(pal, "PNG", transparency=0)).image.mode == "RGB"
    deep = Image.fromarray(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16)
    assert decode_bytes(encoded(deep, "TIFF")).image.mode == "RGB"


def test_bad_files_raise_clear_decode_errors(tmp_path, photo):
    jpeg = encoded(photo, "JPEG")
    cases = {
        "empty.jpg": (b"", "empty"),
        "random.jpg": (np.random.default_rng(0).bytes(5000), "not an image"),
        "truncated.jpg": (jpeg[: len(jpeg) // 3], "truncated"),
        "text.png": (b"hello, I am not a PNG" * 10, "not an image"),
    }
    for name, (data, reason) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DecodeError, match=reason):
            decode_file(tmp_path / name)
    with pytest.raises(DecodeError, match="vanished"):
        decode_file(tmp_path / "gone.jpg")


def test_decompression_bomb_is_refused(photo):
    # a real small PNG whose header is rewritten to declare 100,000 x 100,000 pixels
    png = bytearray(encoded(photo.resize((64, 64)), "PNG"))
    assert png[12:16] == b"IHDR"
    png[16:24] = struct.pack(">II", 100_000, 100_000)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    with pytest.raises(DecodeError, match="100000x100000|bomb"):
        decode_bytes(bytes(png))
