"""Keep rules: which copy of a duplicate group to keep, and so which ones to remove.

A file under a protected (reference) folder is never proposed for removal. When the rule's
favourite is not protected but another copy is, the protected copy is kept instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

RULES = ("resolution", "size", "oldest", "newest", "folder")


def _date(row: dict[str, Any]) -> str:
    """Sortable date: EXIF date taken when present (YYYY:MM:DD HH:MM:SS sorts as text), else mtime."""
    if row.get("taken_at"):
        return str(row["taken_at"])
    import time

    return time.strftime("%Y:%m:%d %H:%M:%S", time.localtime(row.get("mtime") or 0))


def _key(rule: str, preferred: str | None) -> Callable[[dict[str, Any]], tuple]:
    pixels = lambda r: (r.get("width") or 0) * (r.get("height") or 0)  # noqa: E731
    if rule == "resolution":
        return lambda r: (-pixels(r), -r["size"], r["path"])
    if rule == "size":
        return lambda r: (-r["size"], -pixels(r), r["path"])
    if rule == "oldest":
        return lambda r: (_date(r), r["path"])
    if rule == "newest":
        return lambda r: (tuple(-ord(ch) for ch in _date(r)), r["path"])
    if rule == "folder":
        if not preferred:
            raise ValueError("the 'folder' keep rule needs a preferred folder")
        pref = os.path.join(os.path.abspath(preferred), "")
        return lambda r: (not r["path"].startswith(pref), -pixels(r), -r["size"], r["path"])
    raise ValueError(f"unknown keep rule {rule!r}; choose one of {', '.join(RULES)}")


def is_protected(path: str, protected_roots: list[str]) -> bool:
    return any(path.startswith(os.path.join(root, "")) for root in protected_roots)


def choose_removals(rows: list[dict[str, Any]], rule: str, protected_roots: list[str],
                    preferred: str | None = None) -> tuple[int, list[int]]:
    """(id to keep, ids to remove) for one group of image rows."""
    ranked = sorted(rows, key=_key(rule, preferred))
    keep = ranked[0]
    guarded = [r for r in ranked if is_protected(r["path"], protected_roots)]
    if guarded and keep not in guarded:
        keep = guarded[0]
    remove = [r["id"] for r in ranked if r is not keep and not is_protected(r["path"], protected_roots)]
    return keep["id"], remove
