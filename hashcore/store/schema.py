"""The schema of a library file, as the migrations that build it step by step.

MIGRATIONS[v] turns a schema-v(v-1) file into schema v; v1 creates everything. A step is SQL
text and stays as it was released (files in the wild were made by it). Steps run inside one
transaction each, after a backup of the file (`Store._migrate`). The tables are plain SQL, not
sqlite-utils' `create`: several are WITHOUT ROWID, which sqlite-utils cannot declare. A later
step that must rebuild a table (change a column's type, drop a column) is where sqlite-utils'
`table.transform` earns its place.
"""

from __future__ import annotations

SCHEMA_VERSION = 5

_SCHEMA_V1 = """
CREATE TABLE roots (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, protected INTEGER NOT NULL DEFAULT 0,
    added_at REAL NOT NULL, last_scan REAL, state TEXT NOT NULL DEFAULT 'new');
CREATE TABLE images (
    id INTEGER PRIMARY KEY, root_id INTEGER REFERENCES roots(id), path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL, mtime REAL NOT NULL, content_hash TEXT NOT NULL,
    width INTEGER, height INTEGER, format TEXT, taken_at TEXT, camera TEXT,
    status TEXT NOT NULL DEFAULT 'ok', indexed_at REAL NOT NULL);
CREATE INDEX images_hash ON images(content_hash);
CREATE INDEX images_root ON images(root_id, status);
CREATE TABLE features (
    image_id INTEGER PRIMARY KEY REFERENCES images(id), feature BLOB NOT NULL, probs BLOB);
CREATE TABLE models (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, method TEXT NOT NULL,
    bits INTEGER NOT NULL, sha256 TEXT NOT NULL);
CREATE TABLE codes (
    image_id INTEGER NOT NULL REFERENCES images(id), model_id INTEGER NOT NULL REFERENCES models(id),
    code BLOB NOT NULL, PRIMARY KEY (image_id, model_id)) WITHOUT ROWID;
CREATE TABLE buckets (
    model_id INTEGER NOT NULL, code BLOB NOT NULL, image_id INTEGER NOT NULL,
    PRIMARY KEY (model_id, code, image_id)) WITHOUT ROWID;
CREATE TABLE tags (
    image_id INTEGER NOT NULL REFERENCES images(id), tag TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'user', confidence REAL,
    PRIMARY KEY (image_id, tag)) WITHOUT ROWID;
CREATE INDEX tags_tag ON tags(tag);
CREATE TABLE scan_errors (
    path TEXT PRIMARY KEY, root_id INTEGER, error TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE decisions (
    key TEXT PRIMARY KEY, kind TEXT NOT NULL, image_ids TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE trash_log (
    id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, image_id INTEGER NOT NULL,
    path TEXT NOT NULL, size INTEGER NOT NULL, at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending');
CREATE INDEX trash_batch ON trash_log(batch);
"""

# v2: a generation counter bumped by every write, so caches in any process can tell the
# database changed; and an index for "which photos came from where" tag queries.
_SCHEMA_V2 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO meta VALUES ('generation', 0);
CREATE INDEX tags_source ON tags(source, tag);
"""

# v3: two codes per photo (issue 14 part 5). A model has a role: "semantic" (photos like this
# one, similar shots) or "copy" (the copy-detection head: duplicates and the copies a search lists
# first), and "dct" for the DCT hash of the decoded photo where the copy head uses it as a second
# test. Every role's codes live in `codes` and their exact-code lookup rows in `buckets`, each
# under its own model_id (the bucket table's key starts with it, so a lookup reads one model's
# rows only). The copy head's float embedding is not stored: the head computes it from the stored
# backbone features (a small map, no backbone pass) for the photos in candidate pairs. A library made before v3 has
# no copy codes; they are computed from the stored features on the next index, recode or
# duplicate search, without decoding a photo (every indexed photo's features are stored with its
# row). DCT hashes need the pixels: the next index reads such photos again (features reused). An older HashLens refuses a v3 file ("newer than this HashLens") instead of misreading it.
# v3 also indexes buckets by (model, photo): rewriting a photo's codes deletes its old bucket rows,
# which without the index read a model's whole bucket table per photo (quadratic at 100k).
_SCHEMA_V3 = """
ALTER TABLE models ADD COLUMN role TEXT NOT NULL DEFAULT 'semantic';
CREATE INDEX buckets_image ON buckets(model_id, image_id);
"""

# v4: the duplicate finder's geometric verdicts (hashcore/search/geometry.py: the match of two
# files' local features), kept across sessions under the two files' content hashes (a < b), so a
# second run in a new session reads no photo again. `version` is the geometry's own
# (geometry.VERSION): rows of another version are ignored, and replaced as pairs are matched anew.
# Writing them does not move the generation counter (no cached codes or features changed).
_SCHEMA_V4 = """
CREATE TABLE verdicts (
    a TEXT NOT NULL, b TEXT NOT NULL, version INTEGER NOT NULL, match TEXT NOT NULL,
    PRIMARY KEY (a, b)) WITHOUT ROWID;
"""

# v5: the photo inside a framed file (hashcore/ingest/frame.py: a screenshot of a photo in an
# app), one row per photo the indexer looked at: `box` (left, top, right, bottom shares, JSON) and
# the backbone features of that box, or both NULL where the file shows no frame. `version` is the
# detector's (frame.VERSION): photos without a row of this version are read again by the next
# index (their own features reused). The duplicate finder derives the box's copy code and
# embedding from the stored features, as it does for the whole photo's.
_SCHEMA_V5 = """
CREATE TABLE frames (
    image_id INTEGER PRIMARY KEY REFERENCES images(id), version INTEGER NOT NULL, box TEXT, feature BLOB);
"""

# MIGRATIONS[v] turns a schema-v(v-1) file into schema v. v1 creates everything.
MIGRATIONS: dict[int, str] = {1: _SCHEMA_V1, 2: _SCHEMA_V2, 3: _SCHEMA_V3, 4: _SCHEMA_V4, 5: _SCHEMA_V5}
