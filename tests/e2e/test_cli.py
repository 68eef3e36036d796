"""End to end: the real `hashcore` command on a folder of real photos and planted copies."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.e2e.cli import as_json, hashcore
from tests.photos import build_library

MIN_PHOTOS = 30


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    lib = tmp_path_factory.mktemp("library")
    originals, groups = build_library(lib)
    assert len(originals) >= MIN_PHOTOS, ("too few real photos: install Debian's mate-backgrounds and "
                                          "plasma-workspace-wallpapers (.ci/run does)")
    db = lib.parent / f"{lib.name}.db"
    summary = as_json(hashcore("index", str(lib), "--json", db=db, real_process=True))
    return lib, db, originals, groups, summary


def test_index_reports_every_photo(indexed):
    lib, db, originals, groups, summary = indexed
    n_files = sum(1 for p in lib.rglob("*.jpg"))
    assert summary["indexed"] == n_files and summary["errors"] == [] and summary["skipped"] == 0


def test_dups_finds_every_planted_group_and_mixes_nothing(indexed):
    lib, db, originals, groups, _ = indexed
    found = as_json(hashcore("dups", "--json", db=db))
    source_of = {}
    for name, paths in groups.items():
        source_of.update({str(p): name for p in paths})
    for p in originals:
        source_of.setdefault(str(p), p.stem)
    for g in found:
        assert g["kind"] in ("near", "exact") and 0 < g["score"] <= 1
        assert len({source_of[p] for p in g["paths"]}) == 1, f"group mixes different photos: {g['paths']}"
    assert_planted_groups_found(db, groups, found)


def assert_planted_groups_found(db: Path, groups: dict[str, list[Path]], found: list[dict]) -> None:
    """Each planted photo in one group with its downscaled, re-compressed, brightened and
    cropped copies (the crop, which the copy head alone refuses with another edit on top at its
    calibrated precision, is confirmed by the geometric check of hashcore/search/geometry.py)."""
    for name, paths in groups.items():
        group = next((set(g["paths"]) for g in found if set(map(str, paths)) <= set(g["paths"])), None)
        assert group is not None, f"planted group {name} not found: {[g['paths'] for g in found]}"


def test_search_puts_variants_first(indexed):
    lib, db, originals, groups, _ = indexed
    for name, paths in list(groups.items())[:4]:
        hits = as_json(hashcore("search", str(paths[0]), "-k", "10", "--json", db=db))
        top = [h["path"] for h in hits[: len(paths)]]
        assert set(top) == set(map(str, paths)), f"{name}: {top}"
        assert hits[0]["path"] == str(paths[0]) and hits[0]["distance"] == 0
        # copies of the photo come first (issue 14 part 5), then photos that may be copies (not
        # verified), then the rest by semantic distance
        kind = [0 if h.get("copy") else 1 if h.get("maybe_copy") else 2 for h in hits[1:]]
        assert kind == sorted(kind), kind
        rest = [h["distance"] for h in hits[1:] if not h.get("copy") and not h.get("maybe_copy")]
        assert rest == sorted(rest)


def test_search_by_id_and_unindexed_file(indexed, tmp_path):
    lib, db, originals, groups, _ = indexed
    name, paths = next(iter(groups.items()))
    first = as_json(hashcore("search", str(paths[0]), "-k", "1", "--json", db=db))[0]
    by_id = as_json(hashcore("search", "--id", str(first["id"]), "-k", "4", "--json", db=db))
    assert first["id"] not in [h["id"] for h in by_id]
    assert {h["path"] for h in by_id} == set(map(str, paths[1:]))
    from PIL import Image
    outside = tmp_path / "outside.png"
    Image.open(paths[0]).rotate(3).save(outside)
    hits = as_json(hashcore("search", str(outside), "-k", "5", "--json", db=db))
    assert {h["path"] for h in hits} == set(map(str, paths))
    near = as_json(hashcore("search", str(paths[0]), "--radius", "0", "--json", db=db))
    assert all(h["distance"] == 0 for h in near) and str(paths[0]) in [h["path"] for h in near]


def test_second_index_skips_and_moves_keep_their_row(tmp_path):
    lib = tmp_path / "lib"
    originals, _ = build_library(lib, n_planted=0)
    db = tmp_path / "lib.db"
    originals = originals[:6]
    for extra in set((lib / "originals").iterdir()) - set(originals):
        extra.unlink()
    assert as_json(hashcore("index", str(lib), "--json", db=db))["indexed"] == 6
    again = as_json(hashcore("index", str(lib), "--json", db=db))
    assert again["indexed"] == 0 and again["skipped"] == 6
    first = as_json(hashcore("search", str(originals[0]), "-k", "1", "--json", db=db))[0]
    hashcore("tag", "add", "holiday", str(first["id"]), db=db)
    moved = lib / "sub" / "renamed.jpg"
    moved.parent.mkdir()
    shutil.move(originals[0], moved)
    originals[1].unlink()
    report = as_json(hashcore("index", str(lib), "--json", db=db))
    assert report["moved"] == 1 and report["missing"] == 1 and report["indexed"] == 0
    hit = as_json(hashcore("search", str(moved), "-k", "1", "--json", db=db))[0]
    assert hit == {"id": first["id"], "path": str(moved), "distance": 0}
    assert as_json(hashcore("tag", "list", str(first["id"]), "--json", db=db)) == {
        str(first["id"]): [{"tag": "holiday", "source": "user", "confidence": None}]}
    stats = as_json(hashcore("stats", "--json", db=db))
    assert stats["photos"] == 5 and stats["missing"] == 1


def test_unreachable_folder_is_reported_and_its_photos_kept(tmp_path):
    lib = tmp_path / "disk"
    originals, _ = build_library(lib, n_planted=0)
    db = tmp_path / "lib.db"
    n = as_json(hashcore("index", str(lib), "--json", db=db))["indexed"]
    lib.rename(tmp_path / "unplugged")
    report = as_json(hashcore("index", str(lib), "--json", db=db))
    assert report["unreachable"] == [str(lib)] and report["missing"] == 0
    assert "not found" in report["errors"][0]["error"]
    assert as_json(hashcore("stats", "--json", db=db))["photos"] == n
    lib.mkdir()  # an empty mount point: still not "all photos deleted"
    report = as_json(hashcore("index", str(lib), "--json", db=db))
    assert report["unreachable"] == [str(lib)] and as_json(hashcore("stats", "--json", db=db))["photos"] == n


def test_bad_files_are_reported_and_skipped(tmp_path):
    from PIL import Image

    from tests.photos import SAMPLES
    lib = tmp_path / "lib"
    lib.mkdir()
    good = lib / "good.jpg"
    shutil.copy(SAMPLES / "coffee.jpg", good)
    data = good.read_bytes()
    (lib / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (lib / "zero.jpg").write_bytes(b"")
    (lib / "notes.jpg").write_text("these are not pixels")
    bomb = bytearray((SAMPLES / "coins.jpg").read_bytes())
    Image.new("RGB", (8, 8)).save(lib / "bomb.png")
    png = bytearray((lib / "bomb.png").read_bytes())
    import struct
    import zlib
    png[16:24] = struct.pack(">II", 100_000, 100_000)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    (lib / "bomb.png").write_bytes(bytes(png))
    del bomb
    os.symlink(lib / "loop_b.jpg", lib / "loop_a.jpg")
    os.symlink(lib / "loop_a.jpg", lib / "loop_b.jpg")
    weird = os.path.join(os.fsencode(lib), b"caf\xe9.jpg")
    with open(weird, "wb") as fh:
        fh.write(data)
    report = as_json(hashcore("index", str(lib), "--json", db=tmp_path / "lib.db"))
    reasons = {Path(e["path"]).name: e["error"] for e in report["errors"]}
    assert report["indexed"] == 2  # good.jpg, and caf\xe9.jpg: a name that is not UTF-8 is no error
    assert "truncated" in reasons["truncated.jpg"]
    assert "empty" in reasons["zero.jpg"]
    assert "not an image" in reasons["notes.jpg"]
    assert "100000x100000" in reasons["bomb.png"] or "bomb" in reasons["bomb.png"]
    assert "loop" in reasons["loop_a.jpg"] and "loop" in reasons["loop_b.jpg"]
    assert "caf\\xe9.jpg" not in reasons and "caf\ufffd.jpg" not in reasons
    errors = as_json(hashcore("errors", "--json", db=tmp_path / "lib.db"))
    assert len(errors) == len(report["errors"])


def test_unreadable_file_is_reported(tmp_path):
    """chmod 000 stops everyone but root, so as root the CLI runs as 'nobody' (setpriv)."""
    from tests.photos import SAMPLES
    as_nobody: list[str] = []
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: cannot make a file unreadable")
        as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        probe = subprocess.run([*as_nobody, sys.executable, "-c", "import hashcore"], capture_output=True,
                               cwd=str(Path(__file__).resolve().parents[2]))
        if probe.returncode != 0:
            pytest.skip("running as root, and user 'nobody' cannot run this Python: cannot make a file unreadable")
        tmp_path = Path(tempfile.mkdtemp(prefix="hashlens-nobody-"))  # pytest's tmp is root-only
        tmp_path.chmod(0o777)
    lib = tmp_path / "lib"
    lib.mkdir(mode=0o777)
    lib.chmod(0o777)
    shutil.copy(SAMPLES / "coffee.jpg", lib / "fine.jpg")
    shutil.copy(SAMPLES / "coins.jpg", lib / "locked.jpg")
    (lib / "fine.jpg").chmod(0o644)
    (lib / "locked.jpg").chmod(0)
    env = dict(os.environ, HOME=str(tmp_path), HASHLENS_HOME=str(tmp_path / "hl"))
    proc = subprocess.run([*as_nobody, sys.executable, "-m", "hashcore.cli", "--db", str(tmp_path / "lib.db"),
                           "index", str(lib), "--json"], capture_output=True, text=True, env=env,
                          cwd=str(Path(__file__).resolve().parents[2]), timeout=600)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    if as_nobody:
        shutil.rmtree(tmp_path)
    assert report["indexed"] == 1
    assert report["errors"] == [{"path": str(lib / "locked.jpg"), "error": "permission denied"}]


def test_errors_are_one_line_without_traceback(tmp_path):
    proc = hashcore("search", "--id", "12345", ok=False, db=tmp_path / "x.db")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "no photo with id 12345" in proc.stderr
    proc = hashcore("search", str(tmp_path / "nope.jpg"), ok=False, db=tmp_path / "x.db")
    assert proc.returncode == 1 and "vanished" in proc.stderr or "not found" in proc.stderr


def test_adapting_to_the_library_keeps_every_planted_group(indexed):
    lib, db, originals, groups, _ = indexed
    n_files = sum(1 for _ in lib.rglob("*.jpg"))
    # trained small (each photo plus one view and one variant): the default 8 + 4 only takes longer
    adapted = as_json(hashcore("train", "--library", "--views", "1", "--variants", "1", "--json", db=db))
    assert adapted["name"] == "itq-64-library" and adapted["samples"] >= 64
    assert adapted["recoded"] == n_files
    stats = as_json(hashcore("stats", "--json", db=db))
    assert stats["model"] == "itq-64-library"
    found = as_json(hashcore("dups", "--json", db=db))
    source_of = {str(p): name for name, paths in groups.items() for p in paths}
    source_of.update({str(p): p.stem for p in originals if str(p) not in source_of})
    for g in found:
        assert len({source_of[p] for p in g["paths"]}) == 1, f"group mixes different photos: {g['paths']}"
    assert_planted_groups_found(db, groups, found)
    back = as_json(hashcore("train", "--shipped", "--json", db=db))
    assert back == {"model": "itq-64", "changed": True}


def test_train_library_honours_views_and_variants(tmp_path):
    from tests.photos import small_library

    photos = small_library(tmp_path / "photos", 16, 320)
    db = tmp_path / "lib.db"
    hashcore("--bits", "32", "index", str(photos), db=db)
    for views, variants in ((1, 0), (0, 2)):  # each photo, plus its views and its variants
        adapted = as_json(hashcore("--bits", "32", "train", "--library", "--views", str(views),
                                   "--variants", str(variants), "--json", db=db))
        assert adapted["samples"] == 16 * (1 + views + variants), (views, variants, adapted)
        assert adapted["name"] == "itq-32-library" and adapted["recoded"] == 16
    refused = hashcore("train", "--library", "--views", "-1", ok=False, db=db)
    assert refused.returncode == 1 and "0 or more" in refused.stderr
