"""SIGKILL at random moments: the database stays sound and nothing is lost."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hashcore.cleanup.trash import find_in_trash
from hashcore.config import Config
from hashcore.library import Library
from tests.photos import small_library

ROOT = Path(__file__).resolve().parents[2]
TRIALS = int(os.environ.get("HASHLENS_CRASH_TRIALS", "20"))


def start_cli(db: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hashcore.cli", "--db", str(db), *args],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_after(proc: subprocess.Popen, seconds: float) -> bool:
    """SIGKILL after `seconds` unless it ended first. True if it was killed."""
    try:
        proc.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def codes_by_path(db: Path, home: Path) -> dict[str, bytes]:
    with Library(Config(home=home), db_path=db) as lib:
        ids, codes = lib.store.codes(lib.model_id)
        paths = {r["id"]: r["path"] for r in lib.store.images()}
        return {paths[i]: codes[n].tobytes() for n, i in enumerate(ids.tolist())}


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory) -> Path:
    return small_library(tmp_path_factory.mktemp("crash-photos"), 16, 640)


def test_sigkill_during_index_never_corrupts_and_a_rerun_completes(photo_dir, tmp_path):
    home = tmp_path / "home"
    reference = tmp_path / "reference.db"
    assert start_cli(reference, "index", str(photo_dir)).wait() == 0
    expected = codes_by_path(reference, home)
    assert len(expected) == 16
    rng = random.Random(1234)
    killed = 0
    for trial in range(TRIALS):
        db = tmp_path / f"trial{trial}.db"
        killed += kill_after(start_cli(db, "index", str(photo_dir)), rng.uniform(1.0, 6.0))
        if db.exists():
            assert integrity(db) == "ok", f"trial {trial}"
        if trial % 4 == 3 or trial == TRIALS - 1:  # a rerun completes and matches a clean index
            assert start_cli(db, "index", str(photo_dir)).wait() == 0
            assert integrity(db) == "ok"
            assert codes_by_path(db, home) == expected, f"trial {trial}"
    assert killed >= TRIALS // 2, "most trials should really have been killed mid-run"


def test_sigkill_during_removal_leaves_every_file_in_place_or_in_the_trash(photo_dir, tmp_path, private_home):
    home = tmp_path / "home"
    lib_dir = tmp_path / "lib"
    for n in range(3):  # many small files so the removal loop takes a while
        shutil.copytree(photo_dir, lib_dir / f"copy{n}")
    db = tmp_path / "lib.db"
    assert start_cli(db, "index", str(lib_dir)).wait() == 0
    with Library(Config(home=home), db_path=db) as lib:
        rows = lib.store.images()
    victims = [r for r in rows if "copy0" not in r["path"]]
    rng = random.Random(99)
    t0 = time.perf_counter()
    assert start_cli(db, "stats").wait() == 0
    startup = time.perf_counter() - t0
    for _ in range(6):
        batch = [r for r in victims if Path(r["path"]).exists()][:12]
        if not batch:
            break
        proc = start_cli(db, "trash", *[str(r["id"]) for r in batch])
        kill_after(proc, startup * rng.uniform(0.8, 1.6))
        assert integrity(db) == "ok"
        with Library(Config(home=home), db_path=db) as lib:  # opening settles half-done moves
            for r in rows:
                status = lib.store.image(r["id"])["status"]
                in_place = Path(r["path"]).exists()
                in_trash = find_in_trash(r["path"]) is not None
                assert in_place != in_trash, f"{r['path']}: in place {in_place}, in trash {in_trash}"
                assert status == ("ok" if in_place else "trashed"), r["path"]
    with Library(Config(home=home), db_path=db) as lib:
        trashed = [r for r in lib.store.images(status="trashed")]
        assert trashed, "some removals should have gone through"
        while True:
            try:
                lib.undo_trash()
            except Exception:
                break
        assert all(Path(r["path"]).exists() for r in rows)
        assert lib.store.count() == len(rows)
    assert np.all([Path(r["path"]).exists() for r in rows])
