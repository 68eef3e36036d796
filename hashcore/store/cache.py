"""The one shared code cache: values computed from a database (above all a model's codes, loaded
into one contiguous array), shared by every Store of this process that opens the same file.

An entry is valid for one generation of the database (`Store.generation()`, bumped by every
committed write from any process). When the generation moved on, the entry is rebuilt by its
builder, which gets the previous value and may return it unchanged (a tag edit bumps the
generation but leaves the codes, and whatever was built over them, as they were).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TypeVar, cast

T = TypeVar("T")


class GenerationCache:
    """(database path, key) -> (generation, value), behind one lock."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, Hashable], tuple[int, object]] = {}
        self._lock = threading.Lock()

    def get(self, path: str, key: Hashable, generation: int, build: Callable[[T | None], T]) -> T:
        """The value for this generation; built (from the previous value, if any) under the
        lock, so that two threads asking at once load the database once."""
        with self._lock:
            entry = self._entries.get((path, key))
            if entry is not None and entry[0] == generation:
                return cast(T, entry[1])
            value = build(None if entry is None else cast(T, entry[1]))
            self._entries[(path, key)] = (generation, value)
            return value

    def forget(self, path: str, key: Hashable) -> None:
        with self._lock:
            self._entries.pop((path, key), None)


SHARED = GenerationCache()  # for files; each ":memory:" store has its own (nothing to share)
