"""Tag search across modalities on real photos, the real shipped model and a real SQLite library."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hashcore.config import Config
from hashcore.errors import HashLensError, NotFoundError
from hashcore.library import Library
from hashcore.models.textenc import MAX_TAG_CHARS, normalise_tag
from hashcore.tags.auto import AutoTagger
from hashcore.tags.keywords import file_keywords, iptc_keywords
from tests.photos import SAMPLES, samples_library


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory):
    yield from samples_library(tmp_path_factory)


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
        other.store.add_tags(ids[:2], ["heirloom"])
        other.store.add_tags(ids[2:], ["heirlooms"])  # one tag in two spellings: three photos of it
        shipped = other.tag_model()
        _, feats = other.store.features()
        info = other.learn_tags(min_photos=3, steps=150)
        assert info["tags"] == ["heirloom"] and (home / "models" / "multimodal-user.npz").is_file()
        # the person's tag moved the words, not the photos: every photo keeps its code, so what
        # other words found before learning they still find
        assert np.array_equal(other.tag_model().encode(feats), shipped.encode(feats))
        assert Path(other.find_tag(["cat"], k=1)[0].path).stem == "chelsea-cat"
        assert other.tag_model().params["user_tags"] == ["heirloom"]
        assert set(h.id for h in other.find_tag(["heirloom"], k=3)) == set(ids)
        # a word nobody typed, near the new tag in meaning, finds the same photos (only thanks to
        # the everyday words learned with the tag). "heritage" no longer does: since the tag
        # model knows WordNet's words above the classes (issue 15), its nearest word is
        # "monument" (MiniLM cosine 0.59), not "heirloom" (0.34)
        for word in ("inheritance",):
            assert set(h.id for h in other.find_tag([word], k=3)) == set(ids), word
        assert list(other.config.shared_cache_dir.glob("word-vectors-*.npy"))  # made once per user
        with pytest.raises(HashLensError, match="3 or more"):
            other.store.remove_tags(ids, ["heirloom", "heirlooms"])
            other.learn_tags(min_photos=3, steps=5)
    finally:
        other.close()


# --- IPTC-IIM keywords in a JPEG's Photoshop APP13 segment -----------------------------------------


def iim(record: int, number: int, value: bytes) -> bytes:
    """One IPTC-IIM dataset: tag marker 0x1C, record, dataset number, 2-byte length, value."""
    return b"\x1c" + bytes([record, number]) + len(value).to_bytes(2, "big") + value


def app13(payload: bytes) -> bytes:
    """A JPEG APP13 segment (marker and length) around `payload`."""
    return b"\xff\xed" + (len(payload) + 2).to_bytes(2, "big") + payload


def photoshop_iptc(iptc: bytes, resource_size: int | None = None) -> bytes:
    """A "Photoshop 3.0" APP13 payload with one 8BIM resource 0x0404 (IPTC-NAA) holding `iptc`."""
    size = len(iptc) if resource_size is None else resource_size
    resource = b"8BIM" + (0x0404).to_bytes(2, "big") + b"\x00\x00" + size.to_bytes(4, "big") + iptc
    resource += b"\x00" * (len(resource) % 2)  # resource data is padded to an even length
    return b"Photoshop 3.0\x00" + resource


def jpeg_with_segment(path: Path, segment: bytes, side: int = 320) -> Path:
    """A real photo saved by Pillow, with `segment` spliced in right after SOI."""
    img = Image.open(SAMPLES / "coffee.jpg")
    img.thumbnail((side, side))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    data = buf.getvalue()
    assert data[:2] == b"\xff\xd8"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[:2] + segment + data[2:])
    return path


UTF8_BLOCK = (iim(1, 90, b"\x1b%G") + iim(2, 0, b"\x00\x04") + iim(2, 25, b"Harbour")
              + iim(2, 25, "Zürich".encode()) + iim(2, 25, b"") + iim(2, 25, b"coffee")
              + iim(2, 120, b"A caption, not a keyword") + b"\xff trailing junk")


def test_iptc_keywords_in_an_app13_segment_are_read_exactly(tmp_path):
    path = jpeg_with_segment(tmp_path / "iptc.jpg", app13(photoshop_iptc(UTF8_BLOCK)))
    before = path.read_bytes()
    with Image.open(path) as img:
        assert img.info["photoshop"][0x0404].startswith(iim(1, 90, b"\x1b%G"))  # Pillow sees our segment
        assert iptc_keywords(img) == ["Harbour", "Zürich", "coffee"]  # the empty one is no keyword
    assert file_keywords(path) == ["harbour", "zürich", "coffee"]
    assert path.read_bytes() == before
    # without 1:90 the text is not UTF-8 but Latin-1, as older tools wrote it
    latin = jpeg_with_segment(tmp_path / "latin.jpg", app13(photoshop_iptc(iim(2, 25, "Café".encode("latin-1")))))
    assert file_keywords(latin) == ["café"]


def test_iptc_keywords_are_imported_with_their_source(tmp_path):
    # the automatic tagger calls the coffee photo "coffee" (an everyday word above "espresso")
    path = jpeg_with_segment(tmp_path / "photos" / "iptc.jpg", app13(photoshop_iptc(UTF8_BLOCK)), side=640)
    with Library(Config(home=tmp_path / "home"), db_path=tmp_path / "home" / "library.db") as library:
        library.index([path.parent])
        image_id = library.store.images()[0]["id"]
        library.store.add_tags([image_id], ["harbour"])  # a person's tag of the same text stays theirs
        assert library.auto_tag() > 0
        assert "coffee" in [t["tag"] for t in library.store.tags_of(image_id) if t["source"] == "auto"]
        assert library.import_keywords() == 2  # zürich added, the automatic coffee becomes the file's
        tags = {t["tag"]: (t["source"], t["confidence"]) for t in library.store.tags_of(image_id)}
        assert tags["harbour"] == ("user", None)
        assert tags["zürich"] == ("file", None)
        assert tags["coffee"] == ("file", None)
        assert library.import_keywords() == 0  # importing again changes nothing


@pytest.mark.parametrize("payload", [
    photoshop_iptc(b"\x00\xffnot IPTC at all" * 4),  # no 0x1C dataset marker
    photoshop_iptc(iim(1, 90, b"\x1b%G") + b"\x1c\x02\x19\x00\x40Zu"),  # keyword longer than the block
    photoshop_iptc(b"\x1c\x02\x19\x80\x08" + b"\xff" * 12),  # an 8-byte extended length: nonsense
    photoshop_iptc(iim(2, 25, b"lost"), resource_size=4000)[:-4],  # the segment ends inside the keyword
    b"Photoshop 3.0\x008BIM\x04",  # 8BIM header cut short
], ids=["garbage", "truncated-keyword", "extended-length", "short-resource", "short-8bim"])
def test_a_malformed_app13_gives_no_keywords_and_no_crash(tmp_path, payload):
    from hashcore.ingest.decode import decode_file

    segment = app13(payload)
    path = jpeg_with_segment(tmp_path / "photos" / "bad.jpg", segment)
    assert decode_file(path).width == 320  # the photo itself still reads
    with Image.open(path) as img:
        assert iptc_keywords(img) == []
    assert file_keywords(path) == []
    with Library(Config(home=tmp_path / "home"), db_path=tmp_path / "home" / "library.db") as library:
        assert library.index([path.parent]).indexed == 1
        assert library.import_keywords() == 0
        assert library.store.tags_of(library.store.images()[0]["id"]) == []


# --- XMP sidecar files beside the photo ------------------------------------------------------------


def sidecar_xml(subjects=(), hierarchical=(), tagslist=()) -> bytes:
    """An XMP sidecar laid out the way darktable, digiKam (Exiv2) and Lightroom write them."""
    def bag(tag: str, items) -> str:
        lis = "".join(f"<rdf:li>{i}</rdf:li>" for i in items)
        return f"<{tag}><rdf:Bag>{lis}</rdf:Bag></{tag}>" if items else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"'
            ' xmlns:lr="http://ns.adobe.com/lightroom/1.0/" xmlns:digiKam="http://www.digikam.org/ns/1.0/"'
            ' xmlns:darktable="http://darktable.sf.net/" darktable:xmp_version="5">'
            + bag("dc:subject", subjects) + bag("lr:hierarchicalSubject", hierarchical)
            + bag("digiKam:TagsList", tagslist)
            + '<darktable:history><rdf:Seq><rdf:li darktable:operation="exposure">not a keyword</rdf:li>'
            '</rdf:Seq></darktable:history></rdf:Description></rdf:RDF></x:xmpmeta>\n').encode()


def photo_with_xp_keywords(path: Path, words: str) -> Path:
    """A real photo carrying Windows XP keywords of its own."""
    exif = Image.Exif()
    exif[0x9C9E] = (words + "\x00").encode("utf-16-le")
    path.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(SAMPLES / "coffee.jpg") as img:
        img.save(path, "JPEG", exif=exif)
    return path


def test_xmp_sidecars_of_each_naming_add_their_keywords_read_only(tmp_path):
    photos = tmp_path / "photos"
    # darktable / digiKam: photo.jpg.xmp, with hierarchical keywords and darktable's own tree
    dt = photo_with_xp_keywords(photos / "dt.jpg", "kitchen")
    (photos / "dt.jpg.xmp").write_bytes(sidecar_xml(
        ["Paris"], ["Places|France|Paris", "darktable|format|jpg", "Trips|Summer 2023"]))
    # Lightroom: photo.xmp
    lr = photo_with_xp_keywords(photos / "lr.jpg", "kitchen")
    (photos / "lr.xmp").write_bytes(sidecar_xml(["Anna", "Birthday"], ["People|Family|Anna"]))
    # digiKam: TagsList with "/" levels and its internal tags, in both namings at once
    dk = photo_with_xp_keywords(photos / "dk.jpg", "kitchen")
    (photos / "dk.jpg.xmp").write_bytes(sidecar_xml(
        [], [], ["Places/Zürich", "_Digikam_Internal_Tags_/Color Label Red"]))
    (photos / "dk.xmp").write_bytes(sidecar_xml(["Lake"]))
    before = {p: p.read_bytes() for p in photos.iterdir()}
    assert file_keywords(dt) == ["kitchen", "paris", "summer 2023"]
    assert file_keywords(lr) == ["kitchen", "anna", "birthday"]
    assert file_keywords(dk) == ["kitchen", "zürich", "lake"]
    assert {p: p.read_bytes() for p in photos.iterdir()} == before


@pytest.mark.parametrize("content", [
    sidecar_xml(["Paris"])[:-40],  # cut short
    b"\x00\xff\xfe garbage, not XML" * 10,
    sidecar_xml(["Paris"]).replace(b"</rdf:li>", b"</rdf:Bag>"),  # tags do not match
    b"",
    None,  # a folder where the sidecar would be
], ids=["truncated", "garbage", "mismatched", "empty", "folder"])
def test_a_malformed_sidecar_adds_nothing_and_breaks_nothing(tmp_path, content):
    path = photo_with_xp_keywords(tmp_path / "photos" / "p.jpg", "kitchen")
    side = path.with_name("p.jpg.xmp")
    side.mkdir() if content is None else side.write_bytes(content)
    assert file_keywords(path) == ["kitchen"]  # the photo's own keywords still count
    with Library(Config(home=tmp_path / "home"), db_path=tmp_path / "home" / "library.db") as library:
        assert library.index([path.parent]).indexed == 1
        assert library.import_keywords() == 1
        assert [t["tag"] for t in library.store.tags_of(library.store.images()[0]["id"])] == ["kitchen"]


def test_cli_auto_tag_keywords_imports_sidecar_keywords_and_a_later_sidecar_edit(tmp_path):
    import json

    from tests.e2e.cli import Result
    from tests.e2e.cli import hashcore as run_cli

    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy2(SAMPLES / "coffee.jpg", photos / "coffee.jpg")
    shutil.copy2(SAMPLES / "chelsea-cat.jpg", photos / "chelsea-cat.jpg")
    (photos / "coffee.jpg.xmp").write_bytes(sidecar_xml(["Paris"], ["Places|France|Paris"]))
    (photos / "chelsea-cat.xmp").write_bytes(sidecar_xml(["Anna"], ["People|Family|Anna"]))
    db = tmp_path / "library.db"

    def hashcore(*args: str) -> Result:
        return run_cli(*args, db=db)

    hashcore("index", str(photos))
    assert json.loads(hashcore("auto-tag", "--keywords", "--json").stdout)["file"] == 2
    with Library(Config(home=tmp_path / "h"), db_path=db) as library:
        ids = {Path(r["path"]).stem: r["id"] for r in library.store.images()}

    def file_tags(stem: str) -> list[str]:
        tags = json.loads(hashcore("tag", "list", str(ids[stem]), "--json").stdout)[str(ids[stem])]
        return sorted(t["tag"] for t in tags if t["source"] == "file")

    assert file_tags("coffee") == ["paris"] and file_tags("chelsea-cat") == ["anna"]
    # only the sidecar changes (the photo does not): the next import reads it again
    (photos / "coffee.jpg.xmp").write_bytes(sidecar_xml(["Paris", "Morning"], ["Places|France|Paris"]))
    assert json.loads(hashcore("auto-tag", "--keywords", "--json").stdout)["file"] == 1
    assert file_tags("coffee") == ["morning", "paris"]
