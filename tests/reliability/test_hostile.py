"""A corpus of hostile and odd files: each is reported with a reason or handled, nothing already
indexed is lost, and memory stays bounded."""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hashcore.config import Config
from hashcore.library import Library
from tests.photos import SAMPLES

ROOT = Path(__file__).resolve().parents[2]


def png_declaring(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG")
    png = bytearray(buf.getvalue())
    png[16:24] = struct.pack(">II", w, h)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    return bytes(png)


def jpeg_declaring(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "JPEG")
    jpg = bytearray(buf.getvalue())
    sof = jpg.index(b"\xff\xc0")
    jpg[sof + 5:sof + 9] = struct.pack(">HH", h, w)
    return bytes(jpg)


def write_corpus(d: Path) -> dict[str, str | None]:
    """Files -> the reason expected in the report (a substring), or None when it must index."""
    photo = Image.open(SAMPLES / "chelsea-cat.jpg").convert("RGB")
    jpeg = (SAMPLES / "chelsea-cat.jpg").read_bytes()
    d.mkdir(parents=True, exist_ok=True)
    expect: dict[str, str | None] = {}

    def put(name: str, data: bytes, reason: str | None) -> None:
        (d / name).write_bytes(data)
        expect[name] = reason

    def save(name: str, img: Image.Image, fmt: str, **kw) -> None:
        buf = io.BytesIO()
        img.save(buf, fmt, **kw)
        put(name, buf.getvalue(), None)

    put("truncated.jpg", jpeg[: len(jpeg) // 2], "truncated")
    put("zero.jpg", b"", "empty")
    put("random.jpg", np.random.default_rng(7).bytes(20_000), "not an image")
    put("huge.png", png_declaring(100_000, 100_000), "decompression bomb")
    put("huge.jpg", jpeg_declaring(65_000, 65_000), "decompression bomb")
    deep = Image.fromarray((np.indices((200, 300)).sum(axis=0) * 100).astype(np.uint16))
    save("deep16.tif", deep, "TIFF")
    save("cmyk.jpg", photo.convert("CMYK"), "JPEG")
    pal = photo.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    save("palette.png", pal, "PNG", transparency=0)
    frames = [photo.rotate(a) for a in (0, 10, 20)]
    save("animated.gif", frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    save("animated.webp", frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100)
    for value in (0, 9, 65535):
        exif = Image.Exif()
        exif[0x0112] = value
        save(f"orientation{value}.jpg", photo.rotate(value % 7), "JPEG", exif=exif.tobytes())
    long_name = "x" * 240 + ".jpg"
    put(long_name, jpeg, None)
    os.symlink("/etc/hostname", d / "outside-link.jpg")  # a link out of the root: not followed
    os.symlink(d / "loop2.jpg", d / "loop1.jpg")
    os.symlink(d / "loop1.jpg", d / "loop2.jpg")
    expect["loop1.jpg"] = expect["loop2.jpg"] = "loop"
    with open(os.path.join(os.fsencode(d), b"\xff\xfename.jpg"), "wb") as fh:
        fh.write(jpeg)
    expect[os.fsdecode(b"\xff\xfename.jpg")] = None  # a name that is not UTF-8 is indexed like any other
    return expect


def test_hostile_corpus_is_reported_and_good_photos_survive(tmp_path):
    lib_dir = tmp_path / "lib"
    good = lib_dir / "good"
    good.mkdir(parents=True)
    for p in sorted(SAMPLES.glob("*.jpg"))[:4]:
        shutil.copy(p, good / p.name)
    with Library(Config(home=tmp_path / "home"), db_path=tmp_path / "db") as lib:
        assert lib.index([lib_dir]).indexed == 4
        expect = write_corpus(lib_dir / "hostile")
        report = lib.index([lib_dir])
        reasons = {Path(e["path"]).name: e["error"] for e in report.errors}
        for name, reason in expect.items():
            if reason is None:
                assert name not in reasons, f"{name} should index: {reasons.get(name)}"
            else:
                assert reason in reasons.get(name, ""), f"{name}: {reasons.get(name)}"
        assert "outside-link.jpg" not in reasons  # skipped quietly, never followed
        assert report.indexed == sum(r is None for r in expect.values())
        assert lib.store.count() == 4 + report.indexed and lib.store.count("missing") == 0
        indexed = {Path(r["path"]).name: r for r in lib.store.images()}
        assert (indexed["deep16.tif"]["width"], indexed["deep16.tif"]["height"]) == (300, 200)
        assert indexed["animated.gif"]["format"] == "GIF"
        assert all(not r["path"].startswith("/etc") for r in indexed.values())


def test_rewritten_and_removed_during_a_scan(tmp_path):
    lib_dir = tmp_path / "lib"
    lib_dir.mkdir()
    for n in range(3):
        for p in sorted(SAMPLES.glob("*.jpg")):
            shutil.copy(p, lib_dir / f"{n}-{p.name}")
    files = sorted(lib_dir.iterdir())
    with Library(Config(home=tmp_path / "home"), db_path=tmp_path / "db") as lib:
        def rewrite(done, total, path):
            if done == 1:  # a later file is rewritten with other content after it was listed
                shutil.copy(SAMPLES / "coins.jpg", files[-1])
        lib.index([lib_dir], progress=rewrite)
        row = lib.store.image_by_path(str(files[-1]))
        coins = lib.store.images_by_hash(row["content_hash"])
        assert any(r["path"].endswith("-coins.jpg") for r in coins)  # indexed as what it now holds
        assert lib.index([lib_dir]).indexed <= 1  # the next run settles the new mtime
        before = lib.store.count()

        def pull_the_plug(done, total, path):
            if done == 1:
                shutil.rmtree(lib_dir)  # the whole folder vanishes mid-scan
        (lib_dir / "new.jpg").write_bytes((SAMPLES / "coffee.jpg").read_bytes()[:-10] + b"0123456789")
        report = lib.index([lib_dir], progress=pull_the_plug)
        assert str(lib_dir) in report.unreachable and report.missing == 0
        assert before <= lib.store.count() <= before + 1  # new.jpg may have been read before the plug
        assert lib.store.count("missing") == 0


def test_heic_without_a_decoder_says_so(tmp_path):
    d = tmp_path / "lib"
    d.mkdir()
    Image.open(SAMPLES / "coffee.jpg").save(d / "phone.heic", "HEIF")
    code = ("import sys; sys.modules['pillow_heif'] = None; from hashcore.cli import main; "
            f"sys.exit(main(['--db', {str(tmp_path / 'db')!r}, 'index', {str(d)!r}, '--json']))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["indexed"] == 0 and "pillow-heif" in report["errors"][0]["error"]


def test_memory_stays_bounded_on_the_hostile_corpus(tmp_path):
    write_corpus(tmp_path / "lib")
    # a fresh parent process, so the peak is this CLI run's alone, not an earlier test's child
    cli = [sys.executable, "-m", "hashcore.cli", "--db", str(tmp_path / "db"), "index", str(tmp_path / "lib")]
    code = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:], capture_output=True).returncode; "
            "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *cli], cwd=ROOT, capture_output=True, text=True, timeout=600)
    rc, peak_kb = map(int, out.stdout.split())
    assert rc == 0
    assert peak_kb / 1024 < 1500, f"indexing hostile files peaked at {peak_kb / 1024:.0f} MB"


@pytest.mark.parametrize("name", ["itq-64.npz"])
def test_a_tampered_model_file_is_refused(tmp_path, name):
    from hashcore.errors import ModelError
    from hashcore.models.manifest import Encoder, head_info
    models = tmp_path / "models"
    shutil.copytree(ROOT / "resources" / "models", models)
    data = bytearray((models / name).read_bytes())
    data[-100] ^= 0xFF
    (models / name).write_bytes(bytes(data))
    enc = Encoder(head_info(64, models_dir=models))
    with pytest.raises(ModelError, match="sha256"):
        enc.codes(np.zeros((1, 1280), np.float32))
