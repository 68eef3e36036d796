"""Packing binary codes into uint64 words, and Hamming distances on them.

Bit j of a code lives in word j // 64 at bit position j % 64 (little-endian within the
word), so a code of `bits` bits takes bits // 64 words (32-bit codes take one word whose
high half is zero). The same packing is used in memory, in the SQLite store (as raw
little-endian bytes) and in the bucket table.
"""

from __future__ import annotations

import numpy as np


def n_words(bits: int) -> int:
    return (bits + 63) // 64


def pack(binary: np.ndarray) -> np.ndarray:
    """(N, bits) array of {0,1} or bool (or signs: >0 is 1) -> (N, words) uint64, C-contiguous."""
    b = np.asarray(binary)
    if b.ndim == 1:
        b = b[None, :]
    b = b > 0 if b.dtype != np.bool_ else b
    n, bits = b.shape
    words = n_words(bits)
    padded = np.zeros((n, words * 64), dtype=np.bool_)
    padded[:, :bits] = b
    as_bytes = np.packbits(padded.reshape(n, words * 8, 8), axis=2, bitorder="little")
    return np.ascontiguousarray(as_bytes.reshape(n, words * 8).view("<u8").astype(np.uint64))


def unpack(codes: np.ndarray, bits: int) -> np.ndarray:
    """(N, words) uint64 -> (N, bits) bool."""
    c = np.ascontiguousarray(np.asarray(codes, dtype="<u8"))
    if c.ndim == 1:
        c = c[None, :]
    as_bytes = c.view(np.uint8).reshape(c.shape[0], -1)
    return np.unpackbits(as_bytes, axis=1, bitorder="little")[:, :bits].astype(np.bool_)


def to_bytes(code: np.ndarray) -> bytes:
    """One packed code (words,) -> little-endian bytes, the form stored in SQLite."""
    return np.ascontiguousarray(code, dtype="<u8").tobytes()


def from_bytes(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<u8").astype(np.uint64)


def hamming(codes: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Distances from one packed query (words,) to every row of codes (N, words)."""
    x = np.bitwise_xor(codes, query[None, :])
    d = np.bitwise_count(x)
    return d[:, 0].astype(np.int32) if d.shape[1] == 1 else d.sum(axis=1, dtype=np.int32)


def hamming_int(a: int, b: int) -> int:
    """Pure-Python reference distance between codes held as Python ints."""
    return (a ^ b).bit_count()


def code_to_int(code: np.ndarray) -> int:
    return int.from_bytes(to_bytes(code), "little")
