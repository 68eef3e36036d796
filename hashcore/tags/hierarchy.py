"""The 1000 ImageNet classes inside WordNet's noun hierarchy ("beagle" -> "dog" -> "animal").

Read from resources/tags/imagenet_hierarchy.json (built once from WordNet 3.0 by
resources/tags/build_vocab.py), so nothing needs WordNet at run time. Two uses: the words of a
tag may name a whole branch of classes (the text side of the tag model), and automatic tags use
the everyday words of a branch ("dog", "bird", "flower") before a class's fine label.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from hashcore.config import RESOURCES

HIERARCHY_PATH = RESOURCES / "tags" / "imagenet_hierarchy.json"
VOCAB_PATH = RESOURCES / "tags" / "imagenet_vocab.json"


@dataclass(frozen=True)
class Hierarchy:
    """WordNet synsets above the classes: lemmas, parents, which ones are everyday words."""

    class_wnids: list[str]  # the backbone's output order
    lemmas: dict[str, list[str]]
    parents: dict[str, list[str]]
    everyday: frozenset[str]
    _members: dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    def ancestors(self, wnid: str) -> list[str]:
        """Every synset above `wnid`, nearest first (breadth first, each once)."""
        out: list[str] = []
        todo = list(self.parents.get(wnid, []))
        while todo:
            a = todo.pop(0)
            if a not in out:
                out.append(a)
                todo += self.parents.get(a, [])
        return out

    def members(self, wnid: str) -> np.ndarray:
        """Indices of the classes at or below a synset."""
        if not self._members:
            below: dict[str, list[int]] = {}
            for i, w in enumerate(self.class_wnids):
                for a in [w, *self.ancestors(w)]:
                    below.setdefault(a, []).append(i)
            self._members.update({a: np.asarray(ids, np.int64) for a, ids in below.items()})
        return self._members.get(wnid, np.zeros(0, np.int64))

    def synsets_of(self, word: str) -> list[str]:
        """The synsets of the hierarchy one of whose lemmas is `word` (case-insensitive)."""
        w = word.strip().lower()
        return [s for s, ls in self.lemmas.items() if w in (x.lower() for x in ls)]

    def broader(self, word: str) -> list[str]:
        """Words above a word, nearest first ("beagle" -> "hound", "hunting dog", "dog", ...)."""
        out: list[str] = []
        for s in self.synsets_of(word):
            for a in self.ancestors(s):
                lemma = self.lemmas[a][0].lower()
                if lemma not in out:
                    out.append(lemma)
        return out

    def word_classes(self, max_classes: int = 500) -> dict[str, np.ndarray]:
        """Every lemma of the hierarchy (lower case) -> the classes it names: the union of the
        classes below each synset that carries it. Lemmas that name more than `max_classes`
        classes ("entity", "object") say nothing about a photo and are left out."""
        named: dict[str, set[int]] = {}
        for s, ls in self.lemmas.items():
            ids = self.members(s)
            if len(ids) > max_classes:
                continue
            for lemma in ls[:4]:
                named.setdefault(lemma.lower(), set()).update(ids.tolist())
        return {w: np.asarray(sorted(ids), np.int64) for w, ids in named.items()}

    def everyday_words(self) -> dict[str, np.ndarray]:
        """Everyday words (first lemma of an everyday synset) -> the classes below them."""
        out: dict[str, set[int]] = {}
        for s in self.everyday:
            out.setdefault(self.lemmas[s][0].lower(), set()).update(self.members(s).tolist())
        return {w: np.asarray(sorted(ids), np.int64) for w, ids in out.items()}


@lru_cache(maxsize=2)
def load_hierarchy(path: Path = HIERARCHY_PATH, vocab_path: Path = VOCAB_PATH) -> Hierarchy:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    vocab = json.loads(Path(vocab_path).read_text(encoding="utf-8"))
    syn = data["synsets"]
    return Hierarchy([c["wnid"] for c in vocab["classes"]], {w: s["lemmas"] for w, s in syn.items()},
                     {w: s["parents"] for w, s in syn.items()}, frozenset(data["everyday"]))
