"""Moving duplicates to the system trash, and putting them back.

Never a plain delete: files go through send2trash (the freedesktop trash on Linux). Every move
is logged first as 'pending' and then as 'trashed', so after a crash each file is either in its
place or in the trash and the log says which. Undo finds the file in the trash by its
.trashinfo record and moves it back.
"""

from __future__ import annotations

import os
import shutil
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from hashcore.cleanup.keep import is_protected
from hashcore.errors import HashLensError, NotFoundError
from hashcore.store.db import Store


@dataclass
class TrashResult:
    batch: int
    moved: list[str] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    bytes: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)


def _home_trash() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(xdg) / "Trash"


def _mount_point(path: str) -> str:
    p = os.path.abspath(path)
    while not os.path.ismount(p):
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    return p


def trash_dirs(path: str) -> list[Path]:
    """Where a file under `path` can have landed: the home trash, then its volume's trashes."""
    top = _mount_point(path)
    uid = str(os.getuid()) if hasattr(os, "getuid") else "0"
    return [_home_trash(), Path(top) / ".Trash" / uid, Path(top) / f".Trash-{uid}"]


def find_in_trash(original: str) -> tuple[Path, Path] | None:
    """(trashed file, its .trashinfo) for the most recent trashing of `original`."""
    best: tuple[str, Path, Path] | None = None
    for trash in trash_dirs(original):
        info_dir = trash / "info"
        if not info_dir.is_dir():
            continue
        for info in info_dir.glob("*.trashinfo"):
            fields = dict(line.split("=", 1) for line in info.read_text(errors="replace").splitlines()
                          if "=" in line)
            if urllib.parse.unquote(fields.get("Path", "")) != original:
                continue
            if not (trash / "files" / info.name[: -len(".trashinfo")]).exists():
                continue  # an info record whose move never happened (killed mid-trash)
            date = fields.get("DeletionDate", "")
            if best is None or date > best[0]:
                best = (date, trash / "files" / info.name[: -len(".trashinfo")], info)
    return None if best is None else (best[1], best[2])


def send_to_trash(path: str) -> None:
    """send2trash, but with the home trash taken from the environment now, not at import time
    (send2trash freezes XDG_DATA_HOME when first imported; undo must look where files went)."""
    from send2trash import send2trash

    try:
        from send2trash import plat_other
    except ImportError:  # macOS / Windows back-ends have no such globals
        plat_other = None
    if plat_other is not None and hasattr(plat_other, "HOMETRASH_B"):
        home_trash = _home_trash()
        plat_other.XDG_DATA_HOME = os.fsencode(str(home_trash.parent))
        plat_other.HOMETRASH_B = os.fsencode(str(home_trash))
        plat_other.HOMETRASH = str(home_trash)
    send2trash(path)


def _guard(store: Store, row: dict, roots: list[dict] | None = None) -> None:
    roots = store.roots() if roots is None else roots
    if not any(row["path"].startswith(os.path.join(r["path"], "")) for r in roots):
        raise HashLensError(f"refusing to move {row['path']}: it is outside every library folder")
    if is_protected(row["path"], [r["path"] for r in roots if r["protected"]]):
        raise HashLensError(f"refusing to move {row['path']}: it is in a protected folder")


def move_to_trash(store: Store, image_ids: list[int]) -> TrashResult:
    """Trash these photos' files; the database marks them 'trashed'. One undo batch."""
    batch = int(time.time() * 1000)
    result = TrashResult(batch)
    roots = store.roots()  # once per batch: it counts every root's photos
    for image_id in image_ids:
        row = store.image(image_id)
        try:
            _guard(store, row, roots)
            with store.transaction() as c:
                c.execute("INSERT INTO trash_log(batch, image_id, path, size, at) VALUES (?, ?, ?, ?, ?)",
                          (batch, image_id, row["path"], row["size"], time.time()))
            send_to_trash(row["path"])
        except (OSError, HashLensError) as exc:
            with store.transaction() as c:
                c.execute("DELETE FROM trash_log WHERE batch = ? AND image_id = ?", (batch, image_id))
            result.failed.append({"path": row["path"], "error": str(exc)})
            continue
        with store.transaction() as c:
            c.execute("UPDATE trash_log SET state = 'trashed' WHERE batch = ? AND image_id = ?",
                      (batch, image_id))
            c.execute("UPDATE images SET status = 'trashed' WHERE id = ?", (image_id,))
        result.moved.append(row["path"])
        result.ids.append(image_id)
        result.bytes += int(row["size"])
    return result


def last_batch(store: Store) -> int | None:
    row = store.conn.execute("SELECT max(batch) FROM trash_log WHERE state = 'trashed'").fetchone()
    return None if row[0] is None else int(row[0])


def restore_batch(store: Store, batch: int | None = None) -> list[str]:
    """Undo: move a batch (default: the last one) back from the trash. Returns restored paths."""
    batch = last_batch(store) if batch is None else batch
    if batch is None:
        raise NotFoundError("nothing to undo: no photos were moved to the trash")
    rows = store.conn.execute("SELECT image_id, path FROM trash_log WHERE batch = ? AND state = 'trashed'",
                              (batch,)).fetchall()
    restored = []
    for image_id, path in rows:
        found = find_in_trash(path)
        if found is None or os.path.exists(path):
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        shutil.move(str(found[0]), path)
        found[1].unlink(missing_ok=True)
        with store.transaction() as c:
            c.execute("UPDATE trash_log SET state = 'restored' WHERE batch = ? AND image_id = ?",
                      (batch, image_id))
            c.execute("UPDATE images SET status = 'ok' WHERE id = ?", (image_id,))
        restored.append(path)
    return restored


def reconcile(store: Store) -> int:
    """After a crash: settle 'pending' log rows by looking where each file really is."""
    fixed = 0
    for batch, image_id, path in store.conn.execute(
            "SELECT batch, image_id, path FROM trash_log WHERE state = 'pending'").fetchall():
        in_place = os.path.exists(path)
        with store.transaction() as c:
            if in_place:
                c.execute("DELETE FROM trash_log WHERE batch = ? AND image_id = ?", (batch, image_id))
            else:
                c.execute("UPDATE trash_log SET state = 'trashed' WHERE batch = ? AND image_id = ?",
                          (batch, image_id))
                c.execute("UPDATE images SET status = 'trashed' WHERE id = ?", (image_id,))
        fixed += 1
    return fixed
