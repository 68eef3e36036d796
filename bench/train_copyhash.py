"""Train the copy-detection head (hashcore/models/methods/copyhash.py) and check it on held-out photos.

Training pool only (bench/photos.py `training_pool()`), with the training edit families only
(bench/edits.py TRAIN_FAMILIES): every base photo becomes an "original" (JPEG q95, as the
benchmark writes it) and N edited copies, each decoded the way the indexer decodes a file
(hashcore.ingest.decode.decode_bytes), then the frozen backbone's 1280-d features. A fifth of the
training photos (by a keyed hash of the id) is kept apart for validation: the operating point
(Hamming radius, embedding cosine) is chosen there, never on held-out photos.

Hard negatives (on by default, --no-bursts to leave them out): two panned frames of each training
photo (burst_frames: 60-80% of the width each, one at each end, overlapping by 20-60%), each with
BURST_EDITS training edits, labelled as two instances that are negatives of each other (never
compared with their photo's own views). The validation photos' frames are negatives in the choice of
the operating point too. The second signal (--dct, on by default): the DCT hash of
hashcore/search/dcthash.py; on the validation views (remade and hashed, cached), with the copy
operating point fixed, the DCT radius (at most 10) and copy cosine (at least 0.5) of a second test
"DCT within radius and copy cosine >= c" are chosen the same way; both go into the model's
params["operating_point"] (dct_radius, dct_min_cosine).

The held-out check is a quick proxy for `make eval-dups`: held-out photos x edits of *every*
family (the held-out families included), all pairs scored directly (no grouping), against the
raw backbone cosine >= 0.80 and today's default (itq-64 within radius 6 and cosine >= 0.80):
pair recall and precision, copy-with-its-original recall per family, and hard-negative pairs
(different shots of one scene, different photos of one kind of subject) taken for copies.

    nice -n 10 python -m bench.train_copyhash              # cache views, train, save, report
    nice -n 10 python -m bench.train_copyhash --no-save    # report only

Backbone features of the views are cached under .cache/copyhash/ (keyed by photos, edit seeds
and counts), so a second run only trains (about a minute on 2 cores).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from bench import photos as photomod
from bench.edits import FAMILIES, HELDOUT_FAMILIES, TRAIN_FAMILIES, make_edit

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "copyhash"
MODELS = ROOT / "resources" / "models"
ORIGINAL_QUALITY = 95  # as bench/eval_dups.py writes the originals
SEED = "copyhash-v1"
VALIDATION_SHARE = 0.2
TODAY = {"radius": 6, "min_cosine": 0.80}  # hashcore.library defaults at 64 bits
PARAMS = {"hidden": 0, "dim": 256, "tau": 0.05, "koleo": 0.1, "steps": 1000, "batch": 128, "views": 2,
          "lr": 1e-3, "weight_decay": 1e-4, "dropout": 0.1, "seed": 0, "code": "learned", "code_tau": 0.2,
          "quant": 0.1}
RADII = (6, 8, 10, 12, 14)  # Hamming radii the operating point may use (multi-index search grows fast beyond)
TARGET_PRECISION = 0.99  # on validation pairs, for choosing the embedding cosine (the issue's own precision target)


# -- views --------------------------------------------------------------------------------------
def _views_of(task: tuple[photomod.Base, list[str], str]) -> tuple[list[Any], list[str]]:
    """The original and one edit per family in `families`, decoded as the indexer decodes files."""
    from hashcore.ingest.decode import decode_bytes

    base, families, seed = task
    img = base.load()
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=ORIGINAL_QUALITY)
    out, names = [decode_bytes(buf.getvalue()).image], ["original"]
    for n, fam in enumerate(families):
        edit = make_edit(fam, img, random.Random(f"{seed}:{base.id}:{n}:{fam}"))
        out.append(decode_bytes(edit.encode()).image)
        names.append(fam)
    return out, names


def _dct_of(task: tuple[photomod.Base, list[str], str]) -> np.ndarray:
    """DCT hashes (hashcore/search/dcthash.py) of the same views `_views_of` makes."""
    from hashcore.search.dcthash import dct_hashes

    return dct_hashes(_views_of(task)[0])


def cached_dct(bases: list[photomod.Base], per_photo: int, families: tuple[str, ...], seed: str, tag: str,
               v: dict[str, np.ndarray], only: np.ndarray, jobs: int) -> np.ndarray:
    """(N, 8) packed DCT hashes aligned with the rows of `v` (cached_views of the same arguments),
    computed for the photos where `only` is set (zero rows elsewhere), cached."""
    key = hashlib.sha256(json.dumps([[b.id for b in bases], per_photo, families, seed,
                                     np.flatnonzero(only).tolist(), "dct-v2"]).encode()).hexdigest()[:16]
    path = CACHE / f"dct-{tag}-{key}.npy"
    if path.exists():
        return np.load(path)
    plan = view_plan(bases, per_photo, families, seed)
    todo = np.flatnonzero(only)
    out = np.zeros((len(v["photo"]), 8), np.uint8)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(jobs) as pool:
        for n, (k, hashes) in enumerate(zip(todo, pool.map(_dct_of, [(bases[k], plan[k], seed) for k in todo],
                                                             chunksize=2), strict=True)):
            out[np.flatnonzero(v["photo"] == k)] = hashes
            if (n + 1) % 20 == 0:
                print(f"  dct {tag}: {n + 1}/{len(todo)} photos, {time.perf_counter() - t0:.0f} s", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


# Burst stand-ins: two frames of one photo, panned apart so that they share only part of the
# scene (as two shots of one scene do), each with BURST_EDITS training edits of its own. The two
# frames are different instances (negatives of each other); neither is compared with its
# photo's own views (a frame is also a crop of the photo, and crops are copies).
BURST_EDITS = 2


def burst_frames(img: Any, rng: random.Random) -> tuple[Any, Any]:
    """Two frames of `img`: each keeps 60-80% of the width (of the height for a portrait photo)
    and 75-95% of the other side, one at each end, so they overlap by 20-60% along the pan."""
    w, h = img.size
    s, t = rng.uniform(0.6, 0.8), rng.uniform(0.75, 0.95)
    s2 = min(0.85, s * rng.uniform(0.9, 1.1))  # the second shot zoomed a little
    pan_x = w >= h
    boxes = []
    for k, frac in enumerate((s, s2)):
        lo = 0.0 if k == 0 else 1.0 - frac
        off = rng.uniform(0, 1 - t)
        if pan_x:
            boxes.append((lo * w, off * h, (lo + frac) * w, (off + t) * h))
        else:
            boxes.append((off * w, lo * h, (off + t) * w, (lo + frac) * h))
    if rng.random() < 0.5:
        boxes.reverse()
    return tuple(img.crop(tuple(round(c) for c in b)) for b in boxes)  # type: ignore[return-value]


def _bursts_of(task: tuple[photomod.Base, str]) -> list[Any]:
    """Frame A, its edits, frame B, its edits: decoded as the indexer decodes files."""
    from hashcore.ingest.decode import decode_bytes

    base, seed = task
    img = base.load()
    rng = random.Random(f"{seed}:{base.id}:burst")
    out = []
    for frame in burst_frames(img, rng):
        buf = io.BytesIO()
        frame.save(buf, "JPEG", quality=ORIGINAL_QUALITY)
        out.append(decode_bytes(buf.getvalue()).image)
        for n in range(BURST_EDITS):
            fam = rng.choice(TRAIN_FAMILIES)
            out.append(decode_bytes(make_edit(fam, frame, random.Random(f"{seed}:{base.id}:burst{n}")).encode()).image)
    return out


def cached_bursts(bases: list[photomod.Base], seed: str, jobs: int) -> dict[str, np.ndarray]:
    """{feature (N, 1280), photo (N,) index into bases, frame (N,) 0 or 1}, cached."""
    key = hashlib.sha256(json.dumps([[b.id for b in bases], BURST_EDITS, seed, "burst-v1"]).encode()).hexdigest()[:16]
    path = CACHE / f"burst-{key}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    from hashcore.models.backbone import Backbone

    backbone = Backbone()
    feats, photo, frame = [], [], []
    t0 = time.perf_counter()
    with ProcessPoolExecutor(jobs) as pool:
        for n, images in enumerate(pool.map(_bursts_of, [(b, seed) for b in bases], chunksize=2)):
            feats.append(backbone.embed_images(images)[0])
            photo += [n] * len(images)
            frame += [0] * (1 + BURST_EDITS) + [1] * (1 + BURST_EDITS)
            if (n + 1) % 20 == 0:
                print(f"  bursts: {n + 1}/{len(bases)} photos, {time.perf_counter() - t0:.0f} s", flush=True)
    out = {"feature": np.concatenate(feats).astype(np.float32), "photo": np.asarray(photo, np.int64),
           "frame": np.asarray(frame, np.int64)}
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def view_plan(bases: list[photomod.Base], per_photo: int, families: tuple[str, ...], seed: str) -> list[list[str]]:
    """Families for each photo's edits: a seeded round-robin over `families` (equal shares)."""
    order = list(families)
    random.Random(f"{seed}:families").shuffle(order)
    return [[order[(i * per_photo + j) % len(order)] for j in range(per_photo)] for i in range(len(bases))]


def cached_views(bases: list[photomod.Base], per_photo: int, families: tuple[str, ...], seed: str,
                 tag: str, jobs: int) -> dict[str, np.ndarray]:
    """{feature (N, 1280) float32, photo (N,) index into bases, family (N,) str}, cached."""
    key = hashlib.sha256(json.dumps([[b.id for b in bases], per_photo, families, seed]).encode()).hexdigest()[:16]
    path = CACHE / f"{tag}-{key}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    from hashcore.models.backbone import Backbone

    backbone = Backbone()
    gem = GeMTap(backbone)
    plan = view_plan(bases, per_photo, families, seed)
    feats, gems, photo, family = [], [], [], []
    t0 = time.perf_counter()
    tasks = [(b, fams, seed) for b, fams in zip(bases, plan, strict=True)]
    with ProcessPoolExecutor(jobs) as pool:
        for n, (images, names) in enumerate(pool.map(_views_of, tasks, chunksize=2)):
            feats.append(backbone.embed_images(images)[0])
            gems.append(gem.take())
            photo += [n] * len(images)
            family += names
            if (n + 1) % 20 == 0:
                print(f"  {tag}: {n + 1}/{len(bases)} photos, {time.perf_counter() - t0:.0f} s", flush=True)
    out = {"feature": np.concatenate(feats).astype(np.float32), "gem": np.concatenate(gems).astype(np.float16),
           "photo": np.asarray(photo, np.int64), "family": np.asarray(family)}
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


class GeMTap:
    """GeM-pooled (p=3) activations of an earlier block, taken during the backbone's own forward
    pass: block 10's expanded 672 channels (after BN and ReLU6) at 14x14, twice the final
    resolution. Measured beside the final pooled feature: does it carry more instance detail?"""

    BLOCK, P = 10, 3.0

    def __init__(self, backbone: Any) -> None:
        model = backbone._load()
        self.got: list[np.ndarray] = []
        model._blocks[self.BLOCK]._bn1.register_forward_hook(self._hook)

    def _hook(self, module: Any, inputs: Any, output: Any) -> None:
        import torch

        x = torch.nn.functional.relu6(output).clamp(min=1e-6).pow(self.P).mean(dim=(2, 3)).pow(1 / self.P)
        self.got.append(x.detach().float().numpy())

    def take(self) -> np.ndarray:
        out, self.got = np.concatenate(self.got), []
        return out


def is_validation(base: photomod.Base) -> bool:
    h = hashlib.blake2b(base.scene.encode(), key=b"copyhash-validation", digest_size=8).digest()
    return int.from_bytes(h, "big") / 2.0**64 < VALIDATION_SHARE


# -- scoring ------------------------------------------------------------------------------------
def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def hamming(codes: np.ndarray) -> np.ndarray:
    c = codes.astype(np.float32)
    return (c @ (1 - c).T + (1 - c) @ c.T).astype(np.int32)


def hard_negative_mask(bases: list[photomod.Base], photo: np.ndarray) -> np.ndarray:
    """Row pairs whose photos are different shots of one scene or of one kind of subject."""
    n = len(bases)
    hard = np.zeros((n, n), bool)
    for i, a in enumerate(bases):
        for j, b in enumerate(bases):
            if i != j and (a.scene == b.scene or (a.subject and a.subject == b.subject)):
                hard[i, j] = True
    return hard[photo[:, None], photo[None, :]]


def score(found: np.ndarray, v: dict[str, np.ndarray], hard: np.ndarray) -> dict[str, Any]:
    """Pair metrics of a boolean (N, N) 'taken for copies' matrix."""
    photo, fam = v["photo"], v["family"]
    upper = np.triu(np.ones_like(found, bool), 1)
    same = photo[:, None] == photo[None, :]
    tp, fp = int((found & same & upper).sum()), int((found & ~same & upper).sum())
    positives = int((same & upper).sum())
    orig = np.flatnonzero(fam == "original")
    orig_of = dict(zip(photo[orig].tolist(), orig.tolist(), strict=True))
    per_family: dict[str, list[int]] = {}
    for i in np.flatnonzero(fam != "original"):
        per_family.setdefault(str(fam[i]), []).append(int(found[i, orig_of[int(photo[i])]]))
    fam_recall = {f: round(float(np.mean(x)), 3) for f, x in sorted(per_family.items())}
    held = [x for f, xs in per_family.items() if f in HELDOUT_FAMILIES for x in xs]
    return {"pair_recall": round(tp / max(positives, 1), 4), "pair_precision": round(tp / max(tp + fp, 1), 4),
            "false_pairs": fp, "hard_negative_pairs": int((found & hard & upper).sum()),
            "copy_with_original": round(float(np.mean([x for xs in per_family.values() for x in xs])), 4),
            "heldout_families": round(float(np.mean(held)), 4) if held else None,
            "worst_families": sorted(fam_recall.items(), key=lambda kv: kv[1])[:5], "per_family": fam_recall}


def choose_operating_point(emb: np.ndarray, codes: np.ndarray, photo: np.ndarray,
                           skip: np.ndarray | None = None) -> dict[str, float]:
    """On validation rows: for each radius in RADII, the lowest embedding cosine at which the
    pairs the pipeline accepts (code within the radius, cosine at least that) are still
    TARGET_PRECISION copies; the (radius, cosine) that accepts the most copy pairs. Pairs in
    `skip` (a burst frame against its own photo's views) are left out."""
    sims, dist = emb @ emb.T, hamming(codes)
    upper = np.triu(np.ones_like(sims, bool), 1)
    if skip is not None:
        upper &= ~skip
    same = (photo[:, None] == photo[None, :])[upper]
    s, d = sims[upper], dist[upper]
    best = {"radius": RADII[0], "min_cosine": 1.0, "validation_recall": 0.0}
    for r in RADII:
        inside = d <= r
        order = np.argsort(-np.where(inside, s, -np.inf), kind="stable")[:int(inside.sum())]
        hits = np.cumsum(same[order])
        ok = np.flatnonzero(hits / np.arange(1, len(order) + 1) >= TARGET_PRECISION)
        if len(ok) and hits[ok.max()] / same.sum() > best["validation_recall"]:
            best = {"radius": r, "min_cosine": round(float(s[order][ok.max()]), 4),
                    "validation_recall": round(float(hits[ok.max()] / same.sum()), 4)}
    return best


DCT_RADII = (4, 6, 8, 10)  # pHash's usual radius at most: a second multi-index search beyond grows fast
DCT_MIN_COSINE_FLOOR = 0.5  # the DCT hash never decides alone: the copy embedding must agree loosely


def dct_matrix(d: np.ndarray) -> np.ndarray:
    """All-pairs Hamming distances of packed DCT hashes (N, 8)."""
    return np.bitwise_count(d[:, None, :] ^ d[None, :, :]).sum(axis=-1)


def accept(ecos: np.ndarray, cham: np.ndarray, ddist: np.ndarray | None, op: dict[str, Any]) -> np.ndarray:
    """Pairs taken for copies: code within the radius and copy cosine >= min_cosine; with the DCT
    signal also pairs whose DCT hashes are within dct_radius and copy cosine >= dct_min_cosine."""
    found = (cham <= op["radius"]) & (ecos >= op["min_cosine"])
    if ddist is not None and "dct_radius" in op:
        found |= (ddist <= op["dct_radius"]) & (ecos >= op["dct_min_cosine"])
    return found


def choose_dct_point(ecos: np.ndarray, cham: np.ndarray, ddist: np.ndarray, photo: np.ndarray,
                     op: dict[str, Any]) -> dict[str, Any]:
    """On validation rows, with the copy operating point fixed: for each DCT radius, the lowest
    copy cosine at which everything accepted (either test) is still TARGET_PRECISION copies; the
    (radius, cosine >= DCT_MIN_COSINE_FLOOR) that accepts the most copy pairs."""
    upper = np.triu(np.ones_like(ecos, bool), 1)
    same = (photo[:, None] == photo[None, :])[upper]
    base = accept(ecos, cham, None, op)[upper]
    s, d = ecos[upper], ddist[upper]
    best = {"dct_radius": None, "dct_min_cosine": None, "validation_recall": round(float(base[same].mean()), 4)}
    for r in DCT_RADII:
        extra = (d <= r) & ~base & (s >= DCT_MIN_COSINE_FLOOR)
        order = np.argsort(-np.where(extra, s, -np.inf), kind="stable")[:int(extra.sum())]
        hits = int(base[same].sum()) + np.cumsum(same[order])
        taken = int(base.sum()) + np.arange(1, len(order) + 1)
        ok = np.flatnonzero(hits / taken >= TARGET_PRECISION)
        if len(ok) and hits[ok.max()] / same.sum() > best["validation_recall"]:
            best = {"dct_radius": r, "dct_min_cosine": round(float(s[order][ok.max()]), 4),
                    "validation_recall": round(float(hits[ok.max()] / same.sum()), 4)}
    return best


def code_table(v: dict[str, np.ndarray], codes: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Candidate generation: copy pairs within each radius, and candidate pairs per photo."""
    upper = np.triu(np.ones((len(v["photo"]),) * 2, bool), 1)
    same = (v["photo"][:, None] == v["photo"][None, :])[upper]
    n_photos = len(set(v["photo"].tolist()))
    out = {}
    for name, c in codes.items():
        d = hamming(c)[upper]
        out[name] = {f"r{r}": (round(float((d[same] <= r).mean()), 3), round(float((d <= r).sum() / n_photos)))
                     for r in (6, 10, 14)}
    return out


def recall_at_precision(sims: np.ndarray, photo: np.ndarray, precision: float = TARGET_PRECISION) -> float:
    """Threshold-free descriptor comparison: the share of copy pairs above the lowest cosine at
    which the pairs above it are still `precision` copies."""
    upper = np.triu(np.ones_like(sims, bool), 1)
    same = (photo[:, None] == photo[None, :])[upper]
    order = np.argsort(-sims[upper], kind="stable")
    hits = np.cumsum(same[order])
    ok = np.flatnonzero(hits / np.arange(1, len(order) + 1) >= precision)
    return round(float(hits[ok.max()] / max(same.sum(), 1)), 4) if len(ok) else 0.0


def descriptors(v: dict[str, np.ndarray], heads: dict[str, Any]) -> dict[str, float]:
    """Recall at precision 0.995 of each float descriptor's cosine, on these rows."""
    out = {"backbone 1280-d": unit(v["feature"]), "GeM block 10 (672-d)": unit(v["gem"].astype(np.float32)),
           "backbone + GeM": np.hstack([unit(v["feature"]), unit(v["gem"].astype(np.float32))]) / 2 ** 0.5}
    out.update({f"copy embedding ({name})": h.embed(model_input(v, name)) for name, h in heads.items()})
    return {k: recall_at_precision(e @ e.T, v["photo"]) for k, e in out.items()}


def model_input(v: dict[str, np.ndarray], name: str) -> np.ndarray:
    if name == "final+gem":
        return np.hstack([v["feature"], v["gem"].astype(np.float32)])
    return v["feature"]


def methods(v: dict[str, np.ndarray], head: Any, op: dict[str, Any]) -> dict[str, np.ndarray]:
    from hashcore.models.manifest import head_info

    feats = v["feature"]
    cos = unit(feats) @ unit(feats).T
    info, itq = head_info(64), shipped_itq()
    emb = head.embed(feats)
    ecos, cham = emb @ emb.T, hamming(head.encode(feats))
    r, t = op["radius"], op["min_cosine"]
    out = {"backbone cosine >= 0.80": cos >= 0.80,
           f"today: {info.name} r<=6 + cosine >= 0.80": (hamming(itq.encode(feats)) <= TODAY["radius"]) & (cos >= 0.80),
           "copy-64 r<=6 + backbone cosine >= 0.80": (cham <= 6) & (cos >= 0.80),
           f"copy embedding cosine >= {t:.2f}": ecos >= t,
           f"copy-64 r<={r} + copy cosine >= {t:.2f}": (cham <= r) & (ecos >= t)}
    if "dct" in v:
        dd = dct_matrix(v["dct"])
        out["dct hash <= 10 alone (pHash-like, trimmed)"] = dd <= 10
        if op.get("dct_radius") is not None:
            out[f"copy-64 ... + (dct <= {op['dct_radius']} & copy cosine >= {op['dct_min_cosine']:.2f})"] = \
                accept(ecos, cham, dd, op)
    return {k: m & ~np.eye(len(m), dtype=bool) for k, m in out.items()}


# -- main ---------------------------------------------------------------------------------------
def shipped_itq() -> Any:
    from hashcore.models.manifest import head_info
    from hashcore.models.methods import load_head

    info = head_info(64)
    return load_head(info.path, info.sha256)


def train(x: np.ndarray, photo: np.ndarray, params: dict[str, Any], bits: int = 64,
          related: np.ndarray | None = None) -> Any:
    import torch

    from hashcore.models.methods.copyhash import CopyHash

    torch.set_num_threads(1)  # the machine is shared; one thread is also faster than two under load
    t0 = time.perf_counter()
    head = CopyHash(bits, **params).fit(x, photo, progress=lambda d, n, s: print(f"  step {d}/{n} {s}", flush=True)
                                        if d % 500 == 0 else None, related=related)
    print(f"  trained in {time.perf_counter() - t0:.0f} s", flush=True)
    return head


def subset(v: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {k: a[rows] for k, a in v.items()}


def report(name: str, v: dict[str, np.ndarray], bases: list[photomod.Base], head: Any,
           op: dict[str, float]) -> dict[str, Any]:
    hard = hard_negative_mask(bases, v["photo"])
    res = {}
    print(f"\n{name}: {len(set(v['photo'].tolist()))} photos, {len(v['photo'])} files, "
          f"{int(np.triu(hard, 1).sum())} hard-negative file pairs")
    print(f"{'method':52s} {'recall':>7s} {'prec':>7s} {'false':>6s} {'hard':>5s} {'w/orig':>7s} {'heldout-fam':>11s}")
    for label, found in methods(v, head, op).items():
        s = score(found, v, hard)
        res[label] = s
        print(f"{label:52s} {s['pair_recall']:7.3f} {s['pair_precision']:7.3f} {s['false_pairs']:6d} "
              f"{s['hard_negative_pairs']:5d} {s['copy_with_original']:7.3f} {s['heldout_families'] or 0:11.3f}  "
              f"worst: {', '.join(f'{f} {r:.2f}' for f, r in s['worst_families'][:3])}")
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train-edits", type=int, default=20, help="edited copies per training photo")
    ap.add_argument("--test-edits", type=int, default=13, help="edited copies per held-out photo")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--steps", type=int, default=PARAMS["steps"])
    ap.add_argument("--gem", action="store_true", help="also train a head on backbone + GeM(block 10) features "
                    "and compare the float descriptors (measurement only: the library stores no GeM)")
    ap.add_argument("--no-save", action="store_true", help="report only; write no model")
    ap.add_argument("--bursts", action=argparse.BooleanOptionalAction, default=True,
                    help="train with burst stand-ins as hard negatives (two panned frames of a photo)")
    ap.add_argument("--dct", action=argparse.BooleanOptionalAction, default=True,
                    help="choose the DCT hash's test (hashcore/search/dcthash.py) as a second signal on validation")
    ap.add_argument("--dct-heldout", action="store_true", help="also hash the held-out views (slow: remakes edits)")
    ap.add_argument("--json", help="write the numbers here")
    args = ap.parse_args(argv)
    params = {**PARAMS, "steps": args.steps}

    train_bases, held_bases = photomod.training_pool(), photomod.heldout_pool()
    assert not {b.id for b in train_bases} & {b.id for b in held_bases}
    print(f"training pool {len(train_bases)} photos ({len(TRAIN_FAMILIES)} training families); "
          f"held-out pool {len(held_bases)} photos (all {len(FAMILIES)} families, "
          f"{len(HELDOUT_FAMILIES)} never trained on)", flush=True)
    tv = cached_views(train_bases, args.train_edits, TRAIN_FAMILIES, SEED, "train", args.jobs)
    hv = cached_views(held_bases, args.test_edits, tuple(FAMILIES), SEED + "-heldout", "heldout", args.jobs)

    val = np.array([is_validation(b) for b in train_bases])
    fit_rows, val_rows = np.flatnonzero(~val[tv["photo"]]), np.flatnonzero(val[tv["photo"]])
    print(f"training on {int((~val).sum())} photos ({len(fit_rows)} views), validating on {int(val.sum())}", flush=True)
    fv, vv = subset(tv, fit_rows), subset(tv, val_rows)
    vv["photo"] = np.searchsorted(np.flatnonzero(val), vv["photo"])
    val_bases = [b for b, is_val in zip(train_bases, val, strict=True) if is_val]
    x, y, related = fv["feature"], fv["photo"], np.full(len(fv["photo"]), -1, np.int64)
    vskip = None
    if args.bursts:
        bv = cached_bursts(train_bases, SEED, args.jobs)
        fit_b = ~val[bv["photo"]]
        x = np.concatenate([x, bv["feature"][fit_b]])
        y = np.concatenate([y, len(train_bases) + 2 * bv["photo"][fit_b] + bv["frame"][fit_b]])
        related = np.concatenate([related, bv["photo"][fit_b]])
        print(f"  + {int(fit_b.sum())} burst-frame views of {len(set(bv['photo'][fit_b].tolist()))} photos "
              "(2 frames each, different instances)", flush=True)
        vb = np.flatnonzero(~fit_b)
        vb_photo = np.searchsorted(np.flatnonzero(val), bv["photo"][vb])
        vbx = {"feature": bv["feature"][vb], "photo": len(val_bases) + 2 * vb_photo + bv["frame"][vb],
               "related": vb_photo}
    heads = {"final": train(x, y, params, related=related)}
    if args.gem:
        heads["final+gem"] = train(model_input(fv, "final+gem"), fv["photo"], params)
    head = heads["final"]
    if args.bursts:  # validation: its photos' views, and their burst frames as negatives of each other
        opx = np.concatenate([vv["feature"], vbx["feature"]])
        opy = np.concatenate([vv["photo"], vbx["photo"]])
        rel = np.concatenate([np.full(len(vv["photo"]), -1), vbx["related"]])
        vskip = (rel[:, None] == opy[None, :]) | (opy[:, None] == rel[None, :])
        bt = rel >= 0
        pair = bt[:, None] & bt[None, :] & (rel[:, None] == rel[None, :]) & (opy[:, None] != opy[None, :])
        e = head.embed(vbx["feature"])
        ecos = (np.concatenate([head.embed(vv["feature"]), e]) @ np.concatenate([head.embed(vv["feature"]), e]).T)
        print(f"  validation burst-frame pairs: copy cosine median {np.median(ecos[pair]):.3f}, "
              f"max {ecos[pair].max():.3f}", flush=True)
    else:
        opx, opy = vv["feature"], vv["photo"]
    op = choose_operating_point(head.embed(opx), head.encode(opx), opy, vskip)
    print(f"operating point from validation photos: {op}")
    if args.bursts:  # for comparison (eval_dups reports it apart): the point chosen without burst stand-ins
        plain = choose_operating_point(head.embed(vv["feature"]), head.encode(vv["feature"]), vv["photo"])
        head.params["operating_point_without_bursts"] = plain
        print(f"  (without burst stand-ins in validation it would be {plain})")
    head.params["bursts"] = bool(args.bursts)
    if args.dct:
        vv["dct"] = cached_dct(train_bases, args.train_edits, TRAIN_FAMILIES, SEED, "train", tv, val,
                               args.jobs)[val_rows]
        if args.dct_heldout:  # a quick proxy; `make eval-dups` measures the DCT signal on held-out photos
            hv["dct"] = cached_dct(held_bases, args.test_edits, tuple(FAMILIES), SEED + "-heldout", "heldout", hv,
                                   np.ones(len(held_bases), bool), args.jobs)
        ve = head.embed(vv["feature"])
        dop = choose_dct_point(ve @ ve.T, hamming(head.encode(vv["feature"])), dct_matrix(vv["dct"]),
                               vv["photo"], op)
        print(f"DCT operating point from validation photos: {dop}")
        if dop["dct_radius"] is not None:
            op = {**op, "dct_radius": dop["dct_radius"], "dct_min_cosine": dop["dct_min_cosine"],
                  "dct_validation_recall": dop["validation_recall"]}
    results: dict[str, Any] = {"params": params, "operating_point": op,
                               "train_photos": int((~val).sum()), "validation_photos": int(val.sum()),
                               "heldout_photos": len(held_bases)}
    for name, v, bases in (("validation", vv, val_bases), ("heldout", hv, held_bases)):
        title = "validation (training pool, photos not trained on)" if name == "validation" else \
            "held-out pool (never trained on)"
        results[name] = report(title, v, bases, head, op)
        results[name + "_descriptors"] = d = descriptors(v, heads)
        print(f"  recall of copy pairs at precision {TARGET_PRECISION} (threshold-free): "
              + ", ".join(f"{k} {x:.3f}" for k, x in d.items()))
        results[name + "_codes"] = ct = code_table(v, {"itq-64 (shipped)": shipped_itq().encode(v["feature"]),
                                                       "copy-64": head.encode(v["feature"])})
        print("  candidate generation, (copy pairs within r, candidate pairs per photo): "
              + "; ".join(f"{k}: " + ", ".join(f"{rr} {x}" for rr, x in t.items()) for k, t in ct.items()))
    print("held-out edits per family:", dict(Counter(hv["family"].tolist())))
    if not args.no_save:
        save(head, op)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


def save(head: Any, op: dict[str, float]) -> None:
    from hashcore.models.manifest import HeadInfo, record_copy_head

    head.params["operating_point"] = op  # travels with the model: the radius and cosine it was tuned for
    path = MODELS / f"copy-{head.bits}.npz"
    sha = head.save(path)
    record_copy_head(HeadInfo(path.stem, path, head.method, head.bits, sha), models_dir=MODELS)
    print(f"wrote {path.relative_to(ROOT)} (sha256 {sha[:12]}...) and its manifest entry (\"copy\", not the default)")


if __name__ == "__main__":
    sys.exit(main())
