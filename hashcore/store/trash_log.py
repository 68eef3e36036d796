"""The trash log of a Store: every move to the trash is written 'pending' before the file moves
and 'trashed' after, so that after a crash each file is either in its place or in the trash and
the log says which (hashcore.cleanup.trash does the moving; this is only its bookkeeping)."""

from __future__ import annotations

import time

from hashcore.store.base import StoreBase, py_path, sql_path


class TrashLogQueries(StoreBase):
    def log_pending_trash(self, batch: int, image_id: int, path: str, size: int) -> None:
        """Before a file moves: its intent, in its own transaction."""
        with self.transaction():
            self.db.table("trash_log").insert({"batch": batch, "image_id": image_id, "path": sql_path(path),
                                         "size": size, "at": time.time()})

    def drop_trash_entry(self, batch: int, image_id: int) -> None:
        """The move did not happen (refused or failed): forget its intent."""
        with self.transaction() as c:
            c.execute("DELETE FROM trash_log WHERE batch = ? AND image_id = ?", (batch, image_id))

    def mark_trashed(self, batch: int, image_id: int) -> None:
        """The file is in the trash: the log and the photo's status say so together."""
        with self.transaction() as c:
            c.execute("UPDATE trash_log SET state = 'trashed' WHERE batch = ? AND image_id = ?",
                      (batch, image_id))
            c.execute("UPDATE images SET status = 'trashed' WHERE id = ?", (image_id,))

    def mark_restored(self, batch: int, image_id: int) -> None:
        """The file is back in its place: the photo is a search result again."""
        with self.transaction() as c:
            c.execute("UPDATE trash_log SET state = 'restored' WHERE batch = ? AND image_id = ?",
                      (batch, image_id))
            c.execute("UPDATE images SET status = 'ok' WHERE id = ?", (image_id,))

    def last_trash_batch(self) -> int | None:
        """The newest batch with files still in the trash, if any."""
        row = self.conn.execute("SELECT max(batch) FROM trash_log WHERE state = 'trashed'").fetchone()
        return None if row[0] is None else int(row[0])

    def trashed_in_batch(self, batch: int) -> list[tuple[int, str]]:
        """(photo id, original path) of the files of a batch that are still in the trash."""
        rows = self.conn.execute("SELECT image_id, path FROM trash_log WHERE batch = ? AND state = 'trashed' "
                                 "ORDER BY id", (batch,))
        return [(int(i), py_path(p)) for i, p in rows]

    def pending_trash(self) -> list[tuple[int, int, str]]:
        """(batch, photo id, original path) of moves that were logged but never settled (a crash)."""
        rows = self.conn.execute("SELECT batch, image_id, path FROM trash_log WHERE state = 'pending' ORDER BY id")
        return [(int(b), int(i), py_path(p)) for b, i, p in rows]
