"""The fast tag-query path (issue 15 part 5): a fresh process answers a tag query without torch or
sentence-transformers, the cheaper re-rank ranks exactly as the plain one did, and the query's
one-BLAS-thread setting is given back afterwards. Real photos, a real SQLite library, the shipped
models."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_info

from hashcore.config import Config
from hashcore.library import Library
from hashcore.tags import search
from tests.photos import ROOT, SAMPLES

NATURE = Path("/usr/share/backgrounds/mate/nature")


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory):
    photos = sorted(SAMPLES.glob("*.jpg")) + sorted(NATURE.glob("*.jpg"))
    assert len(photos) > 12, "install Debian's mate-backgrounds (.ci/run does)"
    root = tmp_path_factory.mktemp("photos")
    for p in photos:
        shutil.copy2(p, root / p.name)
    home = tmp_path_factory.mktemp("home")
    library = Library(Config(home=home), db_path=home / "library.db")
    library.index([root])
    library.auto_tag()
    cat = next(r["id"] for r in library.store.images() if Path(r["path"]).stem == "coffee")
    library.store.add_tags([cat], ["kitten"])  # a person's tag that the codes disagree with
    yield library
    library.close()


def test_a_fresh_process_answers_a_tag_query_without_torch_or_sentence_transformers(lib):
    child = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from hashcore.config import Config\n"
        "from hashcore.library import Library\n"
        f"with Library(Config(home=Path({str(lib.config.home)!r})), db_path={str(lib.store.path)!r}) as lib:\n"
        "    hits = lib.find_tag(['kitten', 'cup of coffee'], k=5)\n"
        "print(json.dumps({'hits': [Path(h.path).stem for h in hits],\n"
        "                  'loaded': [m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules]}))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["loaded"] == []
    assert result["hits"][0] == "coffee"  # the person's "kitten" tag first
    assert len(result["hits"]) == 5
    assert result["hits"] == [Path(h.path).stem for h in lib.find_tag(["kitten", "cup of coffee"], k=5)]


def reference_rerank(svc: search.TagService, head, ids, cand, rank, boost, acts, k: int, max_rerank: int) -> list[int]:
    """The re-rank as it was before it was made cheaper: a full lexsort and a dict of L1 sums."""
    order = cand[np.lexsort((rank[cand], -boost[cand]))]
    cut = order[: k + max_rerank] if len(order) > k else order
    kth = rank[order[min(k, len(order)) - 1]]
    cut = np.union1d(cut[rank[cut] <= kth], order[:k])
    fid, feats = svc.store.features(ids[cut].tolist())
    ia = head.image_activations(feats) if len(feats) else np.zeros((0, head.bits))
    l1_of = {int(i): float(sum(np.abs(ia[n] - a).sum() for a in acts)) for n, i in enumerate(fid)}
    return sorted(cut.tolist(), key=lambda j: (-boost[j], rank[j], l1_of.get(int(ids[j]), 1e9), int(ids[j])))[:k]


@pytest.mark.parametrize("seed", range(6))
def test_the_cheaper_rerank_ranks_exactly_as_the_plain_one(lib, monkeypatch, seed):
    """Random distances with many ties, a few tagged photos, a small re-rank window (so that the
    window's cut matters), one or two query words: the same photos in the same order."""
    rng = np.random.default_rng(seed)
    svc, head = lib.tagging, lib.tag_model()
    ids, _, _ = svc.tag_codes()
    n = len(ids)
    rank = rng.integers(0, 4, n)
    boost = np.where(rng.random(n) < 0.15, rng.integers(1, 3, n), 0)
    cand = np.flatnonzero(rng.random(n) < 0.9)
    acts = [head.text_activations(rng.standard_normal((1, 384)).astype(np.float32))[0] for _ in range(1 + seed % 2)]
    for k, window in ((1, 0), (3, 2), (5, 4), (n, 2000)):
        monkeypatch.setattr(search, "MAX_RERANK", window)
        assert svc._rerank(head, ids, cand, rank, boost, acts, k) == \
            reference_rerank(svc, head, ids, cand, rank, boost, acts, k, window), (k, window)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=60), st.integers(1, 70))
def test_smallest_is_the_head_of_a_stable_sort(keys, m):
    key = np.asarray(keys, np.int64)
    assert search.smallest(key, m).tolist() == np.argsort(key, kind="stable")[:m].tolist()


@settings(max_examples=100, deadline=None)
@given(st.sets(st.integers(1, 500), max_size=80), st.dictionaries(st.integers(0, 520), st.integers(1, 3), max_size=30))
def test_counts_at_reads_each_photos_count(ids, counts):
    arr = np.asarray(sorted(ids), np.int64)
    assert search.counts_at(arr, counts).tolist() == [counts.get(int(i), 0) for i in arr]


def blas_threads() -> int:
    return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")


def test_a_tag_query_gives_numpys_threads_back(lib):
    """Inside a query NumPy's BLAS runs on one thread, whichever thread asks (the GUI's searches run
    in pool threads); after it, and after overlapping queries in several threads, other NumPy work
    has its threads back."""
    before = blas_threads()
    inside: list[int] = []
    real = search.TagService._rerank

    def spy(self, *a, **kw):
        inside.append(blas_threads())
        return real(self, *a, **kw)

    search.TagService._rerank = spy  # type: ignore[method-assign]
    try:
        lib.find_tag(["cup"], 5)  # this thread first (as the GUI's first search may be in any thread)
        workers = [threading.Thread(target=lib.find_tag, args=([w], 5)) for w in ("dog", "tree", "sea", "rocket")]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        lib.find_tag(["coffee"], 5)
    finally:
        search.TagService._rerank = real  # type: ignore[method-assign]
    assert len(inside) >= 6 and inside == [1] * len(inside)  # every re-rank of the six queries
    assert blas_threads() == before


def test_a_blas_loaded_after_the_first_query_is_held_to_one_thread_too(lib):
    """In the app one process answers tag queries and runs the duplicate finder, whose geometric
    check loads OpenCV (with an OpenBLAS of its own) and SciPy's FFT after the first tag query.
    Queries after that hold every BLAS to one thread, the newly loaded ones included. Run in a
    fresh process: this test process may have loaded them all long ago."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from threadpoolctl import threadpool_info\n"
        "from hashcore.config import Config\n"
        "from hashcore.library import Library\n"
        "from hashcore.tags import search\n"
        "home = Path(sys.argv[1])\n"
        "lib = Library(Config(home=home), db_path=home / 'library.db')\n"
        "lib.find_tag(['cup'], 5)\n"
        "before = {i['filepath'] for i in threadpool_info() if i['user_api'] == 'blas'}\n"
        "import cv2, scipy.fft  # noqa: E401,F401  what the geometric check loads\n"
        "after = {i['filepath'] for i in threadpool_info() if i['user_api'] == 'blas'}\n"
        "seen = []\n"
        "real = search.TagService._rerank\n"
        "def spy(self, *a, **kw):\n"
        "    seen.append(max(i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'))\n"
        "    return real(self, *a, **kw)\n"
        "search.TagService._rerank = spy\n"
        "lib.find_tag(['dog'], 5)\n"
        "print(len(after - before), seen)\n"
    )
    home = Path(lib.store.path).parent
    out = subprocess.run([sys.executable, "-c", script, str(home)], cwd=ROOT, capture_output=True, text=True,
                         env=dict(os.environ, OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2"))
    assert out.returncode == 0, out.stderr
    new, seen = out.stdout.split(" ", 1)
    assert int(new) >= 1, "cv2 and scipy.fft should bring a BLAS of their own"
    threads = json.loads(seen)
    assert threads and threads == [1] * len(threads), threads
