"""Automatic tags (source "auto"): ImageNet probabilities -> readable words, never shown as a person's."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hashcore.config import RESOURCES


@dataclass(frozen=True)
class AutoTagger:
    """ImageNet probabilities -> readable tags: class names and group words ("dog", "car")."""

    class_names: list[str]
    groups: dict[str, np.ndarray]

    @classmethod
    def load(cls, path: Path = RESOURCES / "tags" / "imagenet_vocab.json") -> AutoTagger:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls([c["lemmas"][0].lower() for c in data["classes"]],
                   {w: np.asarray(ids, np.int64) for w, ids in data["groups"].items()})

    def tags(self, probs: np.ndarray, min_class: float = 0.2, min_group: float = 0.5,
             limit: int = 5) -> list[tuple[str, float]]:
        """Tags with their probability, best first."""
        p = np.asarray(probs, np.float32)
        out = {self.class_names[c]: float(p[c]) for c in np.argsort(-p)[:3] if p[c] >= min_class}
        for word, ids in self.groups.items():
            mass = float(p[ids].sum())
            if mass >= min_group and word not in out:
                out[word] = mass
        return sorted(out.items(), key=lambda kv: -kv[1])[:limit]


