"""Build imagenet_vocab.json: the 1000 ImageNet-1k classes with their WordNet lemmas (synonyms),
plus a small hand-made list of everyday group words ("dog", "bird", "car", ...) naming sets of
classes, because a person types "dog", not "golden retriever".

Source of the lemmas: timm's `timm/data/_info/imagenet_synset_to_lemma.txt` and
`imagenet_synsets.txt` (timm 1.0.31 wheel, Apache-2.0; the lemmas come from WordNet 3.0, whose
licence allows redistribution). Run once by hand:

    python resources/tags/build_vocab.py LEMMA_FILE SYNSETS_FILE
    python resources/tags/build_vocab.py --hierarchy /usr/share/wordnet   # Debian wordnet-base
    python resources/tags/build_vocab.py --nouns /usr/share/wordnet
    python resources/tags/build_vocab.py --kinds /usr/share/wordnet
    python resources/tags/build_vocab.py --groups    # the group words again, same classes

The second writes imagenet_hierarchy.json: every WordNet 3.0 noun synset above the 1000 classes
(hypernyms and instance hypernyms, up to "entity") with its lemmas and parents, and which of
them are everyday words a person would type or accept as a tag ("dog", "bird", "flower", not
"canine", "placental" or "artifact"). Nothing reads WordNet at run time; the JSON is derived
data (WordNet's licence allows redistribution).

The third writes nouns.json: WordNet 3.0's one-word noun lemmas and its irregular plurals
(noun.exc), so that a tag search for "dogs" or "leaves" finds the photos tagged "dog" and "leaf"
(hashcore/tags/plural.py).

The fourth writes kinds.json: the words whose first WordNet sense is a kind of one of the 1000
classes without being a class itself ("cathedral" -> church, "gosling" -> goose, "canyon" -> valley),
with those classes, so that a tag search for such a word also looks where its class's photos are
(hashcore/tags/kinds.py).

The class order is the sorted synset order, the same as the backbone's 1000 outputs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# group word -> class index ranges (inclusive) in the standard ImageNet-1k order
RANGES: dict[str, list[tuple[int, int]]] = {
    "animal": [(0, 397)],
    "fish": [(0, 6), (389, 397)],
    "bird": [(7, 24), (80, 100), (127, 146)],
    "frog": [(30, 32)],
    "turtle": [(33, 37)],
    "lizard": [(38, 48)],
    "reptile": [(33, 68)],
    "snake": [(52, 68)],
    "spider": [(72, 77)],
    "crab": [(118, 121), (125, 125)],
    "whale": [(147, 148)],
    "dog": [(151, 268)],
    "wolf": [(269, 272)],
    "fox": [(277, 280)],
    "cat": [(281, 285)],
    "big cat": [(286, 293)],
    "bear": [(294, 297)],
    "insect": [(300, 326)],
    "butterfly": [(321, 326)],
    "rabbit": [(330, 332)],
    "rodent": [(333, 338)],
    "cattle": [(345, 347)],
    "monkey": [(370, 382)],  # not the apes: a gibbon or a gorilla is no monkey
    "ape": [(365, 369)],
    "elephant": [(101, 101), (385, 386)],
    "fruit": [(948, 957)],
    "vegetable": [(936, 945)],
    "food": [(924, 957), (959, 965)],  # not hay
    "mushroom": [(947, 947), (991, 997)],
    "landscape": [(970, 970), (972, 972), (974, 980)],  # not a bubble, nor a coral reef under water
    "mountain": [(970, 970), (972, 972), (979, 980)],
    "beach": [(977, 978)],
    "sea": [(973, 973), (976, 978)],
    "flower": [(985, 986)],
    "person": [(981, 983)],
}
# group word -> first lemma of each member class (checked: every name must exist)
NAMES: dict[str, list[str]] = {
    "car": ["sports car", "convertible", "cab", "jeep", "limousine", "minivan", "Model T", "racer",
            "beach wagon", "ambulance", "police van", "go-kart"],
    "truck": ["fire engine", "garbage truck", "pickup", "tow truck", "trailer truck", "moving van",
              "tractor"],
    "bus": ["school bus", "trolleybus", "minibus"],
    "bicycle": ["mountain bike", "bicycle-built-for-two", "tricycle", "unicycle"],
    "motorcycle": ["moped", "motor scooter"],
    "boat": ["canoe", "speedboat", "lifeboat", "fireboat", "gondola", "yawl", "catamaran", "trimaran",
             "schooner", "container ship", "liner", "aircraft carrier", "pirate", "wreck", "submarine",
             "paddlewheel"],
    "airplane": ["airliner", "warplane", "airship", "wing"],
    "train": ["bullet train", "electric locomotive", "steam locomotive", "freight car", "passenger car",
              "streetcar"],
    "shoe": ["running shoe", "sandal", "Loafer", "clog", "cowboy boot"],
    "clothing": ["jersey", "sweatshirt", "cardigan", "trench coat", "fur coat", "lab coat", "jean",
                 "miniskirt", "gown", "overskirt", "hoopskirt", "kimono", "abaya", "suit", "poncho",
                 "swimming trunks", "bikini", "pajama", "sarong", "cloak", "academic gown",
                 "military uniform", "apron", "stole", "sock"],
    "bag": ["purse", "backpack", "mailbag", "plastic bag", "wallet"],
    "hat": ["cowboy hat", "sombrero", "bonnet", "shower cap", "mortarboard"],
    "building": ["church", "mosque", "palace", "castle", "monastery", "library", "cinema", "barn",
                 "boathouse", "greenhouse", "bakery", "planetarium", "prison", "restaurant",
                 "grocery store", "tobacco shop", "toyshop", "shoe shop", "bookshop", "butcher shop",
                 "barbershop", "dome", "stupa"],  # an obelisk or a triumphal arch is a monument
    "furniture": ["folding chair", "rocking chair", "barber chair", "throne", "studio couch",
                  "dining table", "desk", "bookcase", "wardrobe", "chiffonier", "china cabinet",
                  "four-poster", "cradle", "crib", "park bench", "entertainment center"],
    "computer": ["laptop", "notebook", "desktop computer", "monitor", "computer keyboard", "mouse",
                 "hand-held computer"],
    "phone": ["cellular telephone", "dial telephone", "pay-phone"],
    "ball": ["basketball", "soccer ball", "tennis ball", "golf ball", "ping-pong ball", "volleyball",
             "rugby ball", "croquet ball", "baseball"],
    "rocket": ["missile", "projectile", "space shuttle"],
    "musical instrument": ["acoustic guitar", "electric guitar", "banjo", "violin", "cello", "grand piano",
                           "upright", "drum", "flute", "sax", "trombone", "cornet", "French horn",
                           "harmonica", "accordion", "harp", "oboe", "bassoon", "marimba", "gong"],
    "drink": ["red wine", "espresso", "eggnog", "beer bottle", "wine bottle", "pop bottle", "cup",
              "coffee mug"],
}


# WordNet words too abstract, too technical or too ambiguous to be a photo's tag; everyday is the
# rest of the ancestors whose first lemma is one plain lower-case word of the text model's own
# vocabulary (its tokenizer's whole words, `everyday_words`), a proxy for common usage.
NOT_EVERYDAY = set("""
entity object whole artifact organism device container covering commodity structure matter equipment
implement instrument substance solid produce craft mechanism restraint establishment obstruction
abstraction piece part housing relation agent system support ware article course ingredient weight
framework control communication attachment connection point location area surface shape attribute
medium product creation work material tissue feed signal sign design display accessory apparatus kit
rig top peripheral brass blind racer pointer upright measure turner runner post bar rail monitor seal
dressing spring litter circle disk plate pin board landing case press magazine platform gear game
punch staff lock shield sheet cap shade key lever web fare dip light fluid liquid sphere barrier
institution publication associate peer participant contestant diver explorer player kernel grain
vessel stick fabric cutter filter timer screen tank reservoir drug makeup cosmetic opener trap
decoration column wrapping sheath brace emblem canopy basin wheel agent roof relation restraint
mollusk gastropod primate placental vertebrate chordate carnivore canine feline ungulate ligament
excavation disguise ride brake clip rod rack powder can plant pool pump package workplace residence
shelter mat lens linen bin fan ridge dwelling
""".split())


def read_wordnet(folder: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """WordNet 3.0 noun synsets from data.noun: (wnid -> lemmas, wnid -> hypernym wnids)."""
    lemmas: dict[str, list[str]] = {}
    parents: dict[str, list[str]] = {}
    for line in open(folder / "data.noun", encoding="latin-1"):
        if line.startswith(" "):
            continue  # the licence header
        f = line.split(" | ")[0].split()
        n = int(f[3], 16)
        i = 4 + 2 * n
        ptrs = [f[j:j + 4] for j in range(i + 1, i + 1 + 4 * int(f[i]), 4)]
        wnid = "n" + f[0]
        lemmas[wnid] = [f[4 + 2 * k].replace("_", " ") for k in range(n)]
        parents[wnid] = ["n" + p[1] for p in ptrs if p[0] in ("@", "@i") and p[2] == "n"]
    return lemmas, parents


def ancestors(wnid: str, parents: dict[str, list[str]]) -> list[str]:
    out: list[str] = []
    todo = list(parents[wnid])
    while todo:
        a = todo.pop(0)
        if a not in out:
            out.append(a)
            todo += parents[a]
    return out


def build_hierarchy(folder: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from hashcore.models.textenc import everyday_words

    common = set(everyday_words())
    vocab = json.loads(Path(__file__).with_name("imagenet_vocab.json").read_text(encoding="utf-8"))
    lemmas, parents = read_wordnet(folder)
    keep: dict[str, None] = {}
    for c in vocab["classes"]:
        keep[c["wnid"]] = None
        keep.update(dict.fromkeys(ancestors(c["wnid"], parents)))
    classes = {c["wnid"] for c in vocab["classes"]}
    synsets = {w: {"lemmas": lemmas[w], "parents": parents[w]} for w in keep}
    everyday = sorted(w for w in keep if w not in classes and lemmas[w][0] in common
                      and lemmas[w][0] not in NOT_EVERYDAY)
    out = Path(__file__).with_name("imagenet_hierarchy.json")
    out.write_text(json.dumps({"source": "WordNet 3.0 noun hypernyms of the ImageNet-1k synsets (Debian "
                               "wordnet-base); see build_vocab.py", "synsets": synsets, "everyday": everyday},
                              indent=0, ensure_ascii=False) + "\n")


def build_nouns(folder: Path) -> None:
    import re

    lemmas = set()
    for line in open(folder / "index.noun", encoding="latin-1"):
        word = line.split(" ", 1)[0]
        if not line.startswith(" ") and re.fullmatch(r"[a-z][a-z'-]*", word):
            lemmas.add(word)
    plurals: dict[str, str] = {}
    for line in open(folder / "noun.exc", encoding="latin-1"):
        f = line.split()
        if len(f) >= 2 and re.fullmatch(r"[a-z][a-z'-]*", f[0]):
            plurals.setdefault(f[0], f[1])
    licence = " ".join(line.split(None, 1)[1].strip() if len(line.split(None, 1)) > 1 else ""
                       for line in open(folder / "data.noun", encoding="latin-1") if line.startswith("  "))
    out = Path(__file__).with_name("nouns.json")
    out.write_text(json.dumps({"source": "WordNet 3.0 index.noun (one-word lemmas) and noun.exc (Debian "
                               "wordnet-base); see build_vocab.py", "licence": " ".join(licence.split()),
                               "lemmas": sorted(lemmas),
                               "plurals": dict(sorted(plurals.items()))}, separators=(",", ":")) + "\n")


def build_kinds(folder: Path) -> None:
    vocab = json.loads(Path(__file__).with_name("imagenet_vocab.json").read_text(encoding="utf-8"))
    classes = {c["wnid"]: n for n, c in enumerate(vocab["classes"])}
    lemmas, parents = read_wordnet(folder)
    hierarchy = json.loads(Path(__file__).with_name("imagenet_hierarchy.json").read_text(encoding="utf-8"))
    known = {w.lower() for syn in hierarchy["synsets"].values() for w in syn["lemmas"]}
    kinds: dict[str, list[int]] = {}
    for line in open(folder / "index.noun", encoding="latin-1"):
        if line.startswith(" "):
            continue
        f = line.split()
        word = f[0].replace("_", " ")
        first = "n" + f[6 + int(f[3])]  # the word's first (most frequent) sense
        if word in known or word != word.lower() or first in classes:
            continue
        up = [c for c in [first, *ancestors(first, parents)] if c in classes]
        if up:
            nearest = [c for c in up if not any(c in ancestors(o, parents) for o in up if o != c)]
            kinds[word] = sorted(classes[c] for c in nearest)
    out = Path(__file__).with_name("kinds.json")
    out.write_text(json.dumps({"source": "WordNet 3.0 (Debian wordnet-base): words whose first noun sense lies "
                               "below an ImageNet-1k class, with the nearest such classes (backbone order); see "
                               "build_vocab.py", "kinds": dict(sorted(kinds.items()))}, separators=(",", ":")) + "\n")


def main(lemma_file: str, synsets_file: str) -> None:
    lemmas = dict(line.rstrip("\n").split("\t", 1) for line in open(lemma_file, encoding="utf-8"))
    wnids = [w.strip() for w in open(synsets_file, encoding="utf-8") if w.strip()]
    assert len(wnids) == 1000
    write_vocab([{"wnid": w, "lemmas": [s.strip() for s in lemmas[w].split(",") if s.strip()]} for w in wnids])


def write_vocab(classes: list[dict]) -> None:  # type: ignore[type-arg]
    """imagenet_vocab.json from the 1000 classes and the group words of RANGES and NAMES."""
    first: dict[str, int] = {}
    for i, c in enumerate(classes):
        first.setdefault(c["lemmas"][0], i)
    groups: dict[str, list[int]] = {}
    for word, ranges in RANGES.items():
        groups[word] = sorted({i for a, b in ranges for i in range(a, b + 1)})
    for word, names in NAMES.items():
        missing = [n for n in names if n not in first]
        if missing:
            raise SystemExit(f"{word}: unknown class names {missing}")
        groups[word] = sorted(first[n] for n in names)
    out = Path(__file__).with_name("imagenet_vocab.json")
    out.write_text(json.dumps({"source": "WordNet 3.0 lemmas of the ImageNet-1k synsets (via timm 1.0.31) "
                               "and hand-made group words; see build_vocab.py",
                               "classes": classes, "groups": groups}, indent=0, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "--hierarchy":
        build_hierarchy(Path(sys.argv[2]))
    elif sys.argv[1] == "--nouns":
        build_nouns(Path(sys.argv[2]))
    elif sys.argv[1] == "--kinds":
        build_kinds(Path(sys.argv[2]))
    elif sys.argv[1] == "--groups":  # the classes as they are in imagenet_vocab.json
        write_vocab(json.loads(Path(__file__).with_name("imagenet_vocab.json").read_text(encoding="utf-8"))["classes"])
    else:
        main(sys.argv[1], sys.argv[2])
