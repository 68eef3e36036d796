"""A word for a kind of one of ImageNet's classes also points where that class's photos are.

The tag model's text side learned the 1000 classes' words and the words above them ("dog",
"animal"), not the words below a class: "cathedral" and "basilica" are kinds of ImageNet's
"church", "gosling" of "goose", "canyon" of "valley". For such a word, when the model's own
vocabulary lacks it, the query's text vector is its MiniLM vector plus the mean MiniLM vector of
those classes' names (shipped in the model file), renormalised; the search stays in Hamming space.
Only a word's first (most frequent) WordNet sense counts, so "push" or "boards" stay as typed.
The word list is resources/tags/kinds.json (WordNet 3.0, built by resources/tags/build_vocab.py).
On the tag benchmark's training pool this changed two queries ("cathedral" into the top five);
held-out, "canyon" and "cathedral" (bench/eval_tags_real.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from hashcore.config import RESOURCES

if TYPE_CHECKING:
    from hashcore.tags.multimodal import MultimodalSparseHash

KINDS_PATH = RESOURCES / "tags" / "kinds.json"


@lru_cache(maxsize=1)
def _kinds() -> dict[str, list[int]]:
    return dict(json.loads(KINDS_PATH.read_text(encoding="utf-8"))["kinds"])


def classes_of(tag: str) -> list[int]:
    """The ImageNet classes (backbone order) a word's first WordNet sense is a kind of; [] if none."""
    return list(_kinds().get(tag, []))


def query_vectors(head: MultimodalSparseHash, tags: Sequence[str], vectors: np.ndarray) -> np.ndarray:
    """The text vectors the tag tower reads for these (normalised, singular) tags, given their
    MiniLM vectors: as they are, except a word the model's vocabulary lacks that is a kind of an
    ImageNet class, which also points at that class."""
    out = np.array(vectors, np.float32, copy=True)
    if "class_emb" not in head.state:
        return out  # a model file from before issue 15 has no class vectors
    vocab = head.vocab_words()
    for n, tag in enumerate(tags):
        cls = classes_of(tag) if tag not in vocab else []
        if cls and np.any(out[n]):
            anchor = head.state["class_emb"][cls].astype(np.float32).mean(0)
            v = out[n] / np.linalg.norm(out[n]) + anchor / max(float(np.linalg.norm(anchor)), 1e-9)
            out[n] = v / max(float(np.linalg.norm(v)), 1e-9)
    return out
