"""Two codes per photo (issue 14 part 5): a semantic code and a copy code, each with its own
bucket rows, kept apart in the store; and a library made before copy codes existed (schema v2)
migrates and gets its copy codes from the features it already stored, without a photo."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from hashcore.config import RESOURCES, Config
from hashcore.library import Library
from hashcore.models.manifest import (
    CopyEncoder,
    HeadInfo,
    copy_head_info,
    library_copy_info,
    record_copy_head,
)
from hashcore.models.methods.copyhash import CopyHash
from hashcore.store.db import SCHEMA_VERSION, Store
from hashcore.store.schema import MIGRATIONS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def copy_head_in(models_dir: Path, seed: int = 0, name: str = "copy-64-library") -> HeadInfo:
    """A tiny copy head fitted on random 1280-d "features" (5 views of 40 items), recorded as the
    copy head of `models_dir` (the folder `hashcore train --library` writes)."""
    rng = np.random.default_rng(seed)
    items = rng.normal(size=(40, 1280)).astype(np.float32)
    x = np.repeat(items, 5, axis=0) + 0.1 * rng.normal(size=(200, 1280)).astype(np.float32)
    y = np.repeat(np.arange(40), 5)
    head = CopyHash(64, dim=64, steps=30, batch=32, seed=seed).fit(x, y)
    head.params["operating_point"] = {"radius": 10, "min_cosine": 0.5}
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / f"{name}.npz"
    info = HeadInfo(path.stem, path, head.method, head.bits, head.save(path))
    record_copy_head(info, models_dir)
    return info


def test_both_codes_round_trip_with_their_own_buckets():
    with Store() as s:
        sem = s.ensure_model("itq-64", "itq", 64, "a")
        cp = s.ensure_model("copy-64", "copyhash", 64, "b", role="copy")
        with s.transaction() as c:
            root = s.add_root("/p")
            ids = [s.upsert_image(c, {"root_id": root, "path": f"/p/{n}.jpg", "size": 1, "mtime": 0.0,
                                      "content_hash": str(n), "indexed_at": 0.0}) for n in range(3)]
            sem_codes = np.array([[1], [1], [2]], np.uint64)  # photos 0 and 1 share a semantic code
            copy_codes = np.array([[7], [8], [7]], np.uint64)  # photos 0 and 2 share a copy code
            s.put_codes(c, sem, ids, sem_codes)
            s.put_codes(c, cp, ids, copy_codes)
        assert s.codes(sem)[1].tolist() == sem_codes.tolist()
        assert s.codes(cp)[1].tolist() == copy_codes.tolist()
        assert s.bucket(sem, sem_codes[0]) == [ids[0], ids[1]]
        assert s.bucket(cp, copy_codes[0]) == [ids[0], ids[2]]
        assert s.bucket(cp, sem_codes[0]) == []  # a semantic code never answers a copy lookup
        assert {m["name"]: m["role"] for m in s.stats()["models"]} == {"itq-64": "semantic", "copy-64": "copy"}
        # new weights for the copy head: its codes are stale, the semantic ones are not
        assert s.ensure_model("copy-64", "copyhash", 64, "c", role="copy") == cp
        assert len(s.codes(cp)[0]) == 0 and s.bucket(cp, copy_codes[0]) == []
        assert s.codes(sem)[0].tolist() == ids and s.ids_without_code(cp) == []  # no features stored here


def resources_without_copy_head(dest: Path) -> Path:
    """The shipped resources as they were before a copy head: the semantic heads only."""
    m = json.loads((RESOURCES / "models" / "manifest.json").read_text())
    m.pop("copy", None)
    m["heads"] = {n: e for n, e in m["heads"].items() if e["method"] != "copyhash"}
    (dest / "models").mkdir(parents=True)
    for e in m["heads"].values():
        (dest / "models" / e["file"]).symlink_to(RESOURCES / "models" / e["file"])
    (dest / "models" / "manifest.json").write_text(json.dumps(m))
    return dest


def v2_library(path: Path) -> None:
    """A library file as HashLens wrote it at schema v2: the v1 fixture, then the v2 step."""
    conn = sqlite3.connect(path)
    conn.executescript((FIXTURES / "schema_v1.sql").read_text())
    conn.executescript(MIGRATIONS[2] + ";INSERT INTO schema_version VALUES (2, 1763870001.0);")
    conn.close()


def test_a_v2_library_migrates_and_gets_copy_codes_from_its_stored_features(tmp_path, private_home):
    path = tmp_path / "old.db"
    v2_library(path)
    home = private_home / "hashlens"
    info = copy_head_in(home / "models")
    config = Config(home=home)
    assert library_copy_info(config) == info
    with Library(config, db_path=path) as lib:
        assert lib.store.version() == SCHEMA_VERSION == 5
        assert lib.copy is not None and lib.copy_model_id is not None
        roles = {m["name"]: m["role"] for m in lib.store.stats()["models"]}
        assert roles == {"itq-64": "semantic", info.name: "copy"}
        assert len(lib.store.codes(lib.copy_model_id)[0]) == 0  # none yet: nothing was decoded
        assert lib.recode() == 3
        ids, codes = lib.store.codes(lib.copy_model_id)
        _, feats = lib.store.features()
        assert ids.tolist() == [1, 2, 3]
        assert codes.tolist() == CopyEncoder(info).codes(feats).tolist()
        assert lib.store.bucket(lib.copy_model_id, codes[0]) == [i for i, c in zip(ids, codes, strict=True)
                                                                 if c.tolist() == codes[0].tolist()]
    backup = sqlite3.connect(tmp_path / "old.db.v2.bak")
    assert backup.execute("SELECT max(version) FROM schema_version").fetchone()[0] == 2
    assert backup.execute("SELECT count(*) FROM images").fetchone()[0] == 3


def test_duplicates_fill_missing_copy_codes_and_a_library_without_a_copy_head_works_as_before(
        tmp_path, private_home):
    path = tmp_path / "old.db"
    v2_library(path)
    home = private_home / "hashlens"
    with Library(Config(home=home, resources=resources_without_copy_head(tmp_path / "res")), db_path=path) as plain:
        assert plain.copy is None and plain.copy_model_id is None
        assert plain.duplicate_defaults() == (6, 0.80)
        assert plain.recode() == 3  # the semantic codes only (the fixture's came from other weights)
        assert [g.image_ids for g in plain.duplicates(min_cosine=0.99)] == [[1, 2, 3]]  # parallel features
    copy_head_in(home / "models")
    with Library(Config(home=home), db_path=path) as lib:
        assert lib.copy_model_id is not None
        assert lib.duplicate_defaults() == (10, 0.5)  # the copy head's operating point
        lib.duplicates()
        assert lib.store.ids_without_code(lib.copy_model_id) == []


@pytest.mark.parametrize("named", ["copy-64-library", {"64": "copy-64-library"}])
def test_the_manifest_names_the_copy_head_by_name_or_by_code_length(tmp_path, named):
    info = copy_head_in(tmp_path)
    data = json.loads((tmp_path / "manifest.json").read_text())
    data["copy"] = named
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    assert copy_head_info(tmp_path, 64) == info
    del data["copy"]  # no "copy" entry: the folder's copyhash head
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    assert copy_head_info(tmp_path, 64) == info


def test_photos_indexed_before_dct_hashes_are_read_again_once_without_the_backbone(tmp_path, private_home):
    from hashcore.ingest.decode import decode_file
    from hashcore.models.manifest import dct_codes
    from tests.photos import small_library

    photos = small_library(tmp_path / "photos", 4, 256)
    home = private_home / "hashlens"
    copy_head_in(home / "models", name="copy-64-plain")  # a copy head without a DCT test
    with Library(Config(home=home), db_path=tmp_path / "lib.db") as lib:
        assert lib.index([photos]).indexed == 4 and lib.indexer.dct_model_id is None
        _, before = lib.store.features()
    info = copy_head_in(home / "models", name="copy-64-dct")
    head = CopyEncoder(info).head
    head.params["operating_point"] = {"radius": 10, "min_cosine": 0.5, "dct_radius": 10, "dct_min_cosine": 0.3}
    record_copy_head(HeadInfo(info.name, info.path, info.method, info.bits, head.save(info.path)), home / "models")
    with Library(Config(home=home), db_path=tmp_path / "lib.db") as lib:
        assert lib.indexer.dct_model_id is not None and lib.dedupe.missing_dct() == 4

        real = lib.encoder.embed

        def no_backbone(images: list) -> tuple[np.ndarray, np.ndarray]:
            assert not images, "the backbone ran: stored features should have been reused"
            return real(images)

        lib.encoder.embed = no_backbone  # type: ignore[method-assign]
        report = lib.index([photos])
        assert report.indexed == 4 and lib.dedupe.missing_dct() == 0
        ids, codes = lib.store.codes(lib.indexer.dct_model_id)
        paths = {r["id"]: r["path"] for r in lib.store.images()}
        assert codes.tolist() == dct_codes([decode_file(paths[i]).image for i in ids.tolist()]).tolist()
        assert np.array_equal(lib.store.features()[1], before)
        assert lib.index([photos]).skipped == 4  # once
