"""End to end: `hashcore dups` at its two levels on real photos. Two different photos of one
scene (the Eiffel Tower, from two of gcompris's photo sets) and an edited copy of one of them:
the copy is grouped with its own original, the other shot never; `--similar` offers the other
shot apart, as a similar shot that nothing proposes to remove."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageEnhance

from tests.e2e.cli import hashcore
from tests.photos import SAMPLES

GCOMPRIS = Path("/usr/share/gcompris-qt/rcc")
# (resource file, path inside it): one monument, two different photographs
EIFFEL = {"eiffel-a": ("categorization", "images/monuments/eiffelTower.webp"),
          "eiffel-b": ("explore_monuments", "france/eiffelTower.webp")}


def gcompris_photo(rcc: str, rel: str) -> Image.Image:
    """A photo out of gcompris's Qt resource files (Pillow cannot read .rcc; Qt can)."""
    from PySide6.QtCore import QFile, QIODevice, QResource

    path = GCOMPRIS / f"{rcc}.rcc"
    assert QResource.registerResource(str(path)), f"Qt could not read {path}"
    try:
        f = QFile(f":/gcompris/src/activities/{rcc}/resource/{rel}")
        assert f.open(QIODevice.OpenModeFlag.ReadOnly), f"no {rel} in {path}"
        data = bytes(f.readAll().data())
        f.close()
    finally:
        QResource.unregisterResource(str(path))
    return Image.open(io.BytesIO(data)).convert("RGB")


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    assert GCOMPRIS.is_dir(), "install Debian's gcompris-qt-data (.ci/run does): its photos are the test's scene"
    lib = tmp_path_factory.mktemp("library")
    paths = {}
    for name, (rcc, rel) in EIFFEL.items():
        img = gcompris_photo(rcc, rel)
        img.save(lib / f"{name}.jpg", quality=92)
        paths[name] = str(lib / f"{name}.jpg")
    # an everyday edit of photo a: trimmed 5% a side, brightened, saved again at JPEG quality 70
    img = Image.open(paths["eiffel-a"])
    w, h = img.size
    edit = ImageEnhance.Brightness(img.crop((w // 20, h // 20, w - w // 20, h - h // 20))).enhance(1.2)
    (lib / "edited").mkdir()
    edit.save(lib / "edited" / "eiffel-a-bright.jpg", quality=70)
    paths["edit"] = str(lib / "edited" / "eiffel-a-bright.jpg")
    for name in ("coffee.jpg", "chelsea-cat.jpg", "rocket-launch.jpg"):  # other photos of the library
        shutil.copy2(SAMPLES / name, lib / name)
    db = lib.parent / f"{lib.name}.db"
    summary = json.loads(hashcore("index", str(lib), "--json", db=db, real_process=True).stdout)
    assert summary["indexed"] == 6 and summary["errors"] == []
    return db, paths


def test_the_copy_groups_with_its_original_and_the_other_shot_never(scene):
    db, paths = scene
    groups = json.loads(hashcore("dups", "--json", db=db).stdout)
    assert {g["kind"] for g in groups} <= {"exact", "near"}  # copies only, by default
    copy = [g for g in groups if paths["edit"] in g["paths"]]
    assert len(copy) == 1 and copy[0]["kind"] == "near", groups
    assert paths["eiffel-a"] in copy[0]["paths"]
    assert paths["eiffel-b"] not in copy[0]["paths"]
    assert not any({paths["eiffel-a"], paths["eiffel-b"]} <= set(g["paths"]) for g in groups)
    assert len(copy[0]["remove"]) == len(copy[0]["paths"]) - 1  # a copy is proposed for removal


def test_similar_shots_come_apart_and_nothing_in_them_is_proposed_for_removal(scene):
    db, paths = scene
    copies = json.loads(hashcore("dups", "--json", db=db).stdout)
    groups = json.loads(hashcore("dups", "--similar", "--json", db=db).stdout)
    assert [g for g in groups if g["kind"] != "similar"] == copies  # the copy level is unchanged
    shots = [g for g in groups if g["kind"] == "similar"]
    # the other photo of the tower is offered as a similar shot of the first
    assert any({paths["eiffel-a"], paths["eiffel-b"]} <= set(g["paths"]) for g in shots), groups
    for g in shots:
        assert g["remove"] == [] and g["reclaimable"] == 0 and "not copies" in g["reason"]
        assert not any(set(g["paths"]) <= set(c["paths"]) for c in copies)
    text = hashcore("dups", "--similar", db=db).stdout
    assert "similar" in text and "nothing is marked for removal" in text
