"""The duplicate finder with its geometric check, on a real library: a crop to about half, a
letterbox and an app-screenshot frame of a real photo are grouped with it, other photos are not;
the check reports progress, keeps its verdicts for the next run and the next session, and can be
cancelled; two shots of one scene are similar shots, not copies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hashcore.config import RESOURCES, Config
from hashcore.errors import Cancelled
from hashcore.library import Library
from hashcore.search.geometry import VERSION as GEOMETRY_VERSION
from tests.core.test_geometry import crop, letterbox, photo, screenshot, stereo

SAMPLES = RESOURCES / "samples"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("geo-lib")
    for name in ("coffee.jpg", "astronaut.jpg", "rocket-launch.jpg", "camera.jpg"):
        shutil.copy(SAMPLES / name, root / name)
    cat = photo("chelsea-cat.jpg")
    cat.save(root / "cat.jpg", quality=92)
    crop(cat, 0.1, 0.2, 0.82, 0.92).save(root / "cat-crop.jpg", quality=85)
    letterbox(cat).save(root / "cat-letterbox.jpg", quality=85)
    screenshot(cat).save(root / "cat-screenshot.png")
    return root


def _library(tmp_path: Path, folder: Path) -> Library:
    lib = Library(Config(home=tmp_path / "home"), db_path=tmp_path / "library.db")
    report = lib.index([folder])
    assert not report.errors
    return lib


def test_crop_letterbox_and_screenshot_join_their_original(tmp_path: Path, folder: Path) -> None:
    with _library(tmp_path, folder) as lib:
        seen: list[tuple[int, int, str]] = []
        groups = lib.duplicates(progress=lambda d, t, w: seen.append((d, t, w)))
        names = [sorted(Path(p).name for p in g.paths) for g in groups if g.kind != "similar"]
        cat = ["cat-crop.jpg", "cat-letterbox.jpg", "cat-screenshot.png", "cat.jpg"]
        assert cat in names, names
        assert all(set(n) <= set(cat) for n in names), names  # no other photo joins, no other group
        # the copy head alone does not take all of them: the geometric check did the work, and said so
        assert lib.dedupe.matched > 0
        assert seen and seen[-1][0] == seen[-1][1] and "doubtful pairs" in seen[-1][2]
        # its verdicts are kept for the next run (by content hash): nothing is matched again
        assert [sorted(Path(p).name for p in g.paths) for g in lib.duplicates()] == [
            sorted(Path(p).name for p in g.paths) for g in groups]
        assert lib.dedupe.matched == 0
        # a level stricter than the default asks for near-identical files: no geometric check
        strict = lib.duplicates(min_cosine=0.99)
        assert not any({"cat-crop.jpg", "cat-screenshot.png"} <= {Path(p).name for p in g.paths} for g in strict)
        generation = lib.store.generation()
    # and kept in the library: the next session (a new Library on the same file) reads no photo
    with Library(Config(home=tmp_path / "home"), db_path=tmp_path / "library.db") as again:
        assert again.store.generation() == generation  # keeping them invalidated no cached codes
        assert [sorted(Path(p).name for p in g.paths) for g in again.duplicates()] == [
            sorted(Path(p).name for p in g.paths) for g in groups]
        assert again.dedupe.matched == 0 and again.dedupe.decoded == 0


def test_the_check_can_be_cancelled_and_reports_unreadable_files(tmp_path: Path, folder: Path) -> None:
    with _library(tmp_path, folder) as lib:
        with pytest.raises(Cancelled):
            lib.duplicates(cancel=lambda: True)
    # a file that vanished after indexing is reported, not taken for a copy or a crash
    moved = tmp_path / "moved"
    shutil.copytree(folder, moved)
    with _library(tmp_path / "second", moved) as lib:
        (moved / "cat-screenshot.png").unlink()
        groups = lib.duplicates()
        assert any("cat-screenshot.png" in u for u in lib.dedupe.unreadable), lib.dedupe.unreadable
        assert not any(any(p.endswith("cat-screenshot.png") for p in g.paths) for g in groups if g.kind == "near")
        assert any({"cat.jpg", "cat-crop.jpg"} <= {Path(p).name for p in g.paths} for g in groups)



def test_two_shots_of_one_scene_are_similar_shots_not_copies(tmp_path: Path) -> None:
    """A stereo pair looks like a re-encoded copy to the copy head; the judge's moved pixels split
    it: the left shot keeps its real copy, the right shot is offered as a similar shot only."""
    folder = tmp_path / "photos"
    folder.mkdir()
    left, right = stereo("left"), stereo("right")
    left.save(folder / "left.jpg", quality=92)
    left.save(folder / "left-recompressed.jpg", quality=40)
    right.save(folder / "right.jpg", quality=92)
    for name in ("coffee.jpg", "camera.jpg"):
        shutil.copy(SAMPLES / name, folder / name)
    with _library(tmp_path, folder) as lib:
        groups = lib.duplicates(similar=True)
        near = [sorted(Path(p).name for p in g.paths) for g in groups if g.kind == "near"]
        assert near == [["left-recompressed.jpg", "left.jpg"]], near
        shots = [{Path(p).name for p in g.paths} for g in groups if g.kind == "similar"]
        assert any("right.jpg" in s and s & {"left.jpg", "left-recompressed.jpg"} for s in shots), shots
        # and "photos like this one" no longer calls the other shot a copy (the verdict is kept)
        id_of = {Path(r["path"]).name: r["id"] for r in lib.store.images()}
        hits = {Path(h.path).name: h for h in lib.search_id(id_of["left.jpg"], k=5)}
        assert hits["left-recompressed.jpg"].copy
        assert "right.jpg" in hits and not hits["right.jpg"].copy and not hits["right.jpg"].maybe_copy
        # without the geometric check the copy head alone calls the two shots copies
        lib.dedupe.verify = False
        plain = [{Path(p).name for p in g.paths} for g in lib.duplicates() if g.kind == "near"]
        assert any({"left.jpg", "right.jpg"} <= s for s in plain), plain


def test_a_library_that_cannot_be_written_still_gets_its_groups(tmp_path: Path, folder: Path) -> None:
    """Keeping the verdicts is a cache: a read-only library file still answers, and says so."""
    with _library(tmp_path, folder) as lib:
        lib.store.conn.execute("PRAGMA query_only = ON")  # SQLite refuses every write from here on
        groups = lib.duplicates()
        assert any({"cat.jpg", "cat-crop.jpg"} <= {Path(p).name for p in g.paths} for g in groups)
        assert lib.dedupe.unkept is not None and "could not be kept" in lib.dedupe.unkept
        lib.store.conn.execute("PRAGMA query_only = OFF")
        lib.duplicates()
        assert lib.dedupe.unkept is None
        assert lib.store.verdicts(GEOMETRY_VERSION)  # kept once the file can be written
