"""The indexer on real photos with the real model, driven through the Library API."""

from __future__ import annotations

import shutil

import pytest

from hashcore.config import Config
from hashcore.library import Library
from tests.photos import SAMPLES


@pytest.fixture
def folder(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    for n in range(5):
        for p in sorted(SAMPLES.glob("*.jpg")):
            shutil.copy(p, lib / f"{n}-{p.name}")
    return lib


def test_file_vanishing_during_a_scan_is_reported_and_the_rest_indexed(folder, tmp_path):
    files = sorted(folder.iterdir())
    victim = files[-1]

    def progress(done, total, path):
        if done == 1:
            victim.unlink()  # deleted after listing, before the decoder reaches it

    with Library(Config(home=tmp_path / "home"), db_path=tmp_path / "db") as lib:
        report = lib.index([folder], progress=progress)
    assert report.indexed == len(files) - 1
    assert [e["path"] for e in report.errors] == [str(victim)]
    assert "vanished" in report.errors[0]["error"]


def test_cancel_keeps_finished_batches_and_a_rerun_completes(folder, tmp_path):
    n_files = len(list(folder.iterdir()))
    with Library(Config(home=tmp_path / "home"), db_path=tmp_path / "db") as lib:
        report = lib.index([folder], cancel=lambda: lib.store.count() >= 16)
        assert report.cancelled and 16 <= lib.store.count() < n_files
        assert lib.store.count("missing") == 0  # a cancelled scan never marks photos missing
        report = lib.index([folder])
        assert not report.cancelled and lib.store.count() == n_files
        assert report.skipped >= 16


def test_exact_copies_are_one_exact_group_and_reuse_features(folder, tmp_path):
    with Library(Config(home=tmp_path / "home"), db_path=tmp_path / "db") as lib:
        lib.index([folder])
        groups = lib.duplicates()
    exact = [g for g in groups if g.kind == "exact"]
    assert len(exact) == len(list(SAMPLES.glob("*.jpg")))
    assert all(len(g.paths) == 5 and g.score == 1.0 for g in exact)
    assert not [g for g in groups if g.kind == "near"]  # copies of one file are not also "near"
    assert all(g.reclaimable == 4 * g.sizes[0] for g in exact)
