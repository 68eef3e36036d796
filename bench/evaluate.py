"""Retrieval metrics from the hashing papers, and the Fashion-MNIST benchmark (`python -m bench.evaluate`).

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
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hashcore.search.bits import pack

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


def ranking_metrics(dist: np.ndarray, rel: np.ndarray, points: int = 50, chunk: int = 100) -> tuple[float, dict[str, list[float]]]:
    """mAP over the full ranking, and precision/recall at log-spaced rank cut-offs, in one sort."""
    n = dist.shape[1]
    cuts = np.unique(np.geomspace(1, n, points).astype(int))
    prec, rec, aps = np.zeros(len(cuts)), np.zeros(len(cuts)), []
    for i in range(0, len(dist), chunk):
        rs = ranked_relevance(dist[i:i + chunk], rel[i:i + chunk])
        aps.extend(average_precision(r) for r in rs)
        cum = np.cumsum(rs, axis=1, dtype=np.int32)[:, cuts - 1]
        prec += (cum / cuts).sum(0)
        rec += (cum / np.maximum(rs.sum(1, keepdims=True), 1)).sum(0)
    curve = {"cutoff": cuts.tolist(), "precision": (prec / len(dist)).tolist(), "recall": (rec / len(dist)).tolist()}
    return float(np.mean(aps)), curve


def mean_average_precision(dist: np.ndarray, rel: np.ndarray, chunk: int = 100) -> float:
    """mAP over the full ranking by any distance (Hamming, asymmetric, Euclidean)."""
    return ranking_metrics(dist, rel, points=2, chunk=chunk)[0]


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
    return ranking_metrics(dist, rel, points, chunk)[1]


def radius_pr(dist: np.ndarray, rel: np.ndarray, bits: int) -> dict[str, list[float]]:
    """Precision and recall of Hamming-ball retrieval for every radius 0..bits (empty ball: skipped)."""
    got = np.stack([np.bincount(d, minlength=bits + 1) for d in dist]).cumsum(1)
    good = np.stack([np.bincount(d[r], minlength=bits + 1) for d, r in zip(dist, rel, strict=True)]).cumsum(1)
    n_rel = np.maximum(rel.sum(axis=1), 1)[:, None]
    ok = got > 0
    prec = np.where(ok, good / np.maximum(got, 1), 0).sum(0) / np.maximum(ok.sum(0), 1)
    return {"radius": list(range(bits + 1)), "precision": prec.tolist(), "recall": (good / n_rel).mean(0).tolist()}


def unique_codes(codes: np.ndarray) -> int:
    return int(len(np.unique(pack(codes), axis=0)))


def code_metrics(q_codes: np.ndarray, db_codes: np.ndarray, rel: np.ndarray) -> tuple[dict[str, float], dict[str, Any]]:
    """All table metrics for binary codes ranked by Hamming distance, plus curves for plots."""
    dist = hamming_matrix(q_codes, db_codes)
    m_ap, ranking = ranking_metrics(dist, rel)
    row: dict[str, float] = {"map": m_ap, **radius_stats(dist, rel), "unique_codes": unique_codes(db_codes)}
    curves = {"ranking": ranking, "radius": radius_pr(dist, rel, q_codes.shape[1])}
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


def load_protocol(size: int = 224, cache: Path = FEATURE_CACHE, seed: int = 0, validation: bool = False) -> Protocol:
    """The benchmark split of cached features. `validation` re-draws the same protocol inside the
    60,000 training images only (queries from the first 10,000), for choosing hyper-parameters
    without looking at the test queries."""
    from bench.datasets import protocol_split

    path = cache / f"fmnist_features_{size}.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing: run `nice -n 19 python bench/eval_features.py --size {size}` first")
    with np.load(path) as z:
        feats, labels = z["features"].astype(np.float32), z["labels"].astype(np.int64)
    if validation:
        feats, labels = feats[:60000], labels[:60000]
    sp = protocol_split(labels, n_train_images=50000 if validation else 60000, seed=seed)
    desc = {"data": "Fashion-MNIST (Debian dataset-fashion-mnist), " + ("the 60,000 training images only (validation)" if validation else "all 70,000 images"),
            "features": f"EfficientNet-Lite0 ImageNet, 1280-d pooled features, 28 px images upscaled to {size} px, grey to 3 channels",
            "queries": f"{len(sp.query)} (100 per class) from the " + ("last 10,000 training images" if validation else "test set"),
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
    from hashcore.models.methods.base import _REGISTRY

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
            m_ap, ranking = ranking_metrics(dist, rel)
            rows.append(({**base, "method": name, "map": m_ap, "unique_codes": row["unique_codes"],
                          "precision_r2": None, "mean_neighbours_r0": None}, {"ranking": ranking}))
    return rows


def run_faiss(kind: str, bits: int, p: Protocol, rel: np.ndarray) -> tuple[dict[str, Any], dict[str, Any]]:
    q, db, train_s, enc_s = faiss_codes(kind, bits, p.x_db, p.x_db, p.x_query)
    row, curves = code_metrics(q, db, rel)
    return ({"method": f"faiss-{kind}", "bits": bits, "train_s": round(train_s, 2),
             "encode_ms": round(1000 * enc_s / len(p.x_db), 4), "supervised": False,
             "train_size": len(p.x_db), **row}, curves)


def lsh_seed_spread(bits: int, p: Protocol, rel: np.ndarray, seeds: int = 5) -> dict[str, float]:
    """Our LSH's mAP over several random seeds: the noise band for 'matches faiss within noise'."""
    from hashcore.models.methods.lsh import LSH

    maps = []
    for seed in range(seeds):
        head = LSH(bits, seed=seed).fit(p.x_db)
        maps.append(mean_average_precision(hamming_matrix(head.encode(p.x_query), head.encode(p.x_db)), rel))
    return {"mean": float(np.mean(maps)), "std": float(np.std(maps, ddof=1)), "seeds": seeds}


def float_reference(p: Protocol, rel: np.ndarray) -> dict[str, Any]:
    """mAP of the uncompressed features (cosine), the ceiling the codes approximate."""
    def unit(x: np.ndarray) -> np.ndarray:
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    dist = -(unit(p.x_query) @ unit(p.x_db).T)
    return {"method": "float-cosine", "bits": 32 * p.x_db.shape[1], "map": mean_average_precision(dist, rel)}


# --- plots (Pillow only: matplotlib is not a dependency) ----------------------------------------

PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207), (0, 0, 0), (90, 90, 200),
           (200, 90, 90), (90, 160, 90), (230, 180, 0), (0, 110, 110))


def plot_lines(path: Path, title: str, series: dict[str, tuple[list[float], list[float]]],
               xlabel: str = "recall", ylabel: str = "precision", markers: bool = False) -> None:
    """A plain line chart (0..1 on both axes) with a legend, written as PNG with Pillow."""
    from PIL import Image, ImageDraw

    w, h, left, top, pw, ph = 900, 620, 60, 40, 560, 520
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    d.text((left, 10), title, fill="black")
    d.rectangle([left, top, left + pw, top + ph], outline="black")
    for t in np.linspace(0, 1, 6):
        x, y = left + t * pw, top + ph - t * ph
        d.line([x, top + ph, x, top + ph + 4], fill="black")
        d.text((x - 8, top + ph + 6), f"{t:.1f}", fill="black")
        d.line([left - 4, y, left, y], fill="black")
        d.text((left - 30, y - 6), f"{t:.1f}", fill="black")
    d.text((left + pw // 2 - 20, top + ph + 22), xlabel, fill="black")
    d.text((5, top - 20), ylabel, fill="black")
    for i, (name, (xs, ys)) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        pts = [(left + float(np.clip(a, 0, 1)) * pw, top + ph - float(np.clip(b, 0, 1)) * ph) for a, b in zip(xs, ys, strict=True)]
        if len(pts) > 1:
            d.line(pts, fill=colour, width=2)
        if markers:
            for px, py in pts:
                d.ellipse([px - 3, py - 3, px + 3, py + 3], fill=colour)
        d.line([left + pw + 20, top + 10 + 18 * i, left + pw + 45, top + 10 + 18 * i], fill=colour, width=3)
        d.text((left + pw + 50, top + 4 + 18 * i), name, fill="black")
    img.save(path)


def write_plots(out: Path, curves: dict[tuple[str, int], dict[str, Any]], bits_list: list[int]) -> list[str]:
    """Per code length: PR over the full ranking, and PR of Hamming-ball retrieval at r = 0, 1, 2."""
    written = []
    for bits in bits_list:
        mine = {m: c for (m, b), c in curves.items() if b == bits}
        full = {m: (c["ranking"]["recall"], c["ranking"]["precision"]) for m, c in mine.items()}
        p = out / f"pr_full_{bits}.png"
        plot_lines(p, f"Precision-recall over the full ranking, {bits} bits (Fashion-MNIST)", full)
        written.append(p.name)
        radius = {m: (c["radius"]["recall"][:3], c["radius"]["precision"][:3]) for m, c in mine.items() if "radius" in c}
        p = out / f"pr_radius_{bits}.png"
        plot_lines(p, f"Hamming-ball retrieval at r = 0, 1, 2 (points left to right), {bits} bits", radius, markers=True)
        written.append(p.name)
    return written


# --- tables and files --------------------------------------------------------------------------

NOTES_MARKER = "<!-- notes: everything below this line is kept when the tables are regenerated -->"


def table(rows: list[dict[str, Any]], key: str, bits_list: list[int], fmt: str) -> str:
    methods = list(dict.fromkeys(r["method"] for r in rows))
    lines = ["| method | " + " | ".join(f"{b} bits" for b in bits_list) + " |",
             "|---|" + "---:|" * len(bits_list)]
    for m in methods:
        cells = []
        for b in bits_list:
            r = next((r for r in rows if r["method"] == m and r["bits"] == b), None)
            cells.append(fmt.format(r[key]) if r is not None and r.get(key) is not None else "")
        if any(cells):
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def neighbour_table(rows: list[dict[str, Any]], bits: int) -> str:
    lines = ["| method | unique codes | r = 0 | r = 1 | r = 2 | precision r<=2 |", "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r["bits"] == bits and r.get("mean_neighbours_r0") is not None:
            lines.append(f"| {r['method']} | {r['unique_codes']} | {r['mean_neighbours_r0']:.1f} | "
                         f"{r['mean_neighbours_r1']:.1f} | {r['mean_neighbours_r2']:.1f} | {r['precision_r2']:.3f} |")
    return "\n".join(lines)


def radius_table(rows: list[dict[str, Any]], bits: int) -> str:
    lines = ["| method | P r=0 | R r=0 | P r<=1 | R r<=1 | P r<=2 | R r<=2 |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r["bits"] == bits and r.get("precision_r0") is not None:
            lines.append(f"| {r['method']} | " + " | ".join(f"{r[f'{k}_r{i}']:.3f}" for i in RADII for k in ("precision", "recall")) + " |")
    return "\n".join(lines)


def spread_lines(result: dict[str, Any]) -> list[str]:
    spread = result.get("lsh_seed_spread") or {}
    if not spread:
        return []
    cells = ", ".join(f"{b} bits {v['mean']:.3f} +/- {v['std']:.3f}" for b, v in sorted(spread.items(), key=lambda kv: int(kv[0])))
    return [f"Noise band of random-hyperplane LSH (our `lsh`, mean +/- sd of mAP over 5 seeds): {cells}."]


def render_markdown(result: dict[str, Any], command: str, plots: list[str], notes: str) -> str:
    # tag-to-image rows (issue 5) live in the same JSON but have their own page, docs/results_tags.md
    rows, bits_list = [r for r in result["rows"] if r.get("task") != "tag-to-image"], result["bits"]
    proto = "\n".join(f"- {k}: {v}" for k, v in result["protocol"].items())
    parts = [
        "# Learning to hash on Fashion-MNIST: the papers' methods side by side", "",
        f"Produced by `{command}` ({result['seconds']:.0f} s on {result['machine']}). "
        "Numbers are on a 0-1 scale (mAP 0.5 = 50 points). Regenerate with the same command; "
        "the notes at the end are kept.", "", "## Protocol", proto, "",
        f"Reference: uncompressed 1280-d float features ranked by cosine give mAP {result['float_map']:.3f}.", "",
        *spread_lines(result), "",
        "## mAP over the whole ranking (Hamming ranking; dqn-aqd/dqn-sqd rank DQN's codes by quantiser distance)", "",
        table(rows, "map", bits_list, "{:.3f}"), "",
        "## Precision within Hamming radius 2 (empty ball counts as 0)", "", table(rows, "precision_r2", bits_list, "{:.3f}"), "",
    ]
    for b in bits_list:
        parts += [f"## Unique codes in the database and mean neighbours per query, {b} bits (SparseHash's table)", "",
                  neighbour_table(rows, b), ""]
    for b in bits_list:
        parts += [f"## Precision (P) and recall (R) inside Hamming radius r, {b} bits", "", radius_table(rows, b), ""]
    parts += ["## Training time (s, 2 shared CPU cores)", "", table(rows, "train_s", bits_list, "{:.1f}"), "",
              "## Encoding time per image (ms, head only; the backbone adds ~30 ms)", "",
              table(rows, "encode_ms", bits_list, "{:.4f}"), "",
              "## Plots", "",
              "\n".join(f"- [{p}]({p})" for p in plots) if plots else "Plots were not written.", "",
              NOTES_MARKER, notes.strip(), ""]
    return "\n".join(parts)


def existing_notes(path: Path) -> str:
    if not path.is_file():
        return ""
    text = path.read_text()
    return text.split(NOTES_MARKER, 1)[1] if NOTES_MARKER in text else ""


def run_benchmark(bits_list: list[int], methods: list[str], size: int, validation: bool,
                  log: Callable[[str], None]) -> tuple[dict[str, Any], dict[tuple[str, int], dict[str, Any]]]:
    import platform

    import hashcore.models.methods  # noqa: F401  (registers every head)

    t0 = time.perf_counter()
    p = load_protocol(size, validation=validation)
    rel = relevance(p.y_query, p.y_db)
    rows, curves = [], {}
    for bits in bits_list:
        for kind in ("lsh", "itq"):
            row, c = run_faiss(kind, bits, p, rel)
            rows.append(row)
            curves[(row["method"], bits)] = c
            log(f"{bits:3d} bits  {row['method']:12s} mAP {row['map']:.3f}  train {row['train_s']:.1f}s\n")
        for m in methods:
            if m == "dqn" and bits % 8:
                continue
            for row, c in run_method(m, bits, p, rel):
                rows.append(row)
                curves[(row["method"], bits)] = c
                log(f"{bits:3d} bits  {row['method']:12s} mAP {row['map']:.3f}  train {row['train_s']:.1f}s\n")
    spread = {b: lsh_seed_spread(b, p, rel) for b in bits_list} if "lsh" in methods else {}
    result = {"protocol": p.description, "bits": bits_list, "float_map": float_reference(p, rel)["map"],
              "lsh_seed_spread": spread,
              "rows": rows, "seconds": time.perf_counter() - t0,
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch threads {torch_threads()}"}
    return result, curves


def merge_results(path: Path, new: dict[str, Any]) -> dict[str, Any]:
    """New rows replace old rows of the same code lengths; other lengths are kept."""
    if not path.is_file():
        return new
    old = json.loads(path.read_text())
    kept = [r for r in old.get("rows", []) if r.get("task") == "tag-to-image" or r["bits"] not in new["bits"]]
    bits = sorted({*old.get("bits", []), *new["bits"]})
    commands = [c for c in old.get("command", "").split(" ; ") if c] + [new["command"]]
    spread = {**old.get("lsh_seed_spread", {}), **{str(k): v for k, v in new.get("lsh_seed_spread", {}).items()}}
    return {**new, "bits": bits, "rows": sorted(kept + new["rows"], key=lambda r: (r.get("task", ""), r.get("bits") or 0)), "lsh_seed_spread": spread,
            "seconds": old.get("seconds", 0) + new["seconds"], "command": " ; ".join(dict.fromkeys(commands))}


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock file, so runs of different code lengths can merge into one results file."""
    import fcntl

    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.evaluate", description=__doc__.splitlines()[0])
    ap.add_argument("--bits", type=int, nargs="+", default=[16, 32, 48, 64])
    ap.add_argument("--methods", nargs="+", default=list(UNSUPERVISED + SUPERVISED))
    ap.add_argument("--out", type=Path, default=Path("docs"))
    ap.add_argument("--size", type=int, default=224, help="input size the cached features were extracted at")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--merge", action="store_true",
                    help="keep rows of other code lengths from an existing results.json (run the lengths in turns)")
    ap.add_argument("--validation", action="store_true",
                    help="tune on the training images only (queries and database from the 60,000 training images)")
    ap.add_argument("--near-duplicates", type=Path, metavar="FEATURES_NPZ",
                    help="instead: near-duplicate benchmark on real-photo features from `hashcore train --save-features`; "
                         "prints a Markdown table for the first --bits value")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    if args.near_duplicates:
        rows = near_duplicate_benchmark(args.near_duplicates, args.methods, args.bits[0])
        sys.stdout.write(near_duplicate_table(rows) + "\n")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "validation" if args.validation else "results"
    command = "python -m bench.evaluate " + " ".join(argv if argv is not None else sys.argv[1:])
    for i, bits in enumerate(args.bits):  # results are written after each code length
        result, curves = run_benchmark([bits], args.methods, args.size, args.validation, sys.stdout.write)
        result["command"] = command
        with locked(Path(tempfile.gettempdir()) / f"hashlens-eval-{stem}.lock"):
            if args.merge or i > 0:
                result = merge_results(args.out / f"{stem}.json", result)
            (args.out / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n")
            plots = [] if args.validation else write_plots(args.out, curves, [bits])
            if not args.validation:
                plots = sorted({*plots, *(p.name for p in args.out.glob("pr_*.png"))})
            md = args.out / f"{stem}.md"
            md.write_text(render_markdown(result, result["command"], plots, existing_notes(md)))
        sys.stdout.write(f"wrote {md} and {args.out / (stem + '.json')}\n")
    return 0



# --- near-duplicates of real photos ------------------------------------------------------------


def near_duplicate_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| method | bits | mAP | copies found r=0 | r<=1 | r<=2 | false hits per query r<=2 | train s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['method']} | {r['bits']} | {r['map']:.3f} | {r['recall_r0']:.3f} | {r['recall_r1']:.3f} | "
                     f"{r['recall_r2']:.3f} | {r['false_r2']:.2f} | {r['train_s']:.1f} |")
    return "\n".join(lines)


def near_duplicate_benchmark(path: Path, methods: list[str], bits: int, group: int = 31, variants: int = 6,
                             seed: int = 0) -> list[dict[str, Any]]:
    """Near-duplicate retrieval on real photos, from a feature file written by
    `hashcore train --photos ... --save-features` (per photo: the original, `variants` edited
    copies, then random views). Heads train on half the photos (supervised heads get the photo id
    as label: views and copies of one photo are "similar"); the other half is the test set, where
    each original queries a database of every test original and copy. Reports mAP and the recall
    of copies within Hamming radius 0..2 (what duplicate finding uses)."""
    import hashcore.models.methods  # noqa: F401
    from hashcore.models.methods.base import _REGISTRY

    with np.load(path, allow_pickle=False) as z:
        x = z["x"].astype(np.float32)
    n_photos = len(x) // group
    pid = np.repeat(np.arange(n_photos), group)[: len(x)]
    rng = np.random.default_rng(seed)
    train_ids = rng.permutation(n_photos)[: n_photos // 2]
    train = np.isin(pid, train_ids)
    slot = np.arange(len(x)) % group
    test_db = ~train & (slot <= variants)
    q_idx = np.flatnonzero(~train & (slot == 0))
    rows = []
    for m in methods:
        cls = _REGISTRY[m]
        head = cls(bits)
        _, train_s = timed(lambda h=head, c=cls: h.fit(x[train], pid[train] if c.supervised else None))
        db = head.encode(x[test_db])
        dist = hamming_matrix(head.encode(x[q_idx]), db)
        rel = pid[q_idx][:, None] == pid[test_db][None, :]
        self_hit = q_idx[:, None] == np.flatnonzero(test_db)[None, :]
        dist = np.where(self_hit, np.iinfo(np.int16).max, dist)  # the query itself is not a copy
        rel &= ~self_hit
        row = {"method": m, "bits": bits, "map": mean_average_precision(dist, rel), "train_s": round(train_s, 2)}
        for r in RADII:
            row[f"recall_r{r}"] = float(((dist <= r) & rel).sum() / rel.sum())
            row[f"false_r{r}"] = float(((dist <= r) & ~rel & ~self_hit).sum() / len(q_idx))
        rows.append(row)
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
