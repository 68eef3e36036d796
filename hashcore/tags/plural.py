"""A plural tag word to the singular that tags use: a search for "dogs" finds what "dog" finds.

Tags are nouns in the singular (the automatic tagger's words, ImageNet's labels, most people's
tags), and the text model places "mountains" a little off "mountain" (held-out tag benchmark:
mAP 0.481 for the queries in the plural against 0.517 in the singular; bench/eval_tags_real.py).
WordNet's own rule (its "morphy"): a word that is itself a noun lemma stays ("glasses", "woods",
"people"); else its irregular plural ("leaves" -> "leaf", "mice" -> "mouse"); else the first
regular ending whose stem is a noun lemma ("berries" -> "berry", "boxes" -> "box"). Only the last
word of a tag changes ("sea lions" -> "sea lion"); anything WordNet does not know stays as typed.
The word lists are resources/tags/nouns.json (WordNet 3.0, built by resources/tags/build_vocab.py).
"""

from __future__ import annotations

import json
from functools import lru_cache

from hashcore.config import RESOURCES

NOUNS_PATH = RESOURCES / "tags" / "nouns.json"
ENDINGS = (("ies", "y"), ("ches", "ch"), ("shes", "sh"), ("ses", "s"), ("xes", "x"), ("zes", "z"),
           ("men", "man"), ("s", ""))


@lru_cache(maxsize=1)
def _nouns() -> tuple[frozenset[str], dict[str, str], dict[str, list[str]]]:
    data = json.loads(NOUNS_PATH.read_text(encoding="utf-8"))
    irregular: dict[str, str] = data["plurals"]
    back: dict[str, list[str]] = {}
    for many, one in irregular.items():
        back.setdefault(one, []).append(many)
    return frozenset(data["lemmas"]), irregular, back


def singular(tag: str) -> str:
    """The tag with its last word in the singular where WordNet knows it as a plural noun."""
    head, sep, last = tag.rpartition(" ")
    if len(last) < 3:
        return tag
    lemmas, irregular, _ = _nouns()
    if last in lemmas:
        return tag
    base = irregular.get(last)
    if base is None:
        base = next((last[:-len(end)] + to for end, to in ENDINGS
                     if last.endswith(end) and last[:-len(end)] + to in lemmas), None)
    return tag if base is None else head + sep + base


def plural(tag: str) -> str:
    """The regular English plural of a tag's last word ("fox" -> "foxes", "valley" -> "valleys",
    "berry" -> "berries", "woman" -> "women"); irregular plurals are `forms`' business."""
    head, sep, last = tag.rpartition(" ")
    if last.endswith(("s", "x", "z", "ch", "sh")):
        last += "es"
    elif last.endswith("y") and last[-2:-1] not in ("a", "e", "i", "o", "u"):
        last = last[:-1] + "ies"
    elif last.endswith("man"):
        last = last[:-3] + "men"
    else:
        last += "s"
    return head + sep + last


def forms(tag: str) -> list[str]:
    """Every spelling of a tag that reads as the same word: as typed, its singular, and the
    plurals whose singular that is ("teacup": "teacup", "teacups"; "mice": "mice", "mouse")."""
    one = singular(tag)
    head, sep, last = one.rpartition(" ")
    many = [plural(one), *(head + sep + m for m in _nouns()[2].get(last, []))]
    return list(dict.fromkeys([tag, one, *(w for w in many if singular(w) == one)]))
