"""End to end: two codes per photo (issue 14 parts 2 and 5), on photos no model trained on.

Four held-out photos of the duplicate benchmark (bench/photos.py's recorded split), each with
three everyday edits made by bench/edits.py, are indexed with `hashcore index`. `hashcore dups`
groups every photo with its own copies and with no other photo; `hashcore search` lists a
photo's copies first, marked as copies, then the other photos."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bench.edits import make_edit
from bench.photos import recorded_split
from tests.e2e.cli import hashcore

# (benchmark id, file): held-out photos that need no extraction from gcompris's resource files
PHOTOS = {"mate/Wood": Path("/usr/share/backgrounds/mate/nature/Wood.jpg"),
          "palapeli/citrus-fruits": Path("/usr/share/palapeli/collection/citrus-fruits.jpg"),
          "palapeli/european-honey-bee": Path("/usr/share/palapeli/collection/european-honey-bee.jpg"),
          "palapeli/panther-chameleon-female": Path("/usr/share/palapeli/collection/panther-chameleon-female.jpg")}
# a WebP re-encoding, a small thumbnail, a sharpened copy: edits the shipped copy head keeps within
# its operating point on these photos (copy cosine >= 0.96 against 0.92); how it does on every kind
# of edit is the benchmark's job (`make eval-dups`), not this test's
EDITS = ("webp", "thumbnail", "sharpen")


def run(db: Path, *args: str, real_process: bool = False) -> Any:
    """`hashcore --db db args... --json`, its output parsed."""
    return json.loads(hashcore(*args, "--json", db=db, real_process=real_process).stdout)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]]]:
    missing = [str(p) for p in PHOTOS.values() if not p.is_file()]
    assert not missing, f"install Debian's mate-backgrounds and palapeli-data (.ci/run does): {missing}"
    split = recorded_split()
    assert split is not None and set(PHOTOS) <= set(split["heldout"]), "the test's photos must be held out"
    root = tmp_path_factory.mktemp("photos")
    (root / "edits").mkdir()
    files: dict[str, list[str]] = {}
    for bid, src in PHOTOS.items():
        name = bid.split("/")[1]
        with Image.open(src) as img:
            img = img.convert("RGB")
            img.thumbnail((1024, 1024))
        img.save(root / f"{name}.jpg", quality=92)
        files[name] = [str(root / f"{name}.jpg")]
        for family in EDITS:
            edit = make_edit(family, img, random.Random(f"e2e-copies:{bid}:{family}"))
            files[name].append(str(edit.save(root / "edits" / f"{name}-{family}")))
    db = root.parent / f"{root.name}.db"
    report = run(db, "index", str(root), real_process=True)
    assert report["indexed"] == 4 * (1 + len(EDITS)) and report["errors"] == []
    stats = run(db, "stats")
    assert stats["copy_model"], "no copy-detection head: resources/models/manifest.json names none"
    return db, files


def test_dups_groups_each_photo_with_its_copies_and_no_other_photo(library):
    db, files = library
    groups = run(db, "dups")
    assert sorted(sorted(g["paths"]) for g in groups) == sorted(sorted(f) for f in files.values()), groups
    assert all(g["kind"] == "near" and len(g["remove"]) == len(g["paths"]) - 1 for g in groups)


def test_search_lists_a_photos_copies_first_marked_as_copies(library):
    db, files = library
    for own in files.values():
        hits = run(db, "search", own[0], "-k", "8")
        assert hits[0]["path"] == own[0] and "copy" not in hits[0]  # the photo itself, not a copy of itself
        assert {h["path"] for h in hits[1:len(own)]} == set(own[1:])
        assert all(h.get("copy") for h in hits[1:len(own)])
        assert not any(h.get("copy") for h in hits[len(own):])  # then the other photos, not copies
        edit = own[-1]
        by_id = run(db, "search", "--id", str(next(h["id"] for h in hits if h["path"] == edit)), "-k", "3")
        assert {h["path"] for h in by_id} == set(own) - {edit} and all(h["copy"] for h in by_id)
