"""The Library front door over its services, on a real SQLite file and real photos: tag text
given as one string, radius searches through the multi-index hash, the shared code cache, and
trash undo where the platform's trash cannot be searched."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hashcore import cli
from hashcore.cleanup import trash
from hashcore.config import Config
from hashcore.library import Library
from hashcore.search import scan as scanmod
from hashcore.search.mih import MultiIndexHash, radius_probes
from hashcore.search.scan import CodeIndex, ReferenceSearch
from hashcore.tags.search import query_tags
from tests.core.test_keep_trash import make_store_with_files
from tests.photos import samples_library, small_library


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory):
    """The sample photos by name, and the first 30 source photos downsized (the samples among
    them are near copies of the originals: neighbours for radius searches)."""
    yield from samples_library(tmp_path_factory, lambda root: small_library(root / "more", 30, 400))


def test_a_tag_given_as_one_string_is_one_tag_not_its_letters(lib):
    assert query_tags("beach") == ["beach"]
    assert query_tags("  Ankle BOOT ") == ["ankle boot"]
    assert query_tags(["beach", "Beach ", "sea"]) == ["beach", "sea"]
    for text, stem in (("coffee", "coffee"), ("rocket", "rocket-launch")):
        as_str = lib.find_tag(text, k=5)
        assert as_str == lib.find_tag([text], k=5) and stem in [Path(h.path).stem for h in as_str[:2]]
        assert as_str != lib.find_tag(list(text), k=5)  # what the letters one by one would find


def test_a_radius_search_goes_through_the_multi_index_hash_with_the_scans_answer(lib, monkeypatch):
    index = lib.code_index
    ids = [r["id"] for r in lib.store.images()]
    radii = (2, 6, 12, 20, 28)
    monkeypatch.setattr(index, "mih_after_scans", None)  # every radius query scans
    scanned = {(i, r): lib.search_id(i, k=1000, radius=r) for i in ids for r in radii}
    assert index.mih is None
    assert sum(len(h) for h in scanned.values()) > len(scanned)  # photos do have neighbours here
    # a library this small is below the probes-per-row line: let the index take every radius query
    monkeypatch.setattr(index, "mih_after_scans", 0)
    monkeypatch.setattr(index, "mih_rows_per_probe", 0)

    def scan_must_not_answer(query: np.ndarray, r: int) -> None:
        raise AssertionError(f"the scan answered a radius-{r} query")

    monkeypatch.setattr(index.backend, "radius", scan_must_not_answer)
    for (i, r), hits in scanned.items():
        assert lib.search_id(i, k=1000, radius=r) == hits, (i, r)
    assert lib.code_index is index and isinstance(index.mih, MultiIndexHash)
    assert all(index.ball_backend(r) is index.mih for r in radii)


def test_the_index_is_built_once_radius_queries_have_paid_for_it():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, np.iinfo(np.uint64).max, (20_000, 1), dtype=np.uint64, endpoint=True)
    index = CodeIndex(np.arange(1, 20_001), codes, 64)  # photo ids 1.., row + 1
    reference = ReferenceSearch(codes)
    queries = codes[rng.integers(0, len(codes), scanmod.MIH_AFTER_SCANS + 5)] ^ np.uint64(0b101)
    for n, q in enumerate(queries):
        got = index.radius(q, 2)
        # the first MIH_AFTER_SCANS small-radius queries scan; the next one builds the index
        assert isinstance(index.mih, MultiIndexHash) == (n >= scanmod.MIH_AFTER_SCANS), n
        if n % 50 == 0 or n >= scanmod.MIH_AFTER_SCANS:
            rows, dist = reference.radius(q, 2)
            assert got == list(zip((rows + 1).tolist(), dist.tolist(), strict=True)) and got, n
    assert index.ball_backend(2) is index.mih
    # a wide ball costs more probe keys than the index has rows to save: the scan answers it
    assert radius_probes(len(index), 64, 12) * index.mih_rows_per_probe > len(index)
    assert index.ball_backend(12) is index.backend
    tiny = CodeIndex(np.arange(10), codes[:10], 64, mih_after_scans=0)
    assert tiny.ball_backend(2) is tiny.backend and tiny.mih is None


@pytest.mark.parametrize("r", [0, 1, 3, 5, 9, 14, 20])
def test_radius_probes_is_what_the_index_probes(r):
    codes = np.random.default_rng(r).integers(0, 2**63, (5000, 2), dtype=np.uint64)
    mih = MultiIndexHash(codes, bits=128)
    assert radius_probes(len(codes), 128, r) == len(mih._plan(mih._levels(r))[0])


def test_the_code_cache_is_shared_and_survives_writes_that_leave_codes_alone(lib):
    index = lib.code_index
    with Library(lib.config, db_path=lib.store.path, encoder=lib.encoder) as other:
        assert other.code_index is index
        before = lib.store.generation()
        some = lib.store.images()[0]["id"]
        other.store.add_tags([some], ["kept"])
        assert lib.store.generation() == before + 1
        assert lib.code_index is index and other.code_index is index
        other.store.remove_tags([some], ["kept"])
    lib.invalidate()
    assert lib.code_index is not index and lib.code_index.holds(*lib.store.codes(lib.model_id))


def test_indexed_since_names_new_photos_only(lib):
    everyone = sorted(r["id"] for r in lib.store.images())
    assert lib.indexed_since(0.0) == everyone
    assert lib.indexed_since(time.time() + 60) == []


# --- trash undo, per platform ---------------------------------------------------------------


@pytest.mark.parametrize(("platform", "how"), [("darwin", "File > Put Back"), ("win32", "Recycle Bin")])
def test_undo_where_the_trash_cannot_be_searched_is_refused_clearly_and_loses_nothing(
        tmp_path, private_home, monkeypatch, capsys, platform, how):
    names = [f"{c}.jpg" for c in "abcdefg"]
    store, ids = make_store_with_files(tmp_path, names)
    paths = [store.image(i)["path"] for i in ids]
    assert trash.move_to_trash(store, ids[:6]).moved == paths[:6]  # moving works everywhere
    store.close()
    in_trash = private_home / ".local/share/Trash/files"
    with monkeypatch.context() as m:
        m.setattr(sys, "platform", platform)
        assert trash.trash_kind() in ("macos", "windows") and not trash.undo_available()
        with Library(Config(home=private_home / "hashlens"), db_path=tmp_path / "t.db") as library:
            assert not library.can_undo_trash()
            with pytest.raises(trash.UndoUnavailable) as refusal:
                library.undo_trash()
            assert cli.main(["--db", str(tmp_path / "t.db"), "trash", "--undo"]) == 1
            message = str(refusal.value)
            assert message.startswith("undo is not available on this platform") and how in message
            assert all(p in message for p in paths[:5]) and "and 1 more" in message
            err = capsys.readouterr().err
            assert err == f"hashcore: {message}\n"  # one line, the same words
            # nothing lost: the files are still in the trash, the database still says so
            assert sorted(p.name for p in in_trash.iterdir()) == names[:6]
            assert [r["status"] for r in map(library.store.image, ids)] == ["trashed"] * 6 + ["ok"]
    with Library(Config(home=private_home / "hashlens"), db_path=tmp_path / "t.db") as library:
        assert library.can_undo_trash()
        assert sorted(library.undo_trash()) == sorted(paths[:6])  # the freedesktop trash: undo works
        assert all(Path(p).exists() for p in paths)
