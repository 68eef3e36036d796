"""Automatic tags (source "auto"): ImageNet probabilities -> words a person would write, never shown
as a person's.

Everyday words first: the WordNet words above the classes that people use ("dog", "bird",
"flower"; resources/tags/imagenet_hierarchy.json) and the vocabulary's group words ("car",
"landscape"), each with the probability mass of its classes: the hand-picked group words first
(a person writes "dog", not "hound"), each kind most specific first ("dog" before "animal").
Then a class's own label ("beagle"), only when the backbone is sure of it. Both thresholds are
calibrated on the training pool of the real-photo benchmark (bench/eval_tags_real.py `--pool
train`; held-out figures in docs/results_tags_real.md): per kind the lowest threshold at and above
which 85% of the shown tags are right there (a tag is right when it is one of the photo's words or
a word WordNet puts above them); fine labels reach 85% at no threshold, so theirs is the threshold
of highest precision there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hashcore.config import RESOURCES

# calibrated on the benchmark's training pool (`python -m bench.eval_tags_real --pool train`;
# held-out figures in docs/results_tags_real.md, "automatic tags")
MIN_WORD = 0.65  # an everyday word is shown when its classes hold this much probability
MIN_CLASS = 0.9  # a fine ImageNet label is shown when its class alone holds this much
MAX_WORDS = 3


@dataclass(frozen=True)
class AutoTagger:
    """ImageNet probabilities -> readable tags: everyday words, then class names."""

    class_names: list[str]
    groups: dict[str, np.ndarray]  # everyday word -> the classes it names
    basic: frozenset[str] = frozenset()  # the vocabulary's hand-picked group words: shown first

    @classmethod
    def load(cls, path: Path = RESOURCES / "tags" / "imagenet_vocab.json",
             hierarchy: Path | None = None) -> AutoTagger:
        from hashcore.tags.hierarchy import HIERARCHY_PATH, load_hierarchy

        data = json.loads(path.read_text(encoding="utf-8"))
        words: dict[str, set[int]] = {w: set(ids) for w, ids in data["groups"].items()}
        h_path = hierarchy or path.with_name(HIERARCHY_PATH.name)
        if h_path.is_file():
            for w, ids in load_hierarchy(h_path, path).everyday_words().items():
                words.setdefault(w, set()).update(ids.tolist())
        return cls([c["lemmas"][0].lower() for c in data["classes"]],
                   {w: np.asarray(sorted(ids), np.int64) for w, ids in sorted(words.items())},
                   frozenset(data["groups"]))

    def tags(self, probs: np.ndarray, min_class: float = MIN_CLASS, min_group: float = MIN_WORD,
             limit: int = 5, max_words: int = MAX_WORDS) -> list[tuple[str, float]]:
        """Tags with their confidence: everyday words (most specific first), then fine labels."""
        words = self.words(probs, min_group, max_words)
        return [*words, *self.fine_labels(probs, [w for w, _ in words], min_class)][:limit]

    def words(self, probs: np.ndarray, min_group: float = MIN_WORD,
              max_words: int = MAX_WORDS) -> list[tuple[str, float]]:
        """The everyday words whose classes hold at least `min_group` of the probability: the
        hand-picked group words first, each kind most specific first."""
        p = np.asarray(probs, np.float32)
        found = []
        for word, ids in self.groups.items():
            mass = float(p[ids].sum())
            if mass >= min_group:
                found.append((word not in self.basic, len(ids), -mass, word, min(mass, 1.0)))
        return [(w, m) for *_, w, m in sorted(found)[:max_words]]

    def fine_labels(self, probs: np.ndarray, words: list[str], min_class: float = MIN_CLASS) -> list[tuple[str, float]]:
        """Labels of the two likeliest classes that hold at least `min_class`, only where they refine
        one of the everyday words shown (`words`): "german shepherd" under "dog". Alone, a fine label
        is often ImageNet's nearest class for a thing it has no class for ("solar dish" on solar
        panels, "pedestal" on a statue); on the benchmark's training pool this rule raised the
        precision of all shown tags from 0.900 to 0.922 under a person's review
        (docs/results_tags_real.md)."""
        p = np.asarray(probs, np.float32)
        out = []
        for c in np.argsort(-p)[:2]:
            name = self.class_names[c]
            if p[c] >= min_class and name not in words and any(
                    np.isin(c, self.groups[w]) for w in words if w in self.groups):
                out.append((name, float(p[c])))
        return out
