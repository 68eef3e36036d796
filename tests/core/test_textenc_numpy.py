"""The text model in NumPy (hashcore/models/minilm_np.py) gives sentence-transformers' vectors for
the shipped all-MiniLM-L6-v2, so tag search finds the same photos without torch."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from hashcore.errors import ModelError
from hashcore.models.minilm_np import NumpyMiniLM
from hashcore.models.textenc import TextEncoder, model_dir

TEXTS = ["dog", "ankle boot", "a dog running on a sunny beach", "Blenheim spaniel", "日本の寺", "собака",
         "🐶", "🐶 dog 🏖️", "crème brûlée", "zzxq", "circuit board", "x",
         " ".join(["mountain lake at dawn"] * 80)]  # 320 words: truncated at 256 tokens by both


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    """sentence-transformers' own vectors (torch), the reference the shipped encoder replaces."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)
    return np.asarray(st.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True), np.float32)


@pytest.fixture(scope="module")
def minilm() -> NumpyMiniLM:
    return NumpyMiniLM(model_dir())


def test_numpy_vectors_equal_sentence_transformers(minilm, reference):
    ours = minilm.encode(TEXTS, batch_size=4)  # mixed lengths: short texts padded beside long ones
    assert ours.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    assert np.abs(ours - reference).max() < 1e-4
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1, atol=1e-5)


def test_a_text_gets_the_same_vector_alone_or_in_a_batch(minilm):
    alone = np.stack([minilm.encode([t])[0] for t in TEXTS])
    assert np.abs(minilm.encode(TEXTS, batch_size=64) - alone).max() < 1e-5


def test_the_shipped_encoder_is_the_numpy_one(reference):
    """What tag search calls (normalised tags, a cache of recent ones) gives the same vectors."""
    enc = TextEncoder()
    ours = enc.encode(TEXTS[:8] + ["  DOG  "])
    assert np.abs(ours[:8] - reference[:8]).max() < 1e-4
    assert np.array_equal(ours[8], ours[0])  # "  DOG  " is the tag "dog", answered from the cache
    assert not np.any(enc.encode([""]))  # an empty tag matches nothing


def test_damaged_text_model_files_are_one_clear_error(tmp_path: Path):
    bad = tmp_path / "minilm"
    shutil.copytree(model_dir(), bad)
    (bad / "model.safetensors").write_bytes((bad / "model.safetensors").read_bytes()[:4096])
    with pytest.raises(ModelError, match="cannot load the text model"):
        NumpyMiniLM(bad)
