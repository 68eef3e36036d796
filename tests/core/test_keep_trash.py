import os
import pickle
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from hashcore.cleanup import trash
from hashcore.cleanup.keep import DEFAULT_RULE, choose_removals, jpeg_quality
from hashcore.errors import HashLensError, NotFoundError
from hashcore.ingest.decode import decode_file
from hashcore.store.db import Store

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "samples" / "coffee.jpg"


def row(i, path, w=100, h=100, size=1000, taken=None, mtime=0.0):
    return {"id": i, "path": path, "width": w, "height": h, "size": size, "taken_at": taken, "mtime": mtime}


def test_keep_rules_pick_the_expected_copy():
    rows = [row(1, "/a/x.jpg", 4000, 3000, 2_000_000, "2020:01:01 10:00:00"),
            row(2, "/b/x.jpg", 1000, 750, 3_000_000, "2019:05:05 10:00:00"),
            row(3, "/c/x.jpg", 2000, 1500, 900_000, "2021:01:01 10:00:00")]
    assert choose_removals(rows, "resolution", []) == (1, [3, 2])
    assert choose_removals(rows, "size", [])[0] == 2
    assert choose_removals(rows, "oldest", [])[0] == 2
    assert choose_removals(rows, "newest", [])[0] == 3
    assert choose_removals(rows, "folder", [], preferred="/c")[0] == 3


def test_protected_copies_are_never_removed():
    rows = [row(1, "/lib/a.jpg", 4000, 3000), row(2, "/ref/a.jpg", 100, 100), row(3, "/ref/b.jpg", 50, 50)]
    keep, remove = choose_removals(rows, "resolution", ["/ref"])
    assert keep == 2 and remove == [1]
    with pytest.raises(ValueError):
        choose_removals(rows, "folder", [])


def make_store_with_files(tmp_path: Path, names: list[str]) -> tuple[Store, list[int]]:
    lib = tmp_path / "lib"
    lib.mkdir()
    store = Store(tmp_path / "t.db")
    root = store.add_root(lib)
    ids = []
    with store.transaction() as c:
        for n in names:
            p = lib / n
            p.write_bytes(os.urandom(100 + len(n)))
            ids.append(store.upsert_image(c, {"root_id": root, "path": str(p), "size": p.stat().st_size,
                                              "mtime": p.stat().st_mtime, "content_hash": n,
                                              "status": "ok", "indexed_at": 0.0}))
    return store, ids


def test_trash_and_undo_round_trip(tmp_path, private_home):
    store, ids = make_store_with_files(tmp_path, ["a.jpg", "b.jpg", "c.jpg"])
    paths = [store.image(i)["path"] for i in ids]
    res = trash.move_to_trash(store, ids[:2])
    assert res.moved == paths[:2] and res.bytes == 100 + 5 + 100 + 5
    assert not Path(paths[0]).exists() and not Path(paths[1]).exists() and Path(paths[2]).exists()
    trashed = list((private_home / ".local/share/Trash/files").iterdir())
    assert sorted(p.name for p in trashed) == ["a.jpg", "b.jpg"]
    assert [store.image(i)["status"] for i in ids] == ["trashed", "trashed", "ok"]
    restored = trash.restore_batch(store)
    assert sorted(restored) == sorted(paths[:2])
    assert all(Path(p).exists() for p in paths)
    assert [store.image(i)["status"] for i in ids] == ["ok", "ok", "ok"]
    with pytest.raises(NotFoundError):
        trash.restore_batch(store)


def test_trash_refuses_protected_and_outside_files(tmp_path, private_home):
    store, ids = make_store_with_files(tmp_path, ["a.jpg"])
    store.set_protected(store.roots()[0]["id"], True)
    res = trash.move_to_trash(store, ids)
    assert res.moved == [] and "protected" in res.failed[0]["error"]
    assert Path(store.image(ids[0])["path"]).exists()
    outside = tmp_path / "elsewhere.jpg"
    outside.write_bytes(b"x")
    with store.transaction() as c:
        oid = store.upsert_image(c, {"root_id": None, "path": str(outside), "size": 1, "mtime": 0.0,
                                     "content_hash": "o", "status": "ok", "indexed_at": 0.0})
    assert "outside" in trash.move_to_trash(store, [oid]).failed[0]["error"]
    assert outside.exists()
    with pytest.raises(HashLensError):
        trash._guard(store, store.image(oid))


def test_reconcile_settles_a_crash_between_log_and_move(tmp_path, private_home):
    store, ids = make_store_with_files(tmp_path, ["a.jpg", "b.jpg"])
    paths = [store.image(i)["path"] for i in ids]
    with store.transaction() as c:  # crash after logging both, before/after moving
        for i, p in zip(ids, paths, strict=True):
            c.execute("INSERT INTO trash_log(batch, image_id, path, size, at) VALUES (1, ?, ?, 1, 0)", (i, p))
    trash.send_to_trash(paths[1])
    assert trash.reconcile(store) == 2
    assert store.image(ids[0])["status"] == "ok" and store.image(ids[1])["status"] == "trashed"
    assert trash.restore_batch(store) == [paths[1]] and Path(paths[1]).exists()


# -- "best copy": keeps the original over an upscale, a re-compression, a copy without EXIF -----
def camera_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = "Canon", "Canon EOS 80D"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2019:06:01 10:00:00"
    return exif


def save(img: Image.Image, path: Path, mtime: float, **kw) -> Path:
    img.save(path, "JPEG", **kw)
    os.utime(path, (mtime, mtime))
    return path


def photo_row(i: int, path: Path) -> dict:
    """An images row as the indexer stores it, from the real file."""
    photo, st = decode_file(path), path.stat()
    return {"id": i, "path": str(path), "width": photo.width, "height": photo.height, "size": st.st_size,
            "mtime": st.st_mtime, "taken_at": photo.taken_at, "camera": photo.camera}


@pytest.fixture()
def planted(tmp_path):
    """A camera original (a real photo with camera EXIF) and three worse copies of it. Each copy
    wins every other rule it can: the upscale is bigger, saved at higher quality and dated older;
    the re-compression and the stripped copy are older files."""
    img = Image.open(SAMPLE).convert("RGB")
    w, h = img.size
    return {
        "original": save(img, tmp_path / "IMG_0001.jpg", 1.6e9, quality=90, exif=camera_exif()),
        "upscale": save(img.resize((w * 3 // 2, h * 3 // 2), Image.Resampling.BICUBIC), tmp_path / "upscaled.jpg",
                        1.2e9, quality=95, exif=camera_exif()),
        "recompressed": save(img, tmp_path / "recompressed.jpg", 1.2e9, quality=15, exif=camera_exif()),
        "stripped": save(img, tmp_path / "stripped.jpg", 1.2e9, quality=90),
    }


def test_best_copy_keeps_the_original_over_an_upscale(planted):
    rows = [photo_row(1, planted["original"]), photo_row(2, planted["upscale"])]
    assert choose_removals(rows, "resolution", []) == (2, [1])  # the old default kept the upscale
    plan = choose_removals(rows, "best", [])
    assert plan == (1, [2])
    assert plan.reason == "keep IMG_0001.jpg: original resolution (upscaled.jpg upscaled 1.5x)"


def test_best_copy_keeps_the_original_over_a_recompression_and_a_copy_without_exif(planted):
    original = photo_row(1, planted["original"])
    recompressed, stripped = photo_row(2, planted["recompressed"]), photo_row(3, planted["stripped"])
    plan = choose_removals([original, recompressed], "best", [])
    assert plan == (1, [2]) and plan.reason == "keep IMG_0001.jpg: least compressed (recompressed.jpg JPEG quality ~15)"
    assert choose_removals([original, stripped], "oldest", [])[0] == 3
    plan = choose_removals([original, stripped], "best", [])
    assert plan == (1, [3]) and plan.reason == "keep IMG_0001.jpg: camera EXIF (stripped.jpg without)"


def test_best_copy_names_every_reason_in_a_mixed_group_and_yields_to_protection(planted, tmp_path):
    rows = [photo_row(i, planted[k]) for i, k in enumerate(("upscale", "recompressed", "stripped", "original"), 1)]
    plan = choose_removals(rows, DEFAULT_RULE, [])
    assert plan[0] == 4 and sorted(plan[1]) == [1, 2, 3]
    assert plan.reason == ("keep IMG_0001.jpg: original resolution (upscaled.jpg upscaled 1.5x), least compressed "
                           "(recompressed.jpg JPEG quality ~15), camera EXIF (stripped.jpg without)")
    keep, remove = pickle.loads(pickle.dumps(plan))  # plans travel to GUI workers intact
    assert (keep, remove) == (4, plan[1])
    ref = tmp_path / "ref"
    ref.mkdir()
    rows[0] = photo_row(1, planted["upscale"].rename(ref / "upscaled.jpg"))
    guarded = choose_removals(rows, "best", [str(ref)])
    assert guarded[0] == 1 and sorted(guarded[1]) == [2, 3, 4]
    assert guarded.reason == "keep upscaled.jpg: in a protected folder"


def test_best_copy_keeps_a_real_higher_resolution_original_over_its_smaller_copy(tmp_path):
    """The upscale test must not take a genuine original for an upscale of its downscaled copy."""
    img = Image.open(SAMPLE).convert("RGB")
    big = save(img, tmp_path / "big.jpg", 1.6e9, quality=90)
    small = save(img.resize((img.width * 2 // 3, img.height * 2 // 3), Image.Resampling.LANCZOS),
                 tmp_path / "small.jpg", 1.2e9, quality=95, exif=camera_exif())
    plan = choose_removals([photo_row(1, small), photo_row(2, big)], "best", [])
    assert plan == (2, [1]) and plan.reason == "keep big.jpg: highest resolution (small.jpg smaller)"


def test_best_copy_keeps_the_full_original_over_a_crop_of_the_same_shape(tmp_path):
    """A 90% crop keeps the photo's shape; the full frame must not be taken for an upscale of it."""
    img = Image.open(SAMPLE).convert("RGB")
    w, h = img.size
    full = save(img, tmp_path / "full.jpg", 1.6e9, quality=90, exif=camera_exif())
    crop = save(img.crop((w // 20, h // 20, w - w // 20, h - h // 20)), tmp_path / "crop.jpg", 1.2e9,
                quality=95)
    plan = choose_removals([photo_row(1, crop), photo_row(2, full)], "best", [])
    assert plan == (2, [1]) and "upscaled" not in plan.reason


def test_best_copy_keeps_the_original_over_its_letterboxed_copy(tmp_path):
    """A letterbox has more pixels than its original, all of the extra ones black bars: the best
    copy is the original (the geometric check now groups such copies with it)."""
    img = Image.open(SAMPLE).convert("RGB")
    w, h = img.size
    frame = Image.new("RGB", (w * 16 // 9 + w // 2, h + h // 2), (0, 0, 0))
    frame.paste(img, ((frame.width - w) // 2, (frame.height - h) // 2))
    original = save(img, tmp_path / "IMG_0002.jpg", 1.2e9, quality=90, exif=camera_exif())
    boxed = save(frame, tmp_path / "boxed.jpg", 1.6e9, quality=90)
    rows = [photo_row(1, boxed), photo_row(2, original)]
    assert choose_removals(rows, "resolution", [])[0] == 1  # by pixel count the letterbox wins
    plan = choose_removals(rows, "best", [])
    assert plan == (2, [1]), plan.reason
    assert "highest resolution" not in plan.reason


def test_jpeg_quality_is_read_back_from_the_quantisation_tables(tmp_path):
    img = Image.open(SAMPLE)
    for q in (15, 40, 75, 90, 95):
        save(img, tmp_path / "q.jpg", 0, quality=q)
        with Image.open(tmp_path / "q.jpg") as back:
            assert abs(jpeg_quality(back.quantization) - q) <= 2
