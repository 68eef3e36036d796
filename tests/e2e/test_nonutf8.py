"""End to end: a photo whose file name is not UTF-8 (b'caf\\xe9.jpg', Latin-1, as old cameras,
Windows archives and NAS shares write it) is the user's photo like any other. The real
`hashcore` command indexes it, finds it, groups it with its copy, tags, trashes and restores it
under its exact bytes; output names it as caf\\xe9.jpg, in text and in valid JSON."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from hashcore.ingest.paths import display_path
from hashcore.store.db import Store
from tests.e2e.cli import as_json, hashcore
from tests.photos import SAMPLES

NAME = b"caf\xe9.jpg"  # "café.jpg" in Latin-1: not valid UTF-8


def make_library(base: Path) -> tuple[Path, dict[str, str]]:
    """A folder with the Latin-1-named photo, a copy of it under a plain name and another photo;
    the trash and the library home inside `base`."""
    lib = base / "photos"
    lib.mkdir()
    shutil.copy(SAMPLES / "coffee.jpg", os.path.join(os.fsencode(lib), NAME))
    shutil.copy(SAMPLES / "coffee.jpg", lib / "copy.jpg")
    shutil.copy(SAMPLES / "rocket-launch.jpg", lib / "rocket.jpg")
    env = {**os.environ, "HASHLENS_HOME": str(base / "home"), "HOME": str(base),
           "XDG_DATA_HOME": str(base / "xdg"), "PYTHONIOENCODING": "utf-8"}
    return lib, env


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    base = tmp_path_factory.mktemp("nonutf8")
    lib, env = make_library(base)
    report = as_json(hashcore("index", str(lib), "--json", env=env, real_process=True))
    return lib, env, report


def photo_path(lib: Path) -> str:
    return os.fsdecode(os.path.join(os.fsencode(lib), NAME))


def photo_id(lib: Path, env: dict[str, str]) -> int:
    """The photo's id, read from the library file the CLI wrote."""
    with Store(Path(env["HASHLENS_HOME"]) / "library.db") as store:
        return int(store.image_by_path(photo_path(lib))["id"])


def shown(lib: Path) -> str:
    """How the CLI names the photo: its one non-UTF-8 byte as \\xe9."""
    return str(lib / "caf\\xe9.jpg")


def test_the_photo_is_indexed_not_an_error(library):
    lib, env, report = library
    assert report["indexed"] == 3 and report["errors"] == []
    assert as_json(hashcore("errors", "--json", env=env)) == []
    assert display_path(photo_path(lib)) == shown(lib)


def test_search_and_duplicates_name_it_readably(library):
    lib, env, _ = library
    hits = as_json(hashcore("search", os.fsencode(photo_path(lib)), "-k", "3", "--json", env=env,
                               real_process=True))  # the name as raw bytes in a real argv
    assert {h["path"] for h in hits if h["distance"] == 0} == {shown(lib), str(lib / "copy.jpg")}
    groups = as_json(hashcore("dups", "--json", env=env))
    assert [sorted(g["paths"]) for g in groups] == [sorted([shown(lib), str(lib / "copy.jpg")])]
    text = hashcore("dups", env=env).stdout
    assert f"  {shown(lib)}\n" in text
    by_id = as_json(hashcore("search", "--id", str(photo_id(lib, env)), "-k", "1", "--json", env=env))
    assert by_id[0]["path"] == str(lib / "copy.jpg") and by_id[0]["distance"] == 0


def test_tags_follow_it_and_a_rename_keeps_them(library):
    lib, env, _ = library
    pid = photo_id(lib, env)
    hashcore("tag", "add", "espresso", str(pid), env=env)
    assert as_json(hashcore("tag", "list", "--json", env=env)) == {"espresso": 1}
    assert [t["tag"] for t in as_json(hashcore("tag", "list", str(pid), "--json", env=env))[str(pid)]] == ["espresso"]
    found = as_json(hashcore("find-tag", "espresso", "-k", "3", "--json", env=env))
    assert found[0] == {"id": pid, "path": shown(lib), "distance": found[0]["distance"], "tagged": True}
    renamed = os.path.join(os.fsencode(lib), b"\xe9t\xe9 caf\xe9.jpg")
    os.rename(os.path.join(os.fsencode(lib), NAME), renamed)  # another Latin-1 name: a move
    report = as_json(hashcore("index", str(lib), "--json", env=env, real_process=True))
    assert (report["moved"], report["indexed"], report["errors"]) == (1, 0, [])
    found = as_json(hashcore("find-tag", "espresso", "-k", "1", "--json", env=env))
    assert found[0]["id"] == pid and found[0]["path"] == str(lib / "\\xe9t\\xe9 caf\\xe9.jpg")
    os.rename(renamed, os.path.join(os.fsencode(lib), NAME))


def test_trash_and_undo_restore_the_exact_bytes(tmp_path):
    lib, env = make_library(tmp_path)
    hashcore("index", str(lib), "--json", env=env)
    moved = as_json(hashcore("trash", str(photo_id(lib, env)), "--json", env=env))
    assert moved["moved"] == [shown(lib)] and moved["failed"] == []
    assert NAME not in os.listdir(os.fsencode(lib))
    trash = os.fsencode(tmp_path / "xdg" / "Trash")
    assert os.listdir(os.path.join(trash, b"files")) == [NAME]
    info = Path(os.fsdecode(os.path.join(trash, b"info", NAME + b".trashinfo"))).read_text()
    assert f"Path={lib}/caf%E9.jpg\n" in info
    restored = as_json(hashcore("trash", "--undo", "--json", env=env))
    assert restored == {"restored": [shown(lib)]}
    back = os.path.join(os.fsencode(lib), NAME)
    assert open(back, "rb").read() == (SAMPLES / "coffee.jpg").read_bytes()
    assert os.listdir(os.path.join(trash, b"files")) == []
    assert len(as_json(hashcore("dups", "--json", env=env))) == 1  # back in the library, beside its copy
