"""Two writers and a reader on one library at once; and no network, ever."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hashcore.config import Config
from hashcore.library import Library
from tests.photos import small_library

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory) -> Path:
    return small_library(tmp_path_factory.mktemp("photos"), 24, 512)


def test_two_indexers_and_a_reader_at_once(photo_dir, tmp_path):
    db = tmp_path / "lib.db"
    Library(Config(home=tmp_path / "h"), db_path=db).close()  # create the file first
    env = dict(os.environ, HASHLENS_INDEX_BATCH="4")  # 6 commits each: many states for the reader to see
    procs = [subprocess.Popen([sys.executable, "-m", "hashcore.cli", "--db", str(db), "index", str(photo_dir)],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for _ in range(2)]
    reader = sqlite3.connect(db, timeout=30, isolation_level=None)
    seen = set()
    while any(p.poll() is None for p in procs):
        reader.execute("BEGIN")  # one read transaction: every count below from one snapshot
        try:
            ok = reader.execute("SELECT count(*) FROM images WHERE status = 'ok'").fetchone()[0]
            # every model's codes (the semantic code, and the copy code and DCT hash of issue 14)
            coded = [reader.execute("SELECT count(*) FROM codes c JOIN images i ON i.id = c.image_id "
                                    "WHERE i.status = 'ok' AND c.model_id = ?", (m,)).fetchone()[0]
                     for (m,) in reader.execute("SELECT id FROM models").fetchall()]
            featured = reader.execute("SELECT count(*) FROM features").fetchone()[0]
        finally:
            reader.execute("COMMIT")
        assert coded and all(n == ok for n in coded) and ok == featured, "a reader saw half a batch"
        seen.add(ok)
        time.sleep(0.01)  # polling interval only
    assert [p.returncode for p in procs] == [0, 0], [p.stderr.read() for p in procs]
    assert reader.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    paths = [r[0] for r in reader.execute("SELECT path FROM images WHERE status = 'ok' ORDER BY path")]
    assert paths == sorted(str(p) for p in photo_dir.iterdir())  # each photo exactly once
    assert len(seen) > 1, "the reader should have watched the library grow"


def test_no_network_connection_is_ever_opened(photo_dir, tmp_path, monkeypatch):
    attempts = []

    def refuse(self, address, *a, **kw):
        attempts.append(address)
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **kw: refuse(None, address))
    from hashcore.models.train import fit_and_save, make_head

    with Library(Config(home=tmp_path / "h"), db_path=tmp_path / "db") as lib:
        assert lib.index([photo_dir]).indexed == 24
        first = lib.store.images()[0]
        assert lib.search_file(first["path"], k=3)[0].path == first["path"]
        lib.search_id(first["id"], k=3)
        lib.duplicates()
        _, feats = lib.store.features()
        fit_and_save(make_head("itq", 16), feats, None, tmp_path / "models", "itq-16", True)
        lib.store.add_tags([first["id"]], ["beach"])
        hits = lib.find_tag(["beach"], k=3)  # tag-to-image search: text encoder and tag model
        assert len(hits) == 3 and hits[0].id == first["id"]  # the photo a person tagged comes first
    assert attempts == []
