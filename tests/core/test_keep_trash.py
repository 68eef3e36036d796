import os
from pathlib import Path

import pytest

from hashcore.cleanup import trash
from hashcore.cleanup.keep import choose_removals
from hashcore.errors import HashLensError, NotFoundError
from hashcore.store.db import Store


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
