"""The tag search's second ranking (hashcore/tags/fusion.py): the photos nearest to a word's first
photos, fused with the word's own ranking. Checked against a plain reference on a real library
(real photos, the shipped model, a real SQLite file), and by properties of the fusion itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashcore.library import Library
from hashcore.tags import fusion
from tests.photos import samples_library

distances = st.lists(st.integers(0, 64), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(distances)
def test_a_photos_rank_counts_the_photos_strictly_nearer(d):
    assert fusion.competition_rank(np.asarray(d)).tolist() == [sum(x < v for x in d) for v in d]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 64), st.integers(0, 128)), min_size=2, max_size=60))
def test_a_photo_nearer_in_both_rankings_is_never_below(pairs):
    d, near = (np.asarray(x) for x in zip(*pairs, strict=True))
    key = fusion.fused_rank(d, near)
    assert key.min() == 0 and key.dtype == np.int64
    for i in range(len(d)):
        for j in range(len(d)):
            if d[i] <= d[j] and near[i] <= near[j]:
                assert key[i] <= key[j]
                if d[i] < d[j] and near[i] < near[j]:
                    assert key[i] < key[j]


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory):
    yield from samples_library(tmp_path_factory)


def reference(lib: Library, word: str) -> list[str]:
    """The order the fusion promises, in plain Python over the stored features: distance to the
    word's code; the two first photos (by distance, then activations' L1, then id); each photo's
    summed distance to them; 1/(60 + photos strictly nearer) for both rankings, added. Where a
    person gave the word to photos, those come first, and they are the seeds instead."""
    from hashcore.models.textenc import shared

    head = lib.tag_model()
    ids, feats = lib.store.features()
    ia = head.image_activations(feats)
    ta = head.text_activations(shared().encode([word]))[0]
    bi, bt = ia > head.threshold, ta > head.threshold
    n = range(len(ids))
    d = [int((bi[i] != bt).sum()) for i in n]
    l1 = [float(np.abs(ia[i] - ta).sum()) for i in n]
    tagged = set(lib.store.ids_with_tag(word))
    examples = [i for i in n if int(ids[i]) in tagged]
    seeds = examples or sorted(n, key=lambda i: (d[i], l1[i], ids[i]))[:fusion.SEEDS]
    near = [sum(int((bi[i] != bi[s]).sum()) for s in seeds) for i in n]

    def score(i: int) -> float:
        return (1 / (fusion.RRF_K + sum(x < d[i] for x in d))
                + fusion.WEIGHT / (fusion.RRF_K + sum(x < near[i] for x in near)))

    order = sorted(n, key=lambda i: (int(ids[i]) not in tagged, -score(i), l1[i], ids[i]))
    paths = {r["id"]: r["path"] for r in lib.store.images()}
    return [Path(paths[int(ids[i])]).stem for i in order]


@pytest.mark.parametrize("word", ["cat", "coffee", "rocket", "animal", "money"])
def test_a_tag_search_ranks_as_the_plain_reference_does(lib, word):
    assert not lib.store.ids_with_tag(word)  # no tags here: the codes alone decide
    hits = lib.find_tag([word], k=6)
    assert [Path(h.path).stem for h in hits] == reference(lib, word)[:6]


def test_photos_a_person_tagged_are_the_examples_for_the_rest(lib):
    # "grandma" is no word the model knows a photo by: the photos a person gave it come first, then
    # the others by the word's distance fused with the summed distance to all of them
    by_stem = {Path(r["path"]).stem: r["id"] for r in lib.store.images()}
    examples = [by_stem[s] for s in ("astronaut", "chelsea-cat", "coins")]
    lib.store.add_tags(examples, ["grandma"])
    try:
        hits = lib.find_tag(["grandma"], k=len(by_stem))
        order = [Path(h.path).stem for h in hits]
        assert sorted(order[:3]) == ["astronaut", "chelsea-cat", "coins"] and all(h.exact_code for h in hits[:3])
        assert order == reference(lib, "grandma")
    finally:
        lib.store.remove_tags(examples, ["grandma"])


def test_many_tagged_photos_are_sampled_evenly_as_seeds():
    rows = np.arange(500, 1500, 2)  # a person gave the word to 500 photos
    seeds = fusion.examples(rows)
    assert len(seeds) == fusion.MAX_EXAMPLES == len(set(seeds.tolist()))
    assert seeds[0] == rows[0] and seeds[-1] == rows[-1] and set(seeds.tolist()) <= set(rows.tolist())
    assert fusion.examples(rows[:5]).tolist() == rows[:5].tolist()  # few: all of them
