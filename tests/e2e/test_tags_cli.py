"""End to end: `hashcore find-tag`, `suggest-tags` and `tag` on the shipped sample photos."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.photos import SAMPLES


def hashcore(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hashcore.cli", "--db", str(db), *args],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    lib = tmp_path_factory.mktemp("samples")
    for p in SAMPLES.glob("*.jpg"):
        shutil.copy2(p, lib / p.name)
    db = lib.parent / "tags.db"
    assert hashcore(db, "index", str(lib)).returncode == 0
    return db


def test_find_tag_and_suggest_tags_on_real_photos(db):
    proc = hashcore(db, "find-tag", "coffee", "-k", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)
    assert Path(hits[0]["path"]).stem == "coffee" and set(hits[0]) == {"id", "path", "distance"}
    cat_id = next(str(h["id"]) for h in json.loads(hashcore(db, "search", str(SAMPLES / "chelsea-cat.jpg"),
                                                                  "-k", "1", "--json").stdout))
    sug = hashcore(db, "suggest-tags", cat_id, "--json")
    assert sug.returncode == 0 and any("cat" in s["tag"] for s in json.loads(sug.stdout)[:5])


def test_bad_tag_input_is_one_clear_line(db):
    empty = hashcore(db, "find-tag", "  ")
    assert empty.returncode == 1 and empty.stderr.strip() == "hashcore: nothing to search for: the tag text is empty"
    missing = hashcore(db, "tag", "add", "beach", "424242")
    assert missing.returncode == 1 and missing.stderr.strip() == "hashcore: no photo with id 424242"
    gone = hashcore(db, "suggest-tags", "424242")
    assert gone.returncode == 1 and "no photo with id 424242" in gone.stderr and "Traceback" not in gone.stderr


def test_tag_list_says_which_tags_a_person_did_not_write(db):
    assert hashcore(db, "auto-tag").returncode == 0
    cat_id = next(str(h["id"]) for h in json.loads(hashcore(db, "search", str(SAMPLES / "chelsea-cat.jpg"),
                                                                  "-k", "1", "--json").stdout))
    assert hashcore(db, "tag", "add", "chelsea", cat_id).returncode == 0
    line = hashcore(db, "tag", "list", cat_id).stdout.strip()
    auto = re.findall(r"([\w' -]+) \(auto, \d+%\)", line)
    assert "cat" in [a.strip() for a in auto], line  # the model's tags say so, with a confidence
    rest = re.sub(r"[\w' -]+ \(auto, \d+%\)(, )?", "", line.split(": ", 1)[1])
    assert rest == "chelsea", line  # a person's tag, shown as written
    listing = hashcore(db, "tag", "list").stdout.splitlines()
    assert "chelsea (1)" in listing
    assert "cat (auto, 1)" in listing, listing  # only the model tagged the cat "cat"
