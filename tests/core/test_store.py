import sqlite3

import numpy as np
import pytest

from hashcore.errors import NotFoundError, StoreError
from hashcore.search import bits as bitops
from hashcore.store.db import SCHEMA_VERSION, Store


def add_image(store, c, root, path, h="h", status="ok"):
    return store.upsert_image(c, {"root_id": root, "path": path, "size": 10, "mtime": 1.0,
                                  "content_hash": h, "status": status, "indexed_at": 0.0})


def test_new_file_is_wal_and_at_current_schema(tmp_path):
    with Store(tmp_path / "lib.db") as s:
        assert s.version() == SCHEMA_VERSION
        assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        for table in ("roots", "images", "features", "codes", "buckets", "tags", "models", "decisions"):
            assert s.db[table].exists()


def test_a_newer_schema_is_refused_not_overwritten(tmp_path):
    path = tmp_path / "lib.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version VALUES (99, 0)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store(path)


def test_codes_buckets_and_features_round_trip():
    s = Store()
    root = s.add_root("/photos")
    model = s.ensure_model("itq-64", "itq", 64, "abc")
    codes = bitops.pack(np.random.default_rng(1).random((3, 64)) > 0.5)
    codes[2] = codes[0]
    with s.transaction() as c:
        ids = [add_image(s, c, root, f"/photos/{n}.jpg", h=str(n)) for n in range(3)]
        s.put_codes(c, model, ids, codes)
        for i in ids:
            s.put_features(c, i, np.full(1280, i, np.float32), np.full(1000, 0.001, np.float32))
    got_ids, got = s.codes(model)
    assert got_ids.tolist() == ids and np.array_equal(got, codes)
    assert s.bucket(model, codes[0]) == [ids[0], ids[2]]
    s.set_status([ids[2]], "missing")
    assert s.bucket(model, codes[0]) == [ids[0]]  # missing photos are not search results
    fids, feats = s.features()
    assert fids.tolist() == ids[:2] and feats.dtype == np.float32 and feats[1, 0] == ids[1]
    assert s.ensure_model("itq-64", "itq", 64, "new-sha") == model
    assert len(s.codes(model)[0]) == 0  # new weights: stale codes dropped
    assert s.ids_without_code(model) == ids[:2]


def test_tags_and_decisions():
    s = Store()
    root = s.add_root("/p")
    with s.transaction() as c:
        a, b = add_image(s, c, root, "/p/a.jpg"), add_image(s, c, root, "/p/b.jpg")
    s.add_tags([a, b], ["beach", "  ", "family"])
    s.remove_tags([b], ["family"])
    assert s.all_tags() == [("beach", 2), ("family", 1)]
    assert s.ids_with_tag("family") == [a]
    with pytest.raises(NotFoundError):
        s.add_tags([999], ["x"])
    s.add_decision([b, a])
    assert s.decisions() == [{a, b}]


def test_a_failed_batch_leaves_nothing_behind():
    s = Store()
    root = s.add_root("/p")
    with pytest.raises(RuntimeError):
        with s.transaction() as c:
            add_image(s, c, root, "/p/a.jpg")
            raise RuntimeError("crash mid-batch")
    assert s.count() == 0


def test_removing_a_root_forgets_its_rows_only():
    s = Store()
    r1, r2 = s.add_root("/one"), s.add_root("/two")
    with s.transaction() as c:
        add_image(s, c, r1, "/one/a.jpg")
        add_image(s, c, r2, "/two/b.jpg")
    assert s.remove_root(r1) == 1
    assert [r["path"] for r in s.images()] == ["/two/b.jpg"]


FIXTURES = __import__("pathlib").Path(__file__).resolve().parents[1] / "fixtures"


def test_schema_v1_file_migrates_step_by_step_with_a_backup(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript((FIXTURES / "schema_v1.sql").read_text())
    conn.close()
    with Store(path) as s:
        assert s.version() == SCHEMA_VERSION == 5
        assert [r["path"] for r in s.images()] == ["/photos/img1.jpg", "/photos/img2.jpg", "/photos/img3.jpg"]
        assert s.tags_of(2) == [{"tag": "holiday", "source": "user", "confidence": None}]
        assert s.decisions() == [{1, 3}]
        ids, codes = s.codes(1)
        assert ids.tolist() == [1, 2, 3] and s.bucket(1, codes[0]) == [1]
        g = s.generation()
        s.add_tags([1], ["new"])
        assert s.generation() == g + 1
    backup = sqlite3.connect(tmp_path / "old.db.v1.bak")
    assert backup.execute("SELECT max(version) FROM schema_version").fetchone()[0] == 1
    assert backup.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert backup.execute("SELECT count(*) FROM images").fetchone()[0] == 3


def test_a_path_that_is_not_utf8_round_trips_to_its_exact_bytes(tmp_path):
    """b'caf\\xe9.jpg' (Latin-1, from an old camera) and b'caf\\xc3\\xa9.jpg' (UTF-8) are two files;
    both are stored, found by path and read back byte for byte, also after reopening."""
    import os

    folder = os.fsdecode(b"/photos/\xc9t\xe9")  # the folder's name is not UTF-8 either
    latin1 = os.fsdecode(b"/photos/\xc9t\xe9/caf\xe9.jpg")
    utf8 = os.fsdecode(b"/photos/\xc9t\xe9/caf\xc3\xa9.jpg")
    assert "\udce9" in latin1 and utf8.endswith("café.jpg")
    with Store(tmp_path / "lib.db") as s:
        root = s.add_root(folder)
        with s.transaction() as c:
            a = add_image(s, c, root, latin1, h="a")
            b = add_image(s, c, root, utf8, h="b")
            assert add_image(s, c, root, latin1, h="a") == a  # the same file again: same row
            s.put_errors(c, root, [(os.fsdecode(b"/photos/\xc9t\xe9/bad\xe8.jpg"), "truncated")])
    with Store(tmp_path / "lib.db") as s:
        assert a != b and s.count() == 2
        assert os.fsencode(s.image(a)["path"]) == b"/photos/\xc9t\xe9/caf\xe9.jpg"
        assert s.image_by_path(latin1)["id"] == a and s.image_by_path(utf8)["id"] == b
        assert s.image_by_path(os.fsdecode(b"/photos/\xc9t\xe9/caf.jpg")) is None
        assert set(s.images_under(root)) == {latin1, utf8}
        assert [r["path"] for r in s.images_by_hash("a")] == [latin1]
        assert sorted(r["path"] for r in s.images()) == sorted([latin1, utf8])
        assert [r["path"] for r in s.roots()] == [folder]
        assert [os.fsencode(e["path"]) for e in s.scan_errors()] == [b"/photos/\xc9t\xe9/bad\xe8.jpg"]
        moved = os.fsdecode(b"/photos/\xc9t\xe9/moved \xff.jpg")
        with s.transaction() as c:
            s.move_image(c, a, moved, root, 10, 2.0)
            s.clear_error(c, os.fsdecode(b"/photos/\xc9t\xe9/bad\xe8.jpg"))
        assert s.image_by_path(moved)["id"] == a and s.image_by_path(latin1) is None
        assert s.scan_errors() == []
        with s.transaction() as c:
            plain = add_image(s, c, root, "/photos/plain/café.jpg", h="c")
        kinds = dict(s.conn.execute("SELECT id, typeof(path) FROM images").fetchall())
        assert kinds == {a: "blob", b: "blob", plain: "text"}  # a path that is UTF-8 stays plain text


def test_forgetting_photos_drops_the_verdicts_no_file_holds_any_more():
    """Geometric verdicts are kept by content hash: forgetting a folder drops those of its files,
    unless another file of the same bytes is still in the library."""
    s = Store()
    r1, r2 = s.add_root("/one"), s.add_root("/two")
    with s.transaction() as c:
        add_image(s, c, r1, "/one/a.jpg", h="A")
        add_image(s, c, r1, "/one/b.jpg", h="B")
        add_image(s, c, r2, "/two/b-again.jpg", h="B")
        add_image(s, c, r2, "/two/c.jpg", h="C")
    s.add_verdicts(2, [(("A", "B"), [1.0]), (("A", "C"), [2.0]), (("B", "C"), [3.0])])
    assert s.remove_root(r1) == 2
    assert s.verdicts(2) == {("B", "C"): [3.0]}  # B's bytes are still at /two/b-again.jpg
