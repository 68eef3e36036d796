"""Fashion-MNIST from Debian's `dataset-fashion-mnist` (IDX files) and the evaluation protocol.

The protocol follows the supervised setting of the BDNN paper: 1,000 queries (100 per class)
drawn from the test set, the database is every other image (69,000), supervised heads train on
5,000 database images (500 per class) and unsupervised heads may train on the whole database.
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hashcore.errors import NotFoundError

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into an array of its declared shape."""
    path = Path(path)
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":  # gzip, whatever the file is called
        data = gzip.decompress(data)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path.name} is not an IDX file (bad magic)")
    dtype, ndim = data[2], data[3]
    if dtype not in _IDX_DTYPES:
        raise ValueError(f"{path.name}: unknown IDX element type 0x{dtype:02x}")
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=_IDX_DTYPES[dtype], offset=4 + 4 * ndim)
    if arr.size != int(np.prod(shape)):
        raise ValueError(f"{path.name}: expected {int(np.prod(shape))} elements, found {arr.size}")
    return arr.reshape(shape).astype(arr.dtype.newbyteorder("="))


def _find(root: Path, stem: str) -> Path:
    for name in (f"{stem}.gz", stem):
        if (root / name).is_file():
            return root / name
    raise NotFoundError(f"{stem} not found under {root}; install the Debian package dataset-fashion-mnist")


def load_fashion_mnist(root: str | Path = FASHION_MNIST_DIR) -> tuple[np.ndarray, np.ndarray]:
    """All 70,000 images (uint8, 28x28) and labels, train set first then test set."""
    root = Path(root)
    parts = []
    for split in ("train", "t10k"):
        images = read_idx(_find(root, f"{split}-images-idx3-ubyte"))
        labels = read_idx(_find(root, f"{split}-labels-idx1-ubyte"))
        if len(images) != len(labels):
            raise ValueError(f"{split}: {len(images)} images but {len(labels)} labels")
        parts.append((images, labels))
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]).astype(np.int64))


@dataclass(frozen=True)
class Split:
    """Indices into the 70,000 images (train first, then test)."""

    query: np.ndarray
    database: np.ndarray
    train_supervised: np.ndarray

    @property
    def train_unsupervised(self) -> np.ndarray:
        return self.database


def protocol_split(labels: np.ndarray, n_train_images: int = 60000, queries_per_class: int = 100,
                   train_per_class: int = 500, seed: int = 0) -> Split:
    """Queries from the test part (per class), database = the rest, supervised subset of the database."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    test_idx = np.arange(n_train_images, len(labels))
    query = np.concatenate([rng.choice(test_idx[labels[test_idx] == c], queries_per_class, replace=False)
                            for c in np.unique(labels)])
    database = np.setdiff1d(np.arange(len(labels)), query)
    train = np.concatenate([rng.choice(database[labels[database] == c], train_per_class, replace=False)
                            for c in np.unique(labels)])
    return Split(query=np.sort(query), database=database, train_supervised=np.sort(train))


def clustered_data(n: int = 2000, dim: int = 64, classes: int = 10, spread: float = 1.0,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic Gaussian clusters (float32) with labels: fast data for tests and smoke runs."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, dim)) * 3.0
    y = rng.integers(0, classes, n)
    x = centres[y] + spread * rng.standard_normal((n, dim)) * 2.0
    return x.astype(np.float32), y.astype(np.int64)
