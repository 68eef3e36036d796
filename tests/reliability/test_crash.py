"""SIGKILL in the middle of the work: the database stays sound and nothing is lost.

Each kill lands at a point defined by the work the command has done (so many photos committed,
so many files moved to the trash), read from the database, never at a wall-clock moment: every
trial kills mid-run on a fast machine and on a slow one. The test reads that progress inside a
write transaction of its own (`BEGIN IMMEDIATE`) and sends SIGKILL while it still holds it, so
the command cannot commit anything more in between: it is certainly still at work when it dies.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from hashcore.cleanup.trash import find_in_trash, last_batch
from hashcore.config import Config
from hashcore.errors import NotFoundError
from hashcore.library import Library
from tests.photos import small_library

ROOT = Path(__file__).resolve().parents[2]
TRIALS = int(os.environ.get("HASHLENS_CRASH_TRIALS", "20"))
PHOTOS = 16
BATCH = 4  # photos per indexer transaction (HASHLENS_INDEX_BATCH): 16 photos commit 4 times
ATTEMPTS = 25  # runs per trial before a trial that is never killed mid-run fails
HANG = 600.0  # seconds; only turns a command that never gets anywhere into a failure


def start_cli(db: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, HASHLENS_INDEX_BATCH=str(BATCH))
    return subprocess.Popen([sys.executable, "-m", "hashcore.cli", "--db", str(db), *args],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def has_tables(conn: sqlite3.Connection, *names: str) -> bool:
    marks = ",".join("?" * len(names))
    found = conn.execute(f"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ({marks})",
                         names).fetchone()[0]
    return found == len(names)


def kill_when(proc: subprocess.Popen, db: Path, reached: Callable[[sqlite3.Connection], bool]) -> bool:
    """SIGKILL `proc` at the first look at `db` where `reached(conn)` holds. Each look is made
    inside BEGIN IMMEDIATE and the kill is sent before that transaction ends, so `proc` has
    committed nothing after what `reached` saw. True if it was killed, False if it ended first."""
    deadline = time.monotonic() + HANG
    conn: sqlite3.Connection | None = None
    try:
        while proc.poll() is None:
            assert time.monotonic() < deadline, "the command neither reached the kill point nor ended"
            if conn is None and db.exists():  # mode=rw: never create the file under the command's feet
                conn = sqlite3.connect(f"file:{db}?mode=rw", uri=True, timeout=HANG, isolation_level=None)
            if conn is not None:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if reached(conn):
                        proc.send_signal(signal.SIGKILL)
                        proc.wait()
                        return proc.returncode == -signal.SIGKILL
                finally:
                    conn.execute("ROLLBACK")
            time.sleep(0.002)  # polling interval only; the kill point comes from the database
        return False
    finally:
        if conn is not None:
            conn.close()


def committed_photos(at_least: int) -> Callable[[sqlite3.Connection], bool]:
    """The indexer has stored its folder (it is past start-up and the model) and committed at
    least `at_least` photos."""
    def reached(conn: sqlite3.Connection) -> bool:
        return (has_tables(conn, "roots", "images")
                and conn.execute("SELECT count(*) FROM roots").fetchone()[0] > 0
                and conn.execute("SELECT count(*) FROM images").fetchone()[0] >= at_least)
    return reached


def kill_index_run(db: Path, photo_dir: Path, kill_point: int) -> bool:
    """Index `photo_dir` into `db` and SIGKILL the run at `kill_point`: -1 as soon as the database
    file exists (schema being written, model loading), else once `kill_point` batches of BATCH
    photos are committed (0: the folder is stored, no photo yet). Every point leaves work to do."""
    proc = start_cli(db, "index", str(photo_dir))
    if kill_point >= 0:
        return kill_when(proc, db, committed_photos(kill_point * BATCH))
    deadline = time.monotonic() + HANG
    while proc.poll() is None and not db.exists():
        assert time.monotonic() < deadline, "the indexer never created its database"
        time.sleep(0.002)
    alive = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return alive and proc.returncode == -signal.SIGKILL


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
    return small_library(tmp_path_factory.mktemp("crash-photos"), PHOTOS, 640)


def test_sigkill_during_index_never_corrupts_and_a_rerun_completes(photo_dir, tmp_path):
    home = tmp_path / "home"
    reference = tmp_path / "reference.db"
    assert start_cli(reference, "index", str(photo_dir)).wait() == 0
    expected = codes_by_path(reference, home)
    assert len(expected) == PHOTOS
    # Every kill point as often as the others, in a seeded order. Each point leaves at least two
    # batches to do: a batch whose features are reused from an identical file commits within
    # milliseconds of the one before, and the run could end between two looks at the database.
    points = list(range(-1, PHOTOS // BATCH - 1))
    order = [points[t % len(points)] for t in range(TRIALS)]
    random.Random(1234).shuffle(order)
    for trial, point in enumerate(order):
        # A run that ends before a look at the database sees its kill point (its last batches can
        # commit within milliseconds when the poller is starved of CPU) proves nothing: the trial
        # starts again on a fresh database until a run is killed at its point, so every trial
        # counts on a machine of any speed or load.
        for attempt in range(ATTEMPTS):
            db = tmp_path / f"trial{trial}-{attempt}.db"
            killed = kill_index_run(db, photo_dir, point)
            if db.exists():
                assert integrity(db) == "ok", f"trial {trial}"
            if killed:
                break
        else:
            pytest.fail(f"trial {trial}: no index run was killed at kill point {point} in {ATTEMPTS} runs")
        if trial % 4 == 3 or trial == TRIALS - 1:  # a rerun completes and matches a clean index
            assert start_cli(db, "index", str(photo_dir)).wait() == 0
            assert integrity(db) == "ok"
            assert codes_by_path(db, home) == expected, f"trial {trial}"


def files_logged(ids: list[int], at_least: int) -> Callable[[sqlite3.Connection], bool]:
    """`trash` has logged the move of at least `at_least` of these photos (pending or done)."""
    marks = ",".join("?" * len(ids))
    return lambda conn: conn.execute(f"SELECT count(*) FROM trash_log WHERE image_id IN ({marks})",
                                     ids).fetchone()[0] >= at_least


def test_sigkill_during_removal_leaves_every_file_in_place_or_in_the_trash(photo_dir, tmp_path, private_home):
    home = tmp_path / "home"
    lib_dir = tmp_path / "lib"
    for n in range(3):  # many small files, so each removal run has a dozen moves to be killed among
        shutil.copytree(photo_dir, lib_dir / f"copy{n}")
    db = tmp_path / "lib.db"
    assert start_cli(db, "index", str(lib_dir)).wait() == 0
    with Library(Config(home=home), db_path=db) as lib:
        rows = lib.store.images()
    victims = [r for r in rows if "copy0" not in r["path"]]
    rng = random.Random(99)
    for _ in range(6):
        batch = [r["id"] for r in victims if Path(r["path"]).exists()][:12]
        if len(batch) < 2:
            break
        # killed while moving the (k+1)-th file, or just after it, before the next one is done
        k = rng.randrange(len(batch) - 1)
        assert kill_when(start_cli(db, "trash", *map(str, batch)), db, files_logged(batch, k + 1))
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
        while last_batch(lib.store) is not None:  # undo every killed run's removals, newest first
            assert lib.undo_trash(), "an undo step put nothing back"
        with pytest.raises(NotFoundError, match="nothing to undo"):
            lib.undo_trash()
        assert all(Path(r["path"]).exists() for r in rows)
        assert lib.store.count() == len(rows)
    assert np.all([Path(r["path"]).exists() for r in rows])
