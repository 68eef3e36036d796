"""What a search answers with, whichever service asked (similar photos, tag search)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Hit:
    """One photo found: its id and path, its Hamming distance to the query, and whether its code
    equals the query's exactly (tag search: whether a person gave it the very tag); `copy`: a copy
    of the query photo (an edit of it, found by the copy-detection head), listed first; `tagged`
    (tag search): the photo carries a word of the query as a tag, a person's or automatic."""

    id: int
    path: str
    distance: int
    exact_code: bool
    copy: bool = False
    maybe_copy: bool = False
    tagged: bool = False

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "path": self.path, "distance": self.distance}
        if self.tagged:
            out["tagged"] = True
        if self.copy:
            out["copy"] = True
        if self.maybe_copy:
            out["maybe_copy"] = True
        return out
