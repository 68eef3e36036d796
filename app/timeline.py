"""The library's order: by date taken (EXIF, else the file's time) in months, newest first; by
folder; or by name; and a date range. Plain functions over the snapshot's row dicts, so that the
panel, the fill-while-indexing updates and the benchmark share one definition.

A row's date is computed once and kept in the row (`when`, "YYYY-MM-DDTHH:MM:SS", local time):
a string sorts like the date it spells, and a month is its first seven characters.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np

from hashcore.ingest.paths import display_path

SORTS = (("date", "Date taken"), ("folder", "Folder"), ("name", "Name"))
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
UNKNOWN = ""  # `when` of a photo with no date at all (sorts last, newest first)

Group = tuple[str, int]  # (header text, photos under it)


def exif_when(taken: Any) -> str | None:
    """EXIF 'YYYY:MM:DD HH:MM:SS' (or ISO) as 'YYYY-MM-DDTHH:MM:SS'; None for blanks and zeros."""
    s = str(taken or "")
    if len(s) < 10 or not (s[:4].isdigit() and s[5:7].isdigit() and s[8:10].isdigit()):
        return None
    if s[:4] < "1800" or not "01" <= s[5:7] <= "12" or not "01" <= s[8:10] <= "31":
        return None
    clock = s[11:19] if len(s) >= 19 and s[11:13].isdigit() else "00:00:00"
    return f"{s[:4]}-{s[5:7]}-{s[8:10]}T{clock}"


def fill_dates(rows: Iterable[dict[str, Any]]) -> None:
    """Work out `when` for the rows that lack it: the EXIF date, else the file's time in local
    time, converted in bulk (100,000 file times in a few milliseconds, not a clock call each)."""
    clock: list[dict[str, Any]] = []
    for r in rows:
        if "when" not in r:
            w = exif_when(r["taken_at"]) if r.get("taken_at") else None
            if w is None:
                clock.append(r)
            else:
                r["when"] = w
    if clock:
        for r, w in zip(clock, local_times([r.get("mtime") or 0.0 for r in clock]), strict=True):
            r["when"] = w


def local_times(seconds: list[float]) -> list[str]:
    """Unix times as local 'YYYY-MM-DDTHH:MM:SS' ('' for 0). The UTC offset is looked up once per
    UTC day; a day whose offset differs at its two ends (a daylight-saving change) is converted
    one time at a time."""
    t = np.asarray(seconds, dtype=np.float64)
    out = np.full(len(t), "", dtype=object)
    ok = np.isfinite(t) & (t > 0)
    if not ok.any():
        return out.tolist()
    secs = np.floor(t[ok]).astype(np.int64)
    days, inv = np.unique(secs // 86_400, return_inverse=True)
    start = np.array([time.localtime(int(d) * 86_400).tm_gmtoff for d in days], dtype=np.int64)
    end = np.array([time.localtime(int(d) * 86_400 + 86_399).tm_gmtoff for d in days], dtype=np.int64)
    offset = start[inv]
    odd = np.flatnonzero(start[inv] != end[inv])
    for k in odd:
        offset[k] = time.localtime(int(secs[k])).tm_gmtoff
    text = np.datetime_as_string((secs + offset).astype("datetime64[s]"), unit="s")
    out[ok] = text.astype(object)
    return out.tolist()


def when(row: dict[str, Any]) -> str:
    """The row's date for ordering and grouping (kept in the row): taken, else modified."""
    if "when" not in row:
        fill_dates([row])
    return str(row["when"])


def carry_dates(old: Iterable[dict[str, Any]], new: list[dict[str, Any]]) -> None:
    """Give new rows (a fresh snapshot) the dates already worked out for the same photos, where
    their date taken and file time did not change: a dict look-up instead of a clock conversion."""
    known = {r["id"]: r for r in old if "when" in r}
    for r in new:
        o = known.get(r["id"])
        if o is not None and o.get("taken_at") == r.get("taken_at") and o.get("mtime") == r.get("mtime"):
            r["when"] = o["when"]


def month_title(w: str) -> str:
    return f"{MONTHS[int(w[5:7]) - 1]} {w[:4]}" if w else "Date unknown"


def in_range(rows: list[dict[str, Any]], start: str | None, end: str | None) -> list[dict[str, Any]]:
    """Rows dated within [start, end] ('YYYY-MM-DD', both days included); either may be None.
    With a range set, a photo without any date is left out."""
    if start is None and end is None:
        return list(rows)
    fill_dates(rows)
    lo, hi = start or "0000", (end or "9999") + "~"  # '~' sorts after every clock
    return [r for r in rows if r["when"] and lo <= r["when"] <= hi]


def arrange(rows: list[dict[str, Any]], sort: str) -> tuple[list[dict[str, Any]], list[Group] | None]:
    """Rows in the order `sort` names, and the groups shown as headers (None: no headers).
    Rows that tie keep their order (the snapshot's: by path)."""
    if sort == "date":
        fill_dates(rows)
        keys = [r["when"] for r in rows]
        order = sorted(range(len(rows)), key=keys.__getitem__, reverse=True)
        months = Counter(keys[i][:7] for i in order)  # counted in first-seen order: newest first
        return [rows[i] for i in order], [(month_title(k), n) for k, n in months.items()]
    if sort == "folder":
        split = [os.path.split(r["path"]) for r in rows]
        keys2 = [(d, f.lower()) for d, f in split]
        order = sorted(range(len(rows)), key=keys2.__getitem__)
        folders = Counter(split[i][0] for i in order)
        return [rows[i] for i in order], [(display_path(k), n) for k, n in folders.items()]
    if sort == "name":
        return sorted(rows, key=lambda r: (os.path.basename(r["path"]).lower(), r["path"])), None
    raise ValueError(f"unknown sort {sort!r}")


# -- filling the grid while indexing runs --------------------------------------------------------
def fresh_rows_job(ctx: Any, since: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """Photos committed at or after `since` (the indexer writes in batches), with the folders
    and totals as they are now: what the grid, the sidebar and the status bar add meanwhile."""
    with ctx.library() as lib:
        s = lib.store
        ids = lib.indexed_since(since)
        return (s.images(ids=ids) if ids else []), s.roots(), s.stats()
