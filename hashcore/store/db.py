"""The one SQLite file behind a library, through sqlite-utils.

A `Store` takes a path or ":memory:", is a context manager, runs every multi-row change in one
transaction, and migrates old files step by step (backing the file up first). Paths are stored
as text; images are never deleted from the table by a scan, only marked `missing`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from hashcore.errors import NotFoundError, StoreError

SCHEMA_VERSION = 2

_SCHEMA_V1 = """
CREATE TABLE roots (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, protected INTEGER NOT NULL DEFAULT 0,
    added_at REAL NOT NULL, last_scan REAL, state TEXT NOT NULL DEFAULT 'new');
CREATE TABLE images (
    id INTEGER PRIMARY KEY, root_id INTEGER REFERENCES roots(id), path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL, mtime REAL NOT NULL, content_hash TEXT NOT NULL,
    width INTEGER, height INTEGER, format TEXT, taken_at TEXT, camera TEXT,
    status TEXT NOT NULL DEFAULT 'ok', indexed_at REAL NOT NULL);
CREATE INDEX images_hash ON images(content_hash);
CREATE INDEX images_root ON images(root_id, status);
CREATE TABLE features (
    image_id INTEGER PRIMARY KEY REFERENCES images(id), feature BLOB NOT NULL, probs BLOB);
CREATE TABLE models (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, method TEXT NOT NULL,
    bits INTEGER NOT NULL, sha256 TEXT NOT NULL);
CREATE TABLE codes (
    image_id INTEGER NOT NULL REFERENCES images(id), model_id INTEGER NOT NULL REFERENCES models(id),
    code BLOB NOT NULL, PRIMARY KEY (image_id, model_id)) WITHOUT ROWID;
CREATE TABLE buckets (
    model_id INTEGER NOT NULL, code BLOB NOT NULL, image_id INTEGER NOT NULL,
    PRIMARY KEY (model_id, code, image_id)) WITHOUT ROWID;
CREATE TABLE tags (
    image_id INTEGER NOT NULL REFERENCES images(id), tag TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'user', confidence REAL,
    PRIMARY KEY (image_id, tag)) WITHOUT ROWID;
CREATE INDEX tags_tag ON tags(tag);
CREATE TABLE scan_errors (
    path TEXT PRIMARY KEY, root_id INTEGER, error TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE decisions (
    key TEXT PRIMARY KEY, kind TEXT NOT NULL, image_ids TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE trash_log (
    id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, image_id INTEGER NOT NULL,
    path TEXT NOT NULL, size INTEGER NOT NULL, at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending');
CREATE INDEX trash_batch ON trash_log(batch);
"""

# v2: a generation counter bumped by every write, so caches in any process can tell the
# database changed; and an index for "which photos came from where" tag queries.
_SCHEMA_V2 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO meta VALUES ('generation', 0);
CREATE INDEX tags_source ON tags(source, tag);
"""

# MIGRATIONS[v] turns a schema-v(v-1) file into schema v. v1 creates everything.
MIGRATIONS: dict[int, str] = {1: _SCHEMA_V1, 2: _SCHEMA_V2}

IMAGE_COLUMNS = ("id", "root_id", "path", "size", "mtime", "content_hash", "width", "height",
                 "format", "taken_at", "camera", "status", "indexed_at")


class Store:
    """A library database. Use as `with Store(path) as store: ...`."""

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

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; readers see all of a batch or none of it."""
        if self.conn.in_transaction:
            yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
            if self._counts_generations:
                self.conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def generation(self) -> int:
        """A number that changes with every committed write, from any process: cache key."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0])

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
                    c.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, at REAL NOT NULL)")
                for stmt in MIGRATIONS[v].split(";"):
                    if stmt.strip():
                        c.execute(stmt)
                c.execute("INSERT INTO schema_version VALUES (?, ?)", (v, time.time()))

    # -- roots -------------------------------------------------------------------------------
    def add_root(self, path: str | Path, protected: bool = False) -> int:
        p = str(Path(path).expanduser().resolve())
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
        return [dict(r) for r in self.db.query(q)]

    def set_root_state(self, root_id: int, state: str) -> None:
        with self.transaction() as c:
            c.execute("UPDATE roots SET state = ?, last_scan = ? WHERE id = ?", (state, time.time(), root_id))

    # -- images ------------------------------------------------------------------------------
    def image(self, image_id: int) -> dict[str, Any]:
        row = self.conn.execute(f"SELECT {', '.join(IMAGE_COLUMNS)} FROM images WHERE id = ?",
                                (image_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no photo with id {image_id}")
        return dict(zip(IMAGE_COLUMNS, row, strict=True))

    def image_by_path(self, path: str | Path) -> dict[str, Any] | None:
        row = self.conn.execute(f"SELECT {', '.join(IMAGE_COLUMNS)} FROM images WHERE path = ?",
                                (str(path),)).fetchone()
        return dict(zip(IMAGE_COLUMNS, row, strict=True)) if row else None

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
        return [dict(zip(IMAGE_COLUMNS, r, strict=True)) for r in self.conn.execute(sql, args)]

    def images_under(self, root_id: int) -> dict[str, dict[str, Any]]:
        rows = self.conn.execute(f"SELECT {', '.join(IMAGE_COLUMNS)} FROM images WHERE root_id = ?",
                                 (root_id,))
        return {r[2]: dict(zip(IMAGE_COLUMNS, r, strict=True)) for r in rows}

    def images_by_hash(self, content_hash: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(f"SELECT {', '.join(IMAGE_COLUMNS)} FROM images WHERE content_hash = ?",
                                 (content_hash,))
        return [dict(zip(IMAGE_COLUMNS, r, strict=True)) for r in rows]

    def count(self, status: str = "ok") -> int:
        return int(self.conn.execute("SELECT count(*) FROM images WHERE status = ?", (status,)).fetchone()[0])

    def upsert_image(self, c: sqlite3.Connection, row: dict[str, Any]) -> int:
        """Insert or update by path; call inside `transaction()`. Returns the image id."""
        cols = [k for k in IMAGE_COLUMNS if k != "id" and k in row]
        sets = ", ".join(f"{k} = excluded.{k}" for k in cols if k != "path")
        c.execute(f"INSERT INTO images ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
                  f"ON CONFLICT(path) DO UPDATE SET {sets}", [row[k] for k in cols])
        return int(c.execute("SELECT id FROM images WHERE path = ?", (row["path"],)).fetchone()[0])

    def move_image(self, c: sqlite3.Connection, image_id: int, new_path: str, root_id: int,
                   size: int, mtime: float) -> None:
        """A file moved or renamed: keep its row (tags, decisions, codes), change its path."""
        c.execute("DELETE FROM images WHERE path = ? AND id != ?", (new_path, image_id))
        c.execute("UPDATE images SET path = ?, root_id = ?, size = ?, mtime = ?, status = 'ok' "
                  "WHERE id = ?", (new_path, root_id, size, mtime, image_id))

    def mark_missing(self, c: sqlite3.Connection, ids: Iterable[int]) -> None:
        c.executemany("UPDATE images SET status = 'missing' WHERE id = ?", [(int(i),) for i in ids])

    def set_status(self, image_ids: Iterable[int], status: str) -> None:
        with self.transaction() as c:
            c.executemany("UPDATE images SET status = ? WHERE id = ?", [(status, int(i)) for i in image_ids])

    def _forget_images(self, c: sqlite3.Connection, ids: list[int]) -> None:
        args = [(i,) for i in ids]
        for table in ("features", "tags", "codes", "buckets"):
            c.executemany(f"DELETE FROM {table} WHERE image_id = ?", args)
        c.executemany("DELETE FROM images WHERE id = ?", args)

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
        rows = self.conn.execute(sql + " ORDER BY f.image_id", args).fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        out_ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        feats = np.stack([np.frombuffer(r[1], np.float16) for r in rows]).astype(np.float32)
        return out_ids, feats

    def probs(self, image_id: int) -> np.ndarray | None:
        row = self.conn.execute("SELECT probs FROM features WHERE image_id = ?", (image_id,)).fetchone()
        return None if row is None or row[0] is None else np.frombuffer(row[0], np.float16).astype(np.float32)

    # -- models and codes --------------------------------------------------------------------
    def ensure_model(self, name: str, method: str, bits: int, sha256: str) -> int:
        """Register a model; if the same name comes back with new weights, its codes are stale."""
        row = self.conn.execute("SELECT id, sha256 FROM models WHERE name = ?", (name,)).fetchone()
        if row is not None and row[1] == sha256:
            return int(row[0])  # nothing to write: opening a library for reading takes no lock
        with self.transaction() as c:
            if row is None:
                c.execute("INSERT INTO models(name, method, bits, sha256) VALUES (?, ?, ?, ?)",
                          (name, method, bits, sha256))
            elif row[1] != sha256:
                c.execute("DELETE FROM codes WHERE model_id = ?", (row[0],))
                c.execute("DELETE FROM buckets WHERE model_id = ?", (row[0],))
                c.execute("UPDATE models SET method = ?, bits = ?, sha256 = ? WHERE id = ?",
                          (method, bits, sha256, row[0]))
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
                      [(p, root_id, e, now) for p, e in errors])

    def clear_error(self, c: sqlite3.Connection, path: str) -> None:
        c.execute("DELETE FROM scan_errors WHERE path = ?", (path,))

    def scan_errors(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.query("SELECT * FROM scan_errors ORDER BY path")]

    # -- tags --------------------------------------------------------------------------------
    def add_tags(self, image_ids: Iterable[int], tags: Iterable[str], source: str = "user",
                 confidence: float | None = None) -> None:
        ids, clean = [int(i) for i in image_ids], [t.strip() for t in tags if t.strip()]
        for i in ids:
            self.image(i)  # raises NotFoundError for a missing photo
        with self.transaction() as c:
            c.executemany("INSERT OR REPLACE INTO tags VALUES (?, ?, ?, ?)",
                          [(i, t, source, confidence) for i in ids for t in clean])

    def remove_tags(self, image_ids: Iterable[int], tags: Iterable[str]) -> None:
        with self.transaction() as c:
            c.executemany("DELETE FROM tags WHERE image_id = ? AND tag = ?",
                          [(int(i), t.strip()) for i in image_ids for t in tags])

    def tags_of(self, image_id: int) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.query(
            "SELECT tag, source, confidence FROM tags WHERE image_id = ? ORDER BY source, tag", [image_id])]

    def all_tags(self) -> list[tuple[str, int]]:
        rows = self.conn.execute("SELECT t.tag, count(*) FROM tags t JOIN images i ON i.id = t.image_id "
                                 "WHERE i.status = 'ok' GROUP BY t.tag ORDER BY t.tag")
        return [(r[0], r[1]) for r in rows]

    def ids_with_tag(self, tag: str) -> list[int]:
        rows = self.conn.execute("SELECT t.image_id FROM tags t JOIN images i ON i.id = t.image_id "
                                 "WHERE t.tag = ? AND i.status = 'ok' ORDER BY i.path", (tag,))
        return [r[0] for r in rows]

    # -- duplicate decisions -----------------------------------------------------------------
    def add_decision(self, image_ids: Iterable[int], kind: str = "not_duplicates") -> None:
        ids = sorted({int(i) for i in image_ids})
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO decisions VALUES (?, ?, ?, ?)",
                      (f"{kind}:{','.join(map(str, ids))}", kind, json.dumps(ids), time.time()))

    def decisions(self, kind: str = "not_duplicates") -> list[set[int]]:
        return [set(json.loads(r[0])) for r in
                self.conn.execute("SELECT image_ids FROM decisions WHERE kind = ?", (kind,))]

    def stats(self) -> dict[str, Any]:
        one = lambda sql: int(self.conn.execute(sql).fetchone()[0])  # noqa: E731
        return {"photos": one("SELECT count(*) FROM images WHERE status = 'ok'"),
                "missing": one("SELECT count(*) FROM images WHERE status = 'missing'"),
                "trashed": one("SELECT count(*) FROM images WHERE status = 'trashed'"),
                "roots": one("SELECT count(*) FROM roots"),
                "errors": one("SELECT count(*) FROM scan_errors"),
                "tags": one("SELECT count(DISTINCT tag) FROM tags"),
                "models": [dict(r) for r in self.db.query("SELECT name, method, bits FROM models")],
                "schema_version": self.version()}
