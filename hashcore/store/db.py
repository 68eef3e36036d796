"""The one SQLite file behind a library, through sqlite-utils.

A `Store` takes a path or ":memory:", is a context manager, runs every multi-row change in one
transaction, and migrates old files step by step (backing the file up first). Paths are stored
as text, except a name whose bytes are not UTF-8, stored as a BLOB of its exact bytes (see
`sql_path`); images are never deleted from the table by a scan, only marked `missing`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from hashcore.errors import NotFoundError, StoreError
from hashcore.store.base import py_path, sql_path
from hashcore.store.cache import SHARED, GenerationCache, T
from hashcore.store.schema import MIGRATIONS, SCHEMA_VERSION
from hashcore.store.tags import TagQueries
from hashcore.store.trash_log import TrashLogQueries

__all__ = ["IMAGE_COLUMNS", "SCHEMA_VERSION", "Store", "image_row", "py_path", "sql_path"]

IMAGE_COLUMNS = ("id", "root_id", "path", "size", "mtime", "content_hash", "width", "height",
                 "format", "taken_at", "camera", "status", "indexed_at")


def _paths_readable(row: dict[str, Any]) -> dict[str, Any]:
    """A row dict with its `path` column back as a str."""
    if isinstance(row.get("path"), bytes):
        row["path"] = py_path(row["path"])
    return row


def image_row(values: Iterable[Any]) -> dict[str, Any]:
    """A row of IMAGE_COLUMNS as a dict, its path a str."""
    return _paths_readable(dict(zip(IMAGE_COLUMNS, values, strict=True)))


class Store(TagQueries, TrashLogQueries):
    """A library database. Use as `with Store(path) as store: ...`.

    The connection and transactions come from `StoreBase`, the tag and trash-log queries from
    their mixins (store/tags.py, store/trash_log.py); the rest is here."""

    def __init__(self, path: str | Path = ":memory:", *, backup_before_migrate: bool = True) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False,
                                   isolation_level=None)
            self.db = sqlite_utils.Database(conn)
            self.conn = conn
            if self.path != ":memory:":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._counts_generations = False  # the meta table arrives with schema v2
            self._own_cache = GenerationCache()  # a ":memory:" store shares nothing
            self._migrate(backup_before_migrate)
            self._counts_generations = True
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open database {self.path}: {exc}") from exc

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    def backup(self, dest: str | Path) -> None:
        """A consistent copy of the database (SQLite's online backup, safe under WAL)."""
        target = sqlite3.connect(str(dest))
        try:
            self.conn.backup(target)
        finally:
            target.close()

    def version(self) -> int:
        if not self.db["schema_version"].exists():
            return 0
        row = self.conn.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def _migrate(self, backup: bool) -> None:
        current = self.version()
        if current > SCHEMA_VERSION:
            raise StoreError(f"database schema v{current} is newer than this HashLens (v{SCHEMA_VERSION})")
        if current == SCHEMA_VERSION:
            return
        if backup and current > 0 and self.path != ":memory:":
            self.backup(f"{self.path}.v{current}.bak")
        for v in range(current + 1, SCHEMA_VERSION + 1):
            with self.transaction() as c:
                if v == 1:
                    self.db.table("schema_version").create({"version": int, "at": float}, not_null={"version", "at"})
                for stmt in MIGRATIONS[v].split(";"):
                    if stmt.strip():
                        c.execute(stmt)
                self.db.table("schema_version").insert({"version": v, "at": time.time()})

    # -- the shared code cache ---------------------------------------------------------------
    def cached(self, key: Hashable, build: Callable[[T | None], T]) -> T:
        """A value computed from this database (e.g. a model's codes in one array), shared by
        every Store of this process that opened the same file, and rebuilt by `build(previous)`
        after any write (from any process) moved the generation on."""
        cache = SHARED if self.path != ":memory:" else self._own_cache
        return cache.get(self.path, key, self.generation(), build)

    def forget_cached(self, key: Hashable) -> None:
        (SHARED if self.path != ":memory:" else self._own_cache).forget(self.path, key)

    # -- roots -------------------------------------------------------------------------------
    def add_root(self, path: str | Path, protected: bool = False) -> int:
        p = sql_path(Path(path).expanduser().resolve())
        with self.transaction() as c:
            c.execute("INSERT OR IGNORE INTO roots(path, protected, added_at) VALUES (?, ?, ?)",
                      (p, int(protected), time.time()))
            if protected:
                c.execute("UPDATE roots SET protected = 1 WHERE path = ?", (p,))
        return int(self.conn.execute("SELECT id FROM roots WHERE path = ?", (p,)).fetchone()[0])

    def set_protected(self, root_id: int, protected: bool) -> None:
        with self.transaction() as c:
            c.execute("UPDATE roots SET protected = ? WHERE id = ?", (int(protected), root_id))

    def remove_root(self, root_id: int) -> int:
        """Forget a folder and its photos' rows (the files themselves are not touched)."""
        ids = [r[0] for r in self.conn.execute("SELECT id FROM images WHERE root_id = ?", (root_id,))]
        with self.transaction() as c:
            self._forget_images(c, ids)
            c.execute("DELETE FROM scan_errors WHERE root_id = ?", (root_id,))
            c.execute("DELETE FROM roots WHERE id = ?", (root_id,))
        return len(ids)

    def roots(self) -> list[dict[str, Any]]:
        q = """SELECT r.*,
                 (SELECT count(*) FROM images i WHERE i.root_id = r.id AND i.status = 'ok') AS indexed,
                 (SELECT count(*) FROM images i WHERE i.root_id = r.id AND i.status = 'missing') AS missing,
                 (SELECT count(*) FROM scan_errors e WHERE e.root_id = r.id) AS errors
               FROM roots r ORDER BY r.path"""
        return [_paths_readable(dict(r)) for r in self.db.query(q)]

    def set_root_state(self, root_id: int, state: str) -> None:
        with self.transaction() as c:
            c.execute("UPDATE roots SET state = ?, last_scan = ? WHERE id = ?", (state, time.time(), root_id))

    # -- images ------------------------------------------------------------------------------
    def image(self, image_id: int) -> dict[str, Any]:
        row = self.conn.execute(f"SELECT {', '.join(IMAGE_COLUMNS)} FROM images WHERE id = ?",
                                (image_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no photo with id {image_id}")
        return image_row(row)

    def image_by_path(self, path: str | Path) -> dict[str, Any] | None:
        row = self.conn.execute(f"SELECT {', '.join(IMAGE_COLUMNS)} FROM images WHERE path = ?",
                                (sql_path(path),)).fetchone()
        return image_row(row) if row else None

    def images(self, status: str | None = "ok", ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        sql = f"SELECT {', '.join(IMAGE_COLUMNS)} FROM images"
        args: list[Any] = []
        where = []
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if ids is not None:
            id_list = [int(i) for i in ids]
            where.append("id IN (SELECT value FROM json_each(?))")
            args.append(json.dumps(id_list))
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY path"
        return [image_row(r) for r in self.conn.execute(sql, args)]

    def images_under(self, root_id: int) -> dict[str, dict[str, Any]]:
        rows = self.conn.execute(f"SELECT {', '.join(IMAGE_COLUMNS)} FROM images WHERE root_id = ?",
                                 (root_id,))
        return {py_path(r[2]): image_row(r) for r in rows}

    def images_by_hash(self, content_hash: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(f"SELECT {', '.join(IMAGE_COLUMNS)} FROM images WHERE content_hash = ?",
                                 (content_hash,))
        return [image_row(r) for r in rows]

    def indexed_since(self, t: float) -> list[int]:
        """Ids of ok photos (re)indexed at or after time `t` (new or changed files), by id."""
        rows = self.conn.execute("SELECT id FROM images WHERE status = 'ok' AND indexed_at >= ? ORDER BY id", (t,))
        return [r[0] for r in rows]

    def count(self, status: str = "ok") -> int:
        return int(self.conn.execute("SELECT count(*) FROM images WHERE status = ?", (status,)).fetchone()[0])

    def upsert_image(self, c: sqlite3.Connection, row: dict[str, Any]) -> int:
        """Insert or update by path; call inside `transaction()`. Returns the image id."""
        cols = [k for k in IMAGE_COLUMNS if k != "id" and k in row]
        sets = ", ".join(f"{k} = excluded.{k}" for k in cols if k != "path")
        row = {**row, "path": sql_path(row["path"])}
        c.execute(f"INSERT INTO images ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
                  f"ON CONFLICT(path) DO UPDATE SET {sets}", [row[k] for k in cols])
        return int(c.execute("SELECT id FROM images WHERE path = ?", (row["path"],)).fetchone()[0])

    def move_image(self, c: sqlite3.Connection, image_id: int, new_path: str, root_id: int,
                   size: int, mtime: float) -> None:
        """A file moved or renamed: keep its row (tags, decisions, codes), change its path."""
        stored = sql_path(new_path)
        c.execute("DELETE FROM images WHERE path = ? AND id != ?", (stored, image_id))
        c.execute("UPDATE images SET path = ?, root_id = ?, size = ?, mtime = ?, status = 'ok' "
                  "WHERE id = ?", (stored, root_id, size, mtime, image_id))

    def mark_missing(self, c: sqlite3.Connection, ids: Iterable[int]) -> None:
        c.executemany("UPDATE images SET status = 'missing' WHERE id = ?", [(int(i),) for i in ids])

    def set_status(self, image_ids: Iterable[int], status: str) -> None:
        with self.transaction() as c:
            c.executemany("UPDATE images SET status = ? WHERE id = ?", [(status, int(i)) for i in image_ids])

    def _forget_images(self, c: sqlite3.Connection, ids: list[int]) -> None:
        """Delete these photos' rows, and the geometric verdicts of the files no row holds any more
        (a verdict is kept by content hash: another copy of the same bytes keeps it)."""
        args = [(i,) for i in ids]
        hashes = sorted({r[0] for r in c.execute(
            "SELECT content_hash FROM images WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),))})
        for table in ("features", "tags", "codes", "buckets", "frames"):
            c.executemany(f"DELETE FROM {table} WHERE image_id = ?", args)
        c.executemany("DELETE FROM images WHERE id = ?", args)
        gone = json.dumps([h for h in hashes
                           if c.execute("SELECT 1 FROM images WHERE content_hash = ? LIMIT 1", (h,)).fetchone() is None])
        c.execute("DELETE FROM verdicts WHERE a IN (SELECT value FROM json_each(?)) "
                  "OR b IN (SELECT value FROM json_each(?))", (gone, gone))  # one pass over the table

    def forget_missing(self) -> int:
        ids = [r[0] for r in self.conn.execute("SELECT id FROM images WHERE status = 'missing'")]
        with self.transaction() as c:
            self._forget_images(c, ids)
        return len(ids)

    # -- features ----------------------------------------------------------------------------
    def put_features(self, c: sqlite3.Connection, image_id: int, feature: np.ndarray,
                     probs: np.ndarray | None) -> None:
        c.execute("INSERT OR REPLACE INTO features VALUES (?, ?, ?)",
                  (image_id, np.asarray(feature, np.float16).tobytes(),
                   None if probs is None else np.asarray(probs, np.float16).tobytes()))

    def features(self, ids: Iterable[int] | None = None, status: str = "ok") -> tuple[np.ndarray, np.ndarray]:
        """(ids, features float32) for photos with the given status, ordered by id."""
        sql = ("SELECT f.image_id, f.feature FROM features f JOIN images i ON i.id = f.image_id "
               "WHERE i.status = ?")
        args: list[Any] = [status]
        if ids is not None:
            sql += " AND f.image_id IN (SELECT value FROM json_each(?))"
            args.append(json.dumps([int(i) for i in ids]))
        return _feature_rows(self.conn.execute(sql + " ORDER BY f.image_id", args).fetchall())

    def put_frame(self, c: sqlite3.Connection, image_id: int, version: int,
                  box: tuple[float, float, float, float] | None, feature: np.ndarray | None) -> None:
        """What the frame detector found in a photo (schema v5): its photo box and the box's
        features, or None and None where it found no frame."""
        c.execute("INSERT OR REPLACE INTO frames VALUES (?, ?, ?, ?)",
                  (image_id, version, None if box is None else json.dumps([round(float(v), 5) for v in box]),
                   None if feature is None else np.asarray(feature, np.float16).tobytes()))

    def frames(self, version: int, status: str = "ok") -> tuple[np.ndarray, np.ndarray]:
        """(ids, features float32) of the photo boxes of this detector version found in photos of
        this status, ordered by id."""
        return _feature_rows(self.conn.execute(
            "SELECT f.image_id, f.feature FROM frames f JOIN images i ON i.id = f.image_id "
            "WHERE i.status = ? AND f.version = ? AND f.feature IS NOT NULL ORDER BY f.image_id",
            (status, version)).fetchall())

    def frame_box(self, image_id: int, version: int) -> tuple[float, float, float, float] | None:
        row = self.conn.execute("SELECT box FROM frames WHERE image_id = ? AND version = ?",
                                (image_id, version)).fetchone()
        return None if row is None or row[0] is None else tuple(json.loads(row[0]))

    def ids_without_frame(self, version: int) -> list[int]:
        """Photos the frame detector of this version has not looked at."""
        rows = self.conn.execute(
            "SELECT i.id FROM images i WHERE i.status = 'ok' AND NOT EXISTS "
            "(SELECT 1 FROM frames f WHERE f.image_id = i.id AND f.version = ?)", (version,))
        return [r[0] for r in rows]

    def probs(self, image_id: int) -> np.ndarray | None:
        row = self.conn.execute("SELECT probs FROM features WHERE image_id = ?", (image_id,)).fetchone()
        return None if row is None or row[0] is None else np.frombuffer(row[0], np.float16).astype(np.float32)

    # -- models and codes --------------------------------------------------------------------
    def ensure_model(self, name: str, method: str, bits: int, sha256: str, role: str = "semantic") -> int:
        """Register a model; if the same name comes back with new weights, its codes are stale.
        `role`: "semantic" (photos like this one), "copy" (duplicates, the copies of a photo) or
        "dct" (the DCT hashes the copy head's second test compares)."""
        row = self.conn.execute("SELECT id, sha256, role FROM models WHERE name = ?", (name,)).fetchone()
        if row is not None and row[1] == sha256 and row[2] == role:
            return int(row[0])  # nothing to write: opening a library for reading takes no lock
        with self.transaction() as c:
            if row is None:
                c.execute("INSERT INTO models(name, method, bits, sha256, role) VALUES (?, ?, ?, ?, ?)",
                          (name, method, bits, sha256, role))
            else:
                if row[1] != sha256:
                    c.execute("DELETE FROM codes WHERE model_id = ?", (row[0],))
                    c.execute("DELETE FROM buckets WHERE model_id = ?", (row[0],))
                c.execute("UPDATE models SET method = ?, bits = ?, sha256 = ?, role = ? WHERE id = ?",
                          (method, bits, sha256, role, row[0]))
        return int(self.conn.execute("SELECT id FROM models WHERE name = ?", (name,)).fetchone()[0])

    def put_codes(self, c: sqlite3.Connection, model_id: int, ids: Iterable[int], packed: np.ndarray) -> None:
        """Write codes and their bucket rows for one model (inside a transaction)."""
        ids = [int(i) for i in ids]
        blobs = [np.ascontiguousarray(row, dtype="<u8").tobytes() for row in packed]
        c.executemany("DELETE FROM buckets WHERE model_id = ? AND image_id = ?", [(model_id, i) for i in ids])
        c.executemany("INSERT OR REPLACE INTO codes VALUES (?, ?, ?)",
                      [(i, model_id, b) for i, b in zip(ids, blobs, strict=True)])
        c.executemany("INSERT OR IGNORE INTO buckets VALUES (?, ?, ?)",
                      [(model_id, b, i) for i, b in zip(ids, blobs, strict=True)])

    def codes(self, model_id: int, status: str = "ok") -> tuple[np.ndarray, np.ndarray]:
        """(ids int64 (N,), codes uint64 (N, words)) for one model, ordered by id."""
        rows = self.conn.execute(
            "SELECT c.image_id, c.code FROM codes c JOIN images i ON i.id = c.image_id "
            "WHERE c.model_id = ? AND i.status = ? ORDER BY c.image_id", (model_id, status)).fetchall()
        words = self.model_bits(model_id) // 64 or 1
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, words), np.uint64)
        ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        buf = b"".join(r[1] for r in rows)
        return ids, np.frombuffer(buf, dtype="<u8").astype(np.uint64).reshape(len(rows), -1)

    def code_of(self, model_id: int, image_id: int) -> np.ndarray | None:
        row = self.conn.execute("SELECT code FROM codes WHERE model_id = ? AND image_id = ?",
                                (model_id, image_id)).fetchone()
        return None if row is None else np.frombuffer(row[0], dtype="<u8").astype(np.uint64)

    def model_bits(self, model_id: int) -> int:
        row = self.conn.execute("SELECT bits FROM models WHERE id = ?", (model_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no model with id {model_id}")
        return int(row[0])

    def bucket(self, model_id: int, packed_code: np.ndarray) -> list[int]:
        """Radius-0 lookup: ids of ok photos whose code equals this one exactly."""
        blob = np.ascontiguousarray(packed_code, dtype="<u8").tobytes()
        rows = self.conn.execute(
            "SELECT b.image_id FROM buckets b JOIN images i ON i.id = b.image_id "
            "WHERE b.model_id = ? AND b.code = ? AND i.status = 'ok' ORDER BY b.image_id",
            (model_id, blob))
        return [r[0] for r in rows]

    def ids_without_code(self, model_id: int) -> list[int]:
        rows = self.conn.execute(
            "SELECT f.image_id FROM features f JOIN images i ON i.id = f.image_id WHERE i.status = 'ok' "
            "AND NOT EXISTS (SELECT 1 FROM codes c WHERE c.image_id = f.image_id AND c.model_id = ?)",
            (model_id,))
        return [r[0] for r in rows]

    # -- scan errors -------------------------------------------------------------------------
    def put_errors(self, c: sqlite3.Connection, root_id: int | None, errors: list[tuple[str, str]]) -> None:
        now = time.time()
        c.executemany("INSERT OR REPLACE INTO scan_errors VALUES (?, ?, ?, ?)",
                      [(sql_path(p), root_id, e, now) for p, e in errors])

    def clear_error(self, c: sqlite3.Connection, path: str) -> None:
        c.execute("DELETE FROM scan_errors WHERE path = ?", (sql_path(path),))

    def scan_errors(self) -> list[dict[str, Any]]:
        return [_paths_readable(dict(r)) for r in self.db.query("SELECT * FROM scan_errors ORDER BY path")]

    # -- duplicate decisions -----------------------------------------------------------------
    def add_decision(self, image_ids: Iterable[int], kind: str = "not_duplicates") -> None:
        ids = sorted({int(i) for i in image_ids})
        with self.transaction():
            self.db.table("decisions").insert({"key": f"{kind}:{','.join(map(str, ids))}", "kind": kind,
                                         "image_ids": json.dumps(ids), "at": time.time()}, replace=True)

    def decisions(self, kind: str = "not_duplicates") -> list[set[int]]:
        return [set(json.loads(r[0])) for r in
                self.conn.execute("SELECT image_ids FROM decisions WHERE kind = ?", (kind,))]

    # -- geometric verdicts of the duplicate finder -------------------------------------------
    def verdicts(self, version: int) -> dict[tuple[str, str], list[float]]:
        """The kept verdicts of this geometry version: (hash a, hash b) -> the match's numbers."""
        return {(a, b): json.loads(m) for a, b, m in
                self.conn.execute("SELECT a, b, match FROM verdicts WHERE version = ?", (version,))}

    def verdicts_of(self, one: str, others: Iterable[str], version: int) -> dict[tuple[str, str], list[float]]:
        """The kept verdicts of this version between the file of hash `one` and those of `others`."""
        rest = sorted(set(others) - {one})
        if not rest:
            return {}
        marks = ",".join("?" * len(rest))
        sql = (f"SELECT a, b, match FROM verdicts WHERE version = ? AND ((a = ? AND b IN ({marks})) "
               f"OR (b = ? AND a IN ({marks})))")
        return {(a, b): json.loads(m) for a, b, m in self.conn.execute(sql, (version, one, *rest, one, *rest))}

    def add_verdicts(self, version: int, items: Iterable[tuple[tuple[str, str], list[float]]]) -> None:
        rows = [(a, b, version, json.dumps(m)) for (a, b), m in items]
        if rows:
            with self.transaction(bump=False) as c:
                c.executemany("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?)", rows)

    def forget_verdicts(self) -> None:
        with self.transaction(bump=False) as c:
            c.execute("DELETE FROM verdicts")

    def stats(self) -> dict[str, Any]:
        one = lambda sql: int(self.conn.execute(sql).fetchone()[0])  # noqa: E731
        return {"photos": one("SELECT count(*) FROM images WHERE status = 'ok'"),
                "missing": one("SELECT count(*) FROM images WHERE status = 'missing'"),
                "trashed": one("SELECT count(*) FROM images WHERE status = 'trashed'"),
                "roots": one("SELECT count(*) FROM roots"),
                "errors": one("SELECT count(*) FROM scan_errors"),
                "tags": one("SELECT count(DISTINCT tag) FROM tags"),
                "models": [dict(r) for r in self.db.query("SELECT name, method, bits, role FROM models")],
                "schema_version": self.version()}


def _feature_rows(rows: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """(ids int64, features float32) from rows of (image id, float16 feature blob)."""
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    return ids, np.stack([np.frombuffer(r[1], np.float16) for r in rows]).astype(np.float32)
