"""all-MiniLM-L6-v2 in NumPy: the sentence vectors of sentence-transformers without torch.

A tag query needs one short text embedded. Importing torch, transformers and
sentence-transformers for that takes many seconds at the first query of a session; this module
runs the same forward pass (BERT encoder, mean pooling over the real tokens, L2 norm) from the
model package's own `tokenizer.json` (Hugging Face `tokenizers`, the same fast tokenizer
sentence-transformers uses) and `model.safetensors`, and loads in a fraction of a second. Its
vectors equal sentence-transformers' to float32 rounding (tests/core/test_textenc_numpy.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from hashcore.errors import ModelError

_ERF = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)  # Abramowitz & Stegun 7.1.26


def gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact (erf) GELU. NumPy has no erf; A&S 7.1.26 is within 1.5e-7 of it, far below
    float32 noise after a LayerNorm, and spares importing scipy.special at the first query."""
    u = np.abs(x) * np.float32(1 / np.sqrt(2))
    t = 1 / (1 + np.float32(0.3275911) * u)
    poly = t * (_ERF[0] + t * (_ERF[1] + t * (_ERF[2] + t * (_ERF[3] + t * _ERF[4]))))
    erf = np.sign(x) * (1 - poly * np.exp(-u * u))
    return (0.5 * x * (1 + erf)).astype(np.float32, copy=False)


class NumpyMiniLM:
    """A BERT sentence encoder (mean pooling, unit vectors) from a sentence-transformers folder."""

    def __init__(self, folder: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        try:
            cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            st_cfg = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
            pooling = json.loads((folder / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
            self.tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
            self.w: dict[str, np.ndarray] = load_file(str(folder / "model.safetensors"))
        except Exception as exc:  # many kinds: missing or damaged files (tokenizers raises plain Exception)
            raise ModelError(f"cannot load the text model from {folder}: {exc}") from exc
        if cfg.get("model_type") != "bert" or cfg.get("hidden_act") != "gelu" \
                or not pooling.get("pooling_mode_mean_tokens"):
            raise ModelError(f"{folder} is not a mean-pooled BERT sentence model this encoder can run")
        self.layers, self.heads = int(cfg["num_hidden_layers"]), int(cfg["num_attention_heads"])
        self.dim, self.eps = int(cfg["hidden_size"]), float(cfg["layer_norm_eps"])
        # sentence-transformers truncates to max_seq_length (tokens, [CLS] and [SEP] included)
        # and pads each batch to its longest text; tokenizer.json's own fixed 128 is not used
        self.max_len = min(int(st_cfg.get("max_seq_length", 512)), int(cfg["max_position_embeddings"]))
        self.tok.enable_truncation(self.max_len)
        self.tok.no_padding()

    def _ln(self, x: np.ndarray, p: str) -> np.ndarray:
        m = x.mean(-1, keepdims=True)
        c = x - m
        v = (c * c).mean(-1, keepdims=True)
        return c / np.sqrt(v + np.float32(self.eps)) * self.w[p + ".weight"] + self.w[p + ".bias"]

    def _lin(self, x: np.ndarray, p: str) -> np.ndarray:
        """x @ W.T + b; W as stored (out, in): BLAS reads the transposed view without a copy."""
        return x @ self.w[p + ".weight"].T + self.w[p + ".bias"]

    def _forward(self, ids: np.ndarray, types: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(n, L) token ids, type ids, 0/1 mask -> (n, dim) mean-pooled, unit-length vectors."""
        w, (n, length) = self.w, ids.shape
        hd = self.dim // self.heads
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length][None]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = self._ln(x, "embeddings.LayerNorm").reshape(n * length, self.dim)
        pad = ((1 - mask) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1 / np.sqrt(hd))

        def split(t: np.ndarray) -> np.ndarray:
            return t.reshape(n, length, self.heads, hd).transpose(0, 2, 1, 3)
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            q, k, v = (split(self._lin(x, p + f"attention.self.{m}")) for m in ("query", "key", "value"))
            a = (q @ k.transpose(0, 1, 3, 2)) * scale + pad
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            h = (a @ v).transpose(0, 2, 1, 3).reshape(n * length, self.dim)
            x = self._ln(x + self._lin(h, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            x = self._ln(x + self._lin(gelu(self._lin(x, p + "intermediate.dense")), p + "output.dense"),
                         p + "output.LayerNorm")
        x = x.reshape(n, length, self.dim)
        e = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1)
        return (e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def encode(self, texts: list[str], batch_size: int = 128) -> np.ndarray:
        """(N, dim) float32 unit vectors. Texts are batched by token length (as sentence-
        transformers does), so a batch of single words is not padded to a long sentence."""
        out = np.zeros((len(texts), self.dim), np.float32)
        if not texts:
            return out
        enc: list[Any] = self.tok.encode_batch(list(texts))
        order = np.argsort([len(e.ids) for e in enc], kind="stable")
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            length = max(len(enc[r].ids) for r in rows)
            ids = np.zeros((len(rows), length), np.int64)
            types = np.zeros_like(ids)
            mask = np.zeros((len(rows), length), np.float32)
            for j, r in enumerate(rows):
                e = enc[r]
                ids[j, :len(e.ids)], types[j, :len(e.ids)], mask[j, :len(e.ids)] = e.ids, e.type_ids, 1
            out[rows] = self._forward(ids, types, mask)
        return out
