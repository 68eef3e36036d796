"""The shipped tag model's training (hashcore/tags/transfer.py, what `bench.eval_tags_real ship`
runs), on a small made-up world: eight "classes", photos whose backbone is sure of one of them, and
one text naming each class. A text's Hamming neighbours must be the photos of its class."""

from __future__ import annotations

import numpy as np
import pytest

from hashcore.models.methods.sparsehash import ista_numpy
from hashcore.tags.transfer import (
    N_CLASSES,
    TransferData,
    TransferParams,
    tower_input,
    train_transfer,
)

CLASSES = 8


def small_world(seed: int = 0) -> tuple[TransferData, np.ndarray]:
    rng = np.random.default_rng(seed)
    class_emb = rng.normal(size=(N_CLASSES, 384)).astype(np.float32)
    class_emb /= np.linalg.norm(class_emb, axis=1, keepdims=True)
    labels = np.repeat(np.arange(CLASSES), 20)
    logits = rng.normal(0, 1, (len(labels), N_CLASSES)).astype(np.float32)
    logits[np.arange(len(labels)), labels] += 9  # the backbone is sure of the photo's class
    text_emb = class_emb[:CLASSES] + rng.normal(0, 0.05, (CLASSES, 384)).astype(np.float32)
    text_classes = np.zeros((CLASSES, N_CLASSES), np.float32)
    text_classes[np.arange(CLASSES), np.arange(CLASSES)] = 1
    return TransferData(logits, text_emb, text_classes, class_emb), labels


def precision_at(state: dict[str, np.ndarray], data: TransferData, labels: np.ndarray, k: int = 10) -> float:
    photos = ista_numpy(tower_input(data.logits, data.class_emb), state, "img_") > 0.5
    z = (data.text_emb - state["txt_mean"]) / state["txt_std"]
    texts = ista_numpy(z.astype(np.float32), state, "txt_") > 0.5
    ham = (texts[:, None, :] != photos[None, :, :]).sum(-1)
    hits = [np.mean(labels[np.argsort(ham[t], kind="stable")[:k]] == t) for t in range(CLASSES)]
    return float(np.mean(hits))


def test_a_text_finds_the_photos_of_its_class():
    data, labels = small_world()
    before = precision_at(train_transfer(data, TransferParams(bits=32, steps=1, batch=64, text_batch=8)),
                          data, labels)
    state = train_transfer(data, TransferParams(bits=32, steps=150, batch=64, text_batch=8))
    after = precision_at(state, data, labels)
    assert after >= 0.8, (before, after)  # one class in eight: chance is 0.125
    assert after > before + 0.3


@pytest.mark.parametrize("steps", [2, 10, 19])
def test_a_short_training_run_completes(steps):
    # ten steps once made torch's one-cycle schedule divide by zero (one step of warm-up)
    data, _ = small_world()
    state = train_transfer(data, TransferParams(bits=16, steps=steps, batch=32, text_batch=8))
    assert state["img_W"].shape[1] == 16 and np.isfinite(state["txt_W"]).all()
