"""Train the copy-detection head (hashcore/models/methods/copyhash.py) and check it on held-out photos.

Training pool only (bench/photos.py `training_pool()`), with the training edit families only
(bench/edits.py TRAIN_FAMILIES): every base photo becomes an "original" (JPEG q95, as the
benchmark writes it) and N edited copies, each decoded the way the indexer decodes a file
(hashcore.ingest.decode.decode_bytes), then the frozen backbone's 1280-d features. A fifth of the
training photos (by a keyed hash of the id) is kept apart for validation: the operating point
(Hamming radius, embedding cosine) is chosen there, never on held-out photos.

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
TARGET_PRECISION = 0.995  # on validation pairs, for choosing the embedding cosine


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


def choose_operating_point(emb: np.ndarray, codes: np.ndarray, photo: np.ndarray) -> dict[str, float]:
    """On validation rows: for each radius in RADII, the lowest embedding cosine at which the
    pairs the pipeline accepts (code within the radius, cosine at least that) are still
    TARGET_PRECISION copies; the (radius, cosine) that accepts the most copy pairs."""
    sims, dist = emb @ emb.T, hamming(codes)
    upper = np.triu(np.ones_like(sims, bool), 1)
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


def methods(v: dict[str, np.ndarray], head: Any, op: dict[str, float]) -> dict[str, np.ndarray]:
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
    return {k: m & ~np.eye(len(m), dtype=bool) for k, m in out.items()}


# -- main ---------------------------------------------------------------------------------------
def shipped_itq() -> Any:
    from hashcore.models.manifest import head_info
    from hashcore.models.methods import load_head

    info = head_info(64)
    return load_head(info.path, info.sha256)


def train(x: np.ndarray, photo: np.ndarray, params: dict[str, Any], bits: int = 64) -> Any:
    import torch

    from hashcore.models.methods.copyhash import CopyHash

    torch.set_num_threads(2)
    t0 = time.perf_counter()
    head = CopyHash(bits, **params).fit(x, photo, progress=lambda d, n, s: print(f"  step {d}/{n} {s}", flush=True)
                                        if d % 500 == 0 else None)
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
    heads = {"final": train(fv["feature"], fv["photo"], params)}
    if args.gem:
        heads["final+gem"] = train(model_input(fv, "final+gem"), fv["photo"], params)
    head = heads["final"]
    op = choose_operating_point(head.embed(vv["feature"]), head.encode(vv["feature"]), vv["photo"])
    print(f"operating point from validation photos: {op}")
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
    from hashcore.models.manifest import HeadInfo, record_head

    head.params["operating_point"] = op  # travels with the model: the radius and cosine it was tuned for
    path = MODELS / f"copy-{head.bits}.npz"
    sha = head.save(path)
    record_head(HeadInfo(path.stem, path, head.method, head.bits, sha), default=False, models_dir=MODELS)
    print(f"wrote {path.relative_to(ROOT)} (sha256 {sha[:12]}...) and its manifest entry (not the default)")


if __name__ == "__main__":
    sys.exit(main())
