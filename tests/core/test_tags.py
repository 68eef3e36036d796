"""Tag search across modalities on real photos, the real shipped model and a real SQLite library."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hashcore.config import Config
from hashcore.errors import HashLensError, NotFoundError
from hashcore.library import Library
from hashcore.tags import AutoTagger, file_keywords
from hashcore.textenc import MAX_TAG_CHARS, normalise_tag
from tests.photos import SAMPLES


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("photos")
    for p in sorted(SAMPLES.glob("*.jpg")):
        shutil.copy2(p, root / p.name)
    home = tmp_path_factory.mktemp("home")
    library = Library(Config(home=home), db_path=home / "library.db")
    library.index([root])
    yield library
    library.close()


def names(hits) -> list[str]:
    return [Path(h.path).stem for h in hits]


def photo_id(lib: Library, stem: str) -> int:
    return next(r["id"] for r in lib.store.images() if Path(r["path"]).stem == stem)


@pytest.mark.parametrize(("query", "stem"), [("cat", "chelsea-cat"), ("kitten", "chelsea-cat"),
                                             ("coffee", "coffee"), ("espresso", "coffee"),
                                             ("rocket", "rocket-launch")])
def test_a_word_finds_the_untagged_photo_of_it(lib, query, stem):
    hits = lib.find_tag([query], k=3)
    assert stem in names(hits)[:2], (query, names(hits))
    assert all(h.distance >= 0 for h in hits)


def test_bad_input_gets_results_or_a_clear_nothing_found(lib):
    with pytest.raises(NotFoundError, match="empty"):
        lib.find_tag(["   "])
    for text in ("x" * 100_000, "🐈🐈", "猫", "кошка", "qwzxvtrplk", "\x00\x07cat"):
        hits = lib.find_tag([text], k=5)
        assert 0 < len(hits) <= 5


def test_several_tags_and_like_a_photo(lib):
    cat = photo_id(lib, "chelsea-cat")
    any_hits = lib.find_tag(["cat", "coffee"], k=3, mode="any")
    assert {"chelsea-cat", "coffee"} <= set(names(any_hits))
    all_hits = lib.find_tag(["cat", "coffee"], k=8, mode="all")
    assert len(all_hits) == 8 and all_hits[0].distance >= any_hits[0].distance
    like = lib.find_tag(["rocket"], k=3, like=cat)
    assert cat not in [h.id for h in like] and len(like) == 3
    with pytest.raises(HashLensError):
        lib.find_tag(["cat"], mode="most")


def test_a_persons_tag_comes_first_even_for_a_word_the_model_never_saw(lib):
    astronaut = photo_id(lib, "astronaut")
    lib.store.add_tags([astronaut], ["Grandma"])
    hits = lib.find_tag(["grandma"], k=3)
    assert hits[0].id == astronaut
    lib.store.remove_tags([astronaut], ["Grandma"])


def test_suggest_tags_names_what_is_in_the_photo(lib):
    cat = photo_id(lib, "chelsea-cat")
    words = [t for t, _ in lib.suggest_tags(cat, k=6)]
    assert any("cat" in w or "tabby" in w for w in words), words
    from_file = [t for t, _ in lib.suggest_tags(str(SAMPLES / "coffee.jpg"), k=6)]
    assert any(w in ("espresso", "coffee", "drink", "cup", "coffee mug") for w in from_file), from_file


def test_tag_operations_on_a_missing_photo_are_clear_errors(lib):
    with pytest.raises(NotFoundError, match="no photo with id 999999"):
        lib.store.add_tags([999_999], ["beach"])
    with pytest.raises(NotFoundError):
        lib.suggest_tags(999_999)
    with pytest.raises(NotFoundError):
        lib.find_tag(["beach"], like=999_999)


def test_automatic_tags_are_marked_as_automatic(lib):
    assert lib.auto_tag() > 0
    cat = photo_id(lib, "chelsea-cat")
    auto = [t for t in lib.store.tags_of(cat) if t["source"] == "auto"]
    assert "cat" in [t["tag"] for t in auto] and all(0 < t["confidence"] <= 1 for t in auto)
    assert lib.auto_tag() == 0  # photos that have automatic tags are not tagged twice


def test_group_words_sum_class_probabilities():
    tagger = AutoTagger.load()
    p = np.zeros(1000, np.float32)
    p[[207, 208, 209]] = 0.3  # three dog breeds, none confident alone
    words = dict(tagger.tags(p))
    assert "dog" in words and words["dog"] == pytest.approx(0.9, abs=1e-6)


def test_keywords_in_files_are_imported_read_only(tmp_path):
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag>'
           b'<rdf:li>Holiday 2024</rdf:li><rdf:li>Beach</rdf:li></rdf:Bag></dc:subject></rdf:Description>'
           b'</rdf:RDF></x:xmpmeta>')
    img = Image.open(SAMPLES / "coffee.jpg")
    exif = Image.Exif()
    exif[0x9C9E] = "kitchen;morning\x00".encode("utf-16-le")
    path = tmp_path / "tagged.jpg"
    img.save(path, "JPEG", xmp=xmp, exif=exif)
    before = path.read_bytes()
    assert file_keywords(path) == ["holiday 2024", "beach", "kitchen", "morning"]
    assert path.read_bytes() == before
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    assert file_keywords(tmp_path / "broken.jpg") == []


def test_tag_text_is_normalised():
    assert normalise_tag("  Ankle\tBOOT \n") == "ankle boot"
    assert normalise_tag("a\x00b") == "ab"
    assert len(normalise_tag("y" * 10_000)) == MAX_TAG_CHARS
    assert normalise_tag("🐈") == "🐈"


def test_learning_from_tags_makes_the_new_tag_findable(tmp_path, lib):
    home = tmp_path / "home2"
    other = Library(Config(home=home), db_path=lib.store.path)
    try:
        ids = [photo_id(other, s) for s in ("coins", "camera", "retina")]
        other.store.add_tags(ids, ["heirloom"])
        info = other.learn_tags(min_photos=3, steps=40)
        assert info["tags"] == ["heirloom"] and (home / "models" / "multimodal-user.npz").is_file()
        assert other.tag_model().params["user_tags"] == ["heirloom"]
        assert set(h.id for h in other.find_tag(["heirloom"], k=3)) == set(ids)
        with pytest.raises(HashLensError, match="3 or more"):
            other.store.remove_tags(ids, ["heirloom"])
            other.learn_tags(min_photos=3, steps=5)
    finally:
        other.close()
