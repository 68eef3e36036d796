"""Retrieval metrics from the hashing papers, and the Fashion-MNIST benchmark (`python -m hashcore.evaluate`).

Metrics (per method and code length): mAP over the whole database ranking; precision, recall and
mean number of neighbours within Hamming radius r = 0, 1, 2 (a query with nothing inside the
radius counts as precision 0, the convention of the KSH/BDNN evaluation code); the number of
unique codes in the database; a precision-recall curve over the full Hamming ranking; training
time and encoding time per image (head only, backbone excluded).

Ties in Hamming distance are broken by database order (a stable sort); the database order of
Fashion-MNIST is unrelated to the labels, so this equals a random tie-break in expectation.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hashcore.bits import pack

RADII = (0, 1, 2)
FEATURE_CACHE = Path(__file__).resolve().parent.parent / ".cache"


def hamming_matrix(q_codes: np.ndarray, db_codes: np.ndarray, chunk: int = 256) -> np.ndarray:
    """(Q, bits) and (N, bits) bool codes -> (Q, N) int16 Hamming distances."""
    qp, dp = pack(q_codes), pack(db_codes)
    out = np.empty((len(qp), len(dp)), np.int16)
    for i in range(0, len(qp), chunk):
        x = np.bitwise_xor(qp[i:i + chunk, None, :], dp[None, :, :])
        out[i:i + chunk] = np.bitwise_count(x).sum(axis=2, dtype=np.int16)
    return out


def relevance(q_labels: np.ndarray, db_labels: np.ndarray) -> np.ndarray:
    """(Q, N) bool: same class (or, for multi-label rows, at least one shared label)."""
    if q_labels.ndim == 1:
        return q_labels[:, None] == db_labels[None, :]
    return (q_labels.astype(np.int32) @ db_labels.T.astype(np.int32)) > 0


def average_precision(rel_sorted: np.ndarray) -> float:
    """AP of one ranking: mean of precision@k over the ranks k that hold a relevant item."""
    hits = np.flatnonzero(rel_sorted)
    if len(hits) == 0:
        return 0.0
    return float(np.mean(np.arange(1, len(hits) + 1) / (hits + 1)))


def ranked_relevance(dist: np.ndarray, rel: np.ndarray) -> np.ndarray:
    """Relevance of each query's database items in increasing distance (stable) order."""
    order = np.argsort(dist, axis=1, kind="stable")
    return np.take_along_axis(rel, order, axis=1)


def mean_average_precision(dist: np.ndarray, rel: np.ndarray, chunk: int = 100) -> float:
    """mAP over the full ranking by any distance (Hamming, asymmetric, Euclidean)."""
    aps = []
    for i in range(0, len(dist), chunk):
        rs = ranked_relevance(dist[i:i + chunk], rel[i:i + chunk])
        aps.extend(average_precision(r) for r in rs)
    return float(np.mean(aps))


def radius_stats(dist: np.ndarray, rel: np.ndarray, radii: tuple[int, ...] = RADII) -> dict[str, float]:
    """Precision, recall and mean neighbour count inside each Hamming radius."""
    n_rel = np.maximum(rel.sum(axis=1), 1)
    out: dict[str, float] = {}
    for r in radii:
        inside = dist <= r
        got = inside.sum(axis=1)
        good = (inside & rel).sum(axis=1)
        out[f"precision_r{r}"] = float(np.mean(np.where(got > 0, good / np.maximum(got, 1), 0.0)))
        out[f"recall_r{r}"] = float(np.mean(good / n_rel))
        out[f"mean_neighbours_r{r}"] = float(np.mean(got))
    return out


def pr_curve(dist: np.ndarray, rel: np.ndarray, points: int = 50, chunk: int = 100) -> dict[str, list[float]]:
    """Precision and recall at rank cut-offs spaced logarithmically over the whole ranking."""
    n = dist.shape[1]
    cuts = np.unique(np.geomspace(1, n, points).astype(int))
    prec, rec = np.zeros(len(cuts)), np.zeros(len(cuts))
    for i in range(0, len(dist), chunk):
        rs = ranked_relevance(dist[i:i + chunk], rel[i:i + chunk])
        cum = np.cumsum(rs, axis=1)[:, cuts - 1]
        prec += (cum / cuts).sum(0)
        rec += (cum / np.maximum(rs.sum(1, keepdims=True), 1)).sum(0)
    return {"cutoff": cuts.tolist(), "precision": (prec / len(dist)).tolist(), "recall": (rec / len(dist)).tolist()}


def radius_pr(dist: np.ndarray, rel: np.ndarray, bits: int) -> dict[str, list[float]]:
    """Precision and recall of Hamming-ball retrieval for every radius 0..bits (empty ball: skipped)."""
    n_rel = np.maximum(rel.sum(axis=1), 1)
    prec, rec = [], []
    for r in range(bits + 1):
        inside = dist <= r
        got, good = inside.sum(1), (inside & rel).sum(1)
        ok = got > 0
        prec.append(float(np.mean(good[ok] / got[ok])) if ok.any() else 0.0)
        rec.append(float(np.mean(good / n_rel)))
    return {"radius": list(range(bits + 1)), "precision": prec, "recall": rec}


def unique_codes(codes: np.ndarray) -> int:
    return int(len(np.unique(pack(codes), axis=0)))


def code_metrics(q_codes: np.ndarray, db_codes: np.ndarray, rel: np.ndarray) -> tuple[dict[str, float], dict[str, Any]]:
    """All table metrics for binary codes ranked by Hamming distance, plus curves for plots."""
    dist = hamming_matrix(q_codes, db_codes)
    row: dict[str, float] = {"map": mean_average_precision(dist, rel), **radius_stats(dist, rel),
                             "unique_codes": unique_codes(db_codes)}
    curves = {"ranking": pr_curve(dist, rel), "radius": radius_pr(dist, rel, q_codes.shape[1])}
    return row, curves


# --- the benchmark ---------------------------------------------------------------------------


@dataclass
class Protocol:
    x_query: np.ndarray
    y_query: np.ndarray
    x_db: np.ndarray
    y_db: np.ndarray
    x_train_sup: np.ndarray
    y_train_sup: np.ndarray
    description: dict[str, Any] = field(default_factory=dict)


def load_protocol(size: int = 224, cache: Path = FEATURE_CACHE, seed: int = 0) -> Protocol:
    from hashcore.datasets import protocol_split

    path = cache / f"fmnist_features_{size}.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing: run `nice -n 19 python bench/eval_features.py --size {size}` first")
    with np.load(path) as z:
        feats, labels = z["features"].astype(np.float32), z["labels"].astype(np.int64)
    sp = protocol_split(labels, seed=seed)
    desc = {"data": "Fashion-MNIST (Debian dataset-fashion-mnist), 70,000 images",
            "features": f"EfficientNet-Lite0 ImageNet, 1280-d pooled features, images upscaled to {size} px, grey to 3 channels",
            "queries": f"{len(sp.query)} from the test set (100 per class)",
            "database": f"{len(sp.database)} (all other images)",
            "train_supervised": f"{len(sp.train_supervised)} database images (500 per class)",
            "train_unsupervised": f"the whole database ({len(sp.database)})",
            "relevance": "same class", "split_seed": seed}
    return Protocol(feats[sp.query], labels[sp.query], feats[sp.database], labels[sp.database],
                    feats[sp.train_supervised], labels[sp.train_supervised], desc)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def faiss_codes(kind: str, bits: int, x_train: np.ndarray, x_db: np.ndarray, x_q: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Codes from faiss's own LSH / ITQ+LSH (the independent peers), unpacked to bool."""
    import faiss

    d = x_train.shape[1]
    index = faiss.IndexLSH(d, bits) if kind == "lsh" else faiss.index_factory(d, f"ITQ{bits},LSH")
    _, train_s = timed(lambda: index.train(np.ascontiguousarray(x_train)))

    def enc(x: np.ndarray) -> np.ndarray:
        raw = index.sa_encode(np.ascontiguousarray(x))
        return np.unpackbits(raw, axis=1, bitorder="little")[:, :bits].astype(bool)

    db, enc_s = timed(lambda: enc(x_db))
    return enc(x_q), db, train_s, enc_s


def method_params(method: str, bits: int) -> dict[str, Any]:
    """Hyper-parameters used in the benchmark (chosen on the training split only)."""
    table: dict[str, dict[str, Any]] = {}
    return dict(table.get(method, {}))


UNSUPERVISED = ("lsh", "sh", "itq", "uh-bdnn")
SUPERVISED = ("lsh-metric", "dsh", "dnnh", "dnnh-fc", "sh-bdnn", "sparsehash", "dqn")


def run_method(method: str, bits: int, p: Protocol, rel: np.ndarray) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Fit one head, encode, measure. DQN yields two extra rows (asymmetric and symmetric quantiser distance)."""
    from hashcore.methods.base import _REGISTRY

    cls = _REGISTRY[method]
    head = cls(bits, **method_params(method, bits))
    x_fit, y_fit = (p.x_train_sup, p.y_train_sup) if cls.supervised else (p.x_db, None)
    _, train_s = timed(lambda: head.fit(x_fit, y_fit))
    db, enc_s = timed(lambda: head.encode(p.x_db))
    q = head.encode(p.x_query)
    row, curves = code_metrics(q, db, rel)
    base = {"method": method, "bits": bits, "train_s": round(train_s, 2),
            "encode_ms": round(1000 * enc_s / len(p.x_db), 4), "supervised": cls.supervised,
            "train_size": len(x_fit)}
    rows = [({**base, **row}, curves)]
    if method == "dqn":
        for name, dist in (("dqn-aqd", head.adc_distances(p.x_query, db)), ("dqn-sqd", head.sqd_distances(q, db))):
            extra = {"map": mean_average_precision(dist, rel), "unique_codes": row["unique_codes"]}
            rows.append(({**base, "method": name, **extra}, {"ranking": pr_curve(dist, rel)}))
    return rows


def run_faiss(kind: str, bits: int, p: Protocol, rel: np.ndarray) -> tuple[dict[str, Any], dict[str, Any]]:
    q, db, train_s, enc_s = faiss_codes(kind, bits, p.x_db, p.x_db, p.x_query)
    row, curves = code_metrics(q, db, rel)
    return ({"method": f"faiss-{kind}", "bits": bits, "train_s": round(train_s, 2),
             "encode_ms": round(1000 * enc_s / len(p.x_db), 4), "supervised": False,
             "train_size": len(p.x_db), **row}, curves)


def float_reference(p: Protocol, rel: np.ndarray) -> dict[str, Any]:
    """mAP of the uncompressed features (cosine), the ceiling the codes approximate."""
    def unit(x: np.ndarray) -> np.ndarray:
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    dist = -(unit(p.x_query) @ unit(p.x_db).T)
    return {"method": "float-cosine", "bits": 32 * p.x_db.shape[1], "map": mean_average_precision(dist, rel)}
