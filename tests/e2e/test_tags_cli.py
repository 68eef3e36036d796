"""End to end: `hashcore find-tag`, `suggest-tags` and `tag` on the shipped sample photos."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.e2e.cli import hashcore
from tests.photos import SAMPLES


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    lib = tmp_path_factory.mktemp("samples")
    for p in SAMPLES.glob("*.jpg"):
        shutil.copy2(p, lib / p.name)
    db = lib.parent / "tags.db"
    assert hashcore("index", str(lib), db=db, ok=False, real_process=True).returncode == 0
    return db


def test_find_tag_and_suggest_tags_on_real_photos(db):
    proc = hashcore("find-tag", "coffee", "-k", "3", "--json", db=db, ok=False)
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)
    assert Path(hits[0]["path"]).stem == "coffee" and set(hits[0]) == {"id", "path", "distance"}
    cat_id = next(str(h["id"]) for h in json.loads(hashcore("search", str(SAMPLES / "chelsea-cat.jpg"),
                                                                  "-k", "1", "--json", db=db, ok=False).stdout))
    sug = hashcore("suggest-tags", cat_id, "--json", db=db, ok=False)
    assert sug.returncode == 0 and any("cat" in s["tag"] for s in json.loads(sug.stdout)[:5])


def test_a_query_the_models_cannot_place_says_its_matches_are_weak(db):
    text = hashcore("find-tag", "zzxq", "-k", "3", db=db, ok=False)
    assert text.returncode == 0, text.stderr
    first, *paths = text.stdout.splitlines()
    assert first.startswith("weak matches:") and '"zzxq"' in first, text.stdout
    assert len(paths) == 3 and all(Path(p.split(maxsplit=1)[1]).is_file() for p in paths)  # nearest photos anyway
    hits = json.loads(hashcore("find-tag", "zzxq", "-k", "3", "--json", db=db, ok=False).stdout)
    assert len(hits) == 3 and all(h["weak"] is True for h in hits)
    phrase = hashcore("find-tag", "photos of zzxqs", "-k", "1", db=db, ok=False).stdout
    assert phrase.startswith('weak matches: no word the tag models know is close to "zzxqs"'), phrase  # what it read
    for word in ("dog", "flower", "photos of dogs"):
        plain = hashcore("find-tag", word, "-k", "3", db=db, ok=False).stdout
        assert "weak" not in plain and len(plain.splitlines()) == 3, plain
        assert all("weak" not in h for h in json.loads(hashcore("find-tag", word, "-k", "3", "--json",
                                                                 db=db, ok=False).stdout))


def test_bad_tag_input_is_one_clear_line(db):
    empty = hashcore("find-tag", "  ", db=db, ok=False)
    assert empty.returncode == 1 and empty.stderr.strip() == "hashcore: nothing to search for: the tag text is empty"
    missing = hashcore("tag", "add", "beach", "424242", db=db, ok=False)
    assert missing.returncode == 1 and missing.stderr.strip() == "hashcore: no photo with id 424242"
    gone = hashcore("suggest-tags", "424242", db=db, ok=False)
    assert gone.returncode == 1 and "no photo with id 424242" in gone.stderr and "Traceback" not in gone.stderr


def test_tag_list_says_which_tags_a_person_did_not_write(db):
    assert hashcore("auto-tag", db=db, ok=False).returncode == 0
    cat_id = next(str(h["id"]) for h in json.loads(hashcore("search", str(SAMPLES / "chelsea-cat.jpg"),
                                                                  "-k", "1", "--json", db=db, ok=False).stdout))
    assert hashcore("tag", "add", "chelsea", cat_id, db=db, ok=False).returncode == 0
    line = hashcore("tag", "list", cat_id, db=db, ok=False).stdout.strip()
    auto = re.findall(r"([\w' -]+) \(auto, \d+%\)", line)
    assert "cat" in [a.strip() for a in auto], line  # the model's tags say so, with a confidence
    rest = re.sub(r"[\w' -]+ \(auto, \d+%\)(, )?", "", line.split(": ", 1)[1])
    assert rest == "chelsea", line  # a person's tag, shown as written
    listing = hashcore("tag", "list", db=db, ok=False).stdout.splitlines()
    assert "chelsea (1)" in listing
    assert "cat (auto, 1)" in listing, listing  # only the model tagged the cat "cat"


def test_find_tag_json_marks_the_photos_that_carry_the_word_as_a_tag(db):
    assert hashcore("auto-tag", db=db, ok=False).returncode == 0
    hits = json.loads(hashcore("find-tag", "photos of cats", "-k", "3", "--json", db=db, ok=False).stdout)
    assert Path(hits[0]["path"]).stem == "chelsea-cat" and hits[0]["tagged"] is True  # auto-tagged "cat"
    assert all("tagged" not in h for h in hits[1:])
