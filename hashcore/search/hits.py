"""What a search answers with, whichever service asked (similar photos, tag search)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Hit:
    """One photo found: its id and path, its Hamming distance to the query, and whether its code
    equals the query's exactly (tag search: whether a person gave it the very tag)."""

    id: int
    path: str
    distance: int
    exact_code: bool

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "path": self.path, "distance": self.distance}
