"""The tag queries of a Store: tags from people (source "user"), from the files' keywords
("file") and from the model ("auto"). A person's tag is never overwritten by another source."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from hashcore.errors import NotFoundError
from hashcore.store.base import StoreBase

AutoTags = Callable[[np.ndarray], list[tuple[str, float]]]  # class probabilities -> (tag, confidence)

_UNTAGGED_PROBS = ("SELECT f.image_id, f.probs FROM features f JOIN images i ON i.id = f.image_id "
                   "WHERE i.status = 'ok' AND f.probs IS NOT NULL AND NOT EXISTS "
                   "(SELECT 1 FROM tags t WHERE t.image_id = f.image_id AND t.source = 'auto')")


class TagQueries(StoreBase):
    def add_tags(self, image_ids: Iterable[int], tags: Iterable[str], source: str = "user",
                 confidence: float | None = None) -> None:
        ids, clean = [int(i) for i in image_ids], [t.strip() for t in tags if t.strip()]
        known = {r[0] for r in self.conn.execute(
            "SELECT id FROM images WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),))}
        for i in ids:
            if i not in known:
                raise NotFoundError(f"no photo with id {i}")
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

    def tag_counts(self) -> list[tuple[str, int, int]]:
        """(tag, photos a person or a file gave it, photos the model gave it), ok photos only."""
        rows = self.conn.execute(
            "SELECT t.tag, sum(t.source != 'auto'), sum(t.source = 'auto') FROM tags t "
            "JOIN images i ON i.id = t.image_id WHERE i.status = 'ok' GROUP BY t.tag ORDER BY t.tag")
        return [(r[0], int(r[1]), int(r[2])) for r in rows]

    def person_tag_matches(self, tags: list[str]) -> dict[int, int]:
        """Photo id -> how many of these (lower-case) tags it carries from a person or a file."""
        if not tags:
            return {}
        rows = self.conn.execute(
            "SELECT image_id, count(*) FROM tags WHERE source != 'auto' AND lower(tag) IN "
            "(SELECT value FROM json_each(?)) GROUP BY image_id", (json.dumps(tags),))
        return {int(i): int(n) for i, n in rows}

    def person_tags(self) -> list[tuple[int, str]]:
        """(photo id, tag) of every tag a person or a file gave, whatever the photo's status."""
        return [(int(i), t) for i, t in self.conn.execute(
            "SELECT image_id, tag FROM tags WHERE source != 'auto' ORDER BY image_id, tag")]

    def add_auto_tags(self, tagger: AutoTags, retag: Iterable[int] | None = None) -> int:
        """Automatic tags for ok photos that have stored probabilities and no automatic tag yet,
        in one transaction; photos in `retag` lose their old automatic tags first. A person's tag
        of the same text stays theirs. Returns how many were added; nothing is written (and the
        generation stays) when there is nothing to tag."""
        retag = [int(i) for i in retag or []]
        if not retag and not self.conn.execute(_UNTAGGED_PROBS + " LIMIT 1").fetchall():
            return 0
        with self.transaction() as c:
            if retag:
                c.execute("DELETE FROM tags WHERE source = 'auto' AND image_id IN "
                          "(SELECT value FROM json_each(?))", (json.dumps(retag),))
            new = [(i, tag, "auto", conf) for i, blob in c.execute(_UNTAGGED_PROBS).fetchall()
                   for tag, conf in tagger(np.frombuffer(blob, np.float16).astype(np.float32))]
            before = c.total_changes
            c.executemany("INSERT OR IGNORE INTO tags VALUES (?, ?, ?, ?)", new)
            return c.total_changes - before

    def add_file_keywords(self, keywords: Iterable[tuple[int, str]]) -> int:
        """Keywords read from the files, as tags with source "file". A keyword is a person's
        word: it replaces an automatic tag of the same text, never a tag a person typed.
        Returns how many tags were added or changed."""
        rows = [(int(i), t, "file", None) for i, t in keywords]
        if not rows:
            return 0
        with self.transaction() as c:
            before = c.total_changes
            c.executemany("INSERT INTO tags VALUES (?, ?, ?, ?) ON CONFLICT(image_id, tag) DO UPDATE "
                          "SET source = excluded.source, confidence = NULL WHERE tags.source = 'auto'", rows)
            return c.total_changes - before
