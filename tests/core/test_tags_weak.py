"""Issue 15, bad input: a tag query the models cannot place ("zzxq") still lists the nearest
photos, but is known to be weak; real words are not. Real shipped model, real MiniLM, real photos."""

from __future__ import annotations

import pytest

from hashcore.library import Library
from hashcore.tags.search import placement, weak_tags
from tests.photos import samples_library


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory):
    yield from samples_library(tmp_path_factory)


REAL = ["dog", "flower", "mountains", "waterfall", "sunset", "circuit board", "golden retriever", "birthday cake"]
MADE_UP = ["zzxq", "qwqwqw", "xkcdqz", "blorfle", "gnarzle", "asdfgh", "zxcvbn"]


def test_real_words_are_placed_and_made_up_strings_are_not(lib: Library) -> None:
    head = lib.tag_model()
    assert weak_tags(head, REAL) == [False] * len(REAL)
    assert weak_tags(head, MADE_UP) == [True] * len(MADE_UP)
    near = placement(head, ["dog", "zzxq"])
    assert near[0] > 0.99 > 0.6 > near[1]  # "dog" is a vocabulary text; "zzxq" is near none


def test_emoji_and_other_scripts_get_an_answer_not_an_error(lib: Library) -> None:
    head = lib.tag_model()
    odd = ["猫", "🐶", "собака", "犬", "dog 🐶", "zzxq dog"]
    answers = weak_tags(head, odd)
    assert all(isinstance(a, bool) for a in answers) and len(answers) == len(odd)
    assert answers[4:] == [False, True]  # an emoji beside "dog" is placed; a made-up word blurs "dog"


def test_a_weak_query_still_lists_the_nearest_photos(lib: Library) -> None:
    hits = lib.find_tag("zzxq", k=3)
    assert len(hits) == 3  # the nearest photos, not nothing
    assert lib.tag_query_is_weak("zzxq") and lib.tag_query_is_weak(["zzxq", "qwqwqw"])
    assert not lib.tag_query_is_weak("dog") and not lib.tag_query_is_weak("flower")
    assert not lib.tag_query_is_weak(["zzxq", "dog"])  # weak only when every word is
    assert not lib.tag_query_is_weak("   ")  # nothing to judge


def test_a_persons_own_made_up_tag_is_not_weak(lib: Library) -> None:
    cat = next(r["id"] for r in lib.store.images() if "chelsea-cat" in r["path"])
    lib.store.add_tags([cat], ["glorbix"])
    assert not lib.tag_query_is_weak("glorbix")
    hit = lib.find_tag("glorbix", k=1)[0]
    assert hit.id == cat and hit.exact_code
    assert lib.tag_query_is_weak("glorbax")  # another made-up word still is
