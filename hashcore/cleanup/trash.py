"""Moving duplicates to the system trash, and putting them back.

Never a plain delete: files go through send2trash (the freedesktop trash on Linux). Every move
is logged first as 'pending' and then as 'trashed', so after a crash each file is either in its
place or in the trash and the log says which (the log's queries live in the store:
hashcore/store/trash_log.py).

Undo needs to find a file in the trash, which only the freedesktop trash allows (Linux and the
BSDs: a .trashinfo record beside each file names its original path). On macOS and Windows
send2trash moves files but cannot say where they went, so undo there is refused with a message
that says where the files are and how to put them back by hand; nothing is changed.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from hashcore.cleanup.keep import is_protected
from hashcore.errors import HashLensError, NotFoundError
from hashcore.ingest.paths import display_path
from hashcore.store.db import Store

UNDO_SHOWN_PATHS = 5  # paths named in a refusal; the rest are counted


class UndoUnavailable(HashLensError):
    """Undo cannot find trashed files on this platform (they are in the trash, untouched)."""


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
    """(trashed file, its .trashinfo) for the most recent trashing of `original`.

    The record's Path is percent-encoded bytes, so it is compared as bytes: a name that is not
    UTF-8 (b'caf%E9.jpg') matches only its own file."""
    wanted = os.fsencode(original)
    best: tuple[str, Path, Path] | None = None
    for trash in trash_dirs(original):
        info_dir = trash / "info"
        if not info_dir.is_dir():
            continue
        for info in info_dir.glob("*.trashinfo"):
            fields = dict(line.split("=", 1) for line in info.read_text(errors="replace").splitlines()
                          if "=" in line)
            if urllib.parse.unquote_to_bytes(fields.get("Path", "")) != wanted:
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
        raise HashLensError(f"refusing to move {display_path(row['path'])}: it is outside every library folder")
    if is_protected(row["path"], [r["path"] for r in roots if r["protected"]]):
        raise HashLensError(f"refusing to move {display_path(row['path'])}: it is in a protected folder")


def move_to_trash(store: Store, image_ids: list[int]) -> TrashResult:
    """Trash these photos' files; the database marks them 'trashed'. One undo batch."""
    batch = int(time.time() * 1000)
    result = TrashResult(batch)
    roots = store.roots()  # once per batch: it counts every root's photos
    for image_id in image_ids:
        row = store.image(image_id)
        try:
            _guard(store, row, roots)
            store.log_pending_trash(batch, image_id, row["path"], int(row["size"]))
            send_to_trash(row["path"])
        except (OSError, HashLensError) as exc:
            store.drop_trash_entry(batch, image_id)
            result.failed.append({"path": row["path"], "error": str(exc)})
            continue
        store.mark_trashed(batch, image_id)
        result.moved.append(row["path"])
        result.ids.append(image_id)
        result.bytes += int(row["size"])
    return result


def last_batch(store: Store) -> int | None:
    return store.last_trash_batch()


def trash_kind() -> str:
    """Which trash send2trash moves files into here, by the same test send2trash makes:
    "macos", "windows", or "freedesktop" (Linux, the BSDs and the rest)."""
    if sys.platform == "darwin":
        return "macos"
    return "windows" if sys.platform == "win32" else "freedesktop"


def undo_available() -> bool:
    """Whether undo can find trashed files here (only in the freedesktop trash)."""
    return trash_kind() == "freedesktop"


def _undo_refusal(paths: list[str]) -> UndoUnavailable:
    shown = ", ".join(display_path(p) for p in paths[:UNDO_SHOWN_PATHS])
    more = f" and {len(paths) - UNDO_SHOWN_PATHS} more" if len(paths) > UNDO_SHOWN_PATHS else ""
    if trash_kind() == "macos":
        where, how = "the macOS Trash", "open the Trash in the Finder, select them and choose File > Put Back"
    else:
        where, how = "the Windows Recycle Bin", "open the Recycle Bin, select them and choose Restore"
    return UndoUnavailable(f"undo is not available on this platform: HashLens cannot find files in {where}. "
                           f"The {len(paths)} photos it moved there are untouched; to put them back, {how}, "
                           f"then rescan the library: {shown}{more}")


def restore_batch(store: Store, batch: int | None = None) -> list[str]:
    """Undo: move a batch (default: the last one) back from the trash. Returns restored paths.
    Where undo cannot find files (macOS, Windows) raises UndoUnavailable and changes nothing."""
    batch = last_batch(store) if batch is None else batch
    if batch is None:
        raise NotFoundError("nothing to undo: no photos were moved to the trash")
    rows = store.trashed_in_batch(batch)
    if not undo_available():
        raise _undo_refusal([path for _, path in rows])
    restored = []
    for image_id, path in rows:
        found = find_in_trash(path)
        if found is None or os.path.exists(path):
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        shutil.move(str(found[0]), path)
        found[1].unlink(missing_ok=True)
        store.mark_restored(batch, image_id)
        restored.append(path)
    return restored


def reconcile(store: Store) -> int:
    """After a crash: settle 'pending' log rows by looking where each file really is."""
    pending = store.pending_trash()
    for batch, image_id, path in pending:
        if os.path.exists(path):
            store.drop_trash_entry(batch, image_id)
        else:
            store.mark_trashed(batch, image_id)
    return len(pending)


class TrashService:
    """Moving photos to the system trash and back, over one Store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def move(self, image_ids: list[int]) -> TrashResult:
        return move_to_trash(self.store, image_ids)

    def undo(self, batch: int | None = None) -> list[str]:
        return restore_batch(self.store, batch)

    def undo_available(self) -> bool:
        return undo_available()

    def reconcile(self) -> int:
        return reconcile(self.store)
