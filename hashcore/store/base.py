"""What every group of queries stands on: the connection, its transactions, and how a path is
stored. `Store` (db.py) is this plus the query groups (tags.py, trash_log.py) as mixins, so it
stays the one object callers hold."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils


def sql_path(path: str | Path) -> str | bytes:
    """How a path is stored: text when its bytes are UTF-8 (nearly always), else a BLOB of the
    file system's exact bytes. SQLite cannot hold the lone surrogates that stand for such bytes in
    a Python str (b'caf\\xe9.jpg' -> 'caf\\udce9.jpg'), and replacing them would lose the file.
    One name has one stored form, so `path = ?` lookups and the UNIQUE index stay exact."""
    raw = os.fsencode(path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def py_path(value: str | bytes) -> str:
    """A stored path back as the str Python's os functions take (`os.fsdecode` for a BLOB)."""
    return os.fsdecode(value) if isinstance(value, bytes) else value


class StoreBase:
    """One SQLite connection in autocommit mode; every write goes through `transaction()`."""

    path: str
    conn: sqlite3.Connection
    db: sqlite_utils.Database
    _counts_generations: bool

    @contextmanager
    def transaction(self, bump: bool = True) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; readers see all of a batch or none of it. `bump`: move the
        generation on (False only for writes no cache is built from)."""
        if self.conn.in_transaction:
            yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
            if self._counts_generations and bump:
                self.conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def generation(self) -> int:
        """A number that changes with every committed write, from any process: cache key."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0])
