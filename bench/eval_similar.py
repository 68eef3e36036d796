"""Issue 14 part 5: does "photos like this one" stay semantic once a copy-detection head ships?

"Photos like this one" (`Library.search_id`) ranked photos by the semantic code alone (itq-64,
re-ranked by backbone cosine within a distance): that is *before*. With a copy head, the query's
copies come first (copy code within the head's radius, copy-embedding cosine at least its
threshold), then the semantic ranking: that is *after*. A copy head trained to tell copies from
other photos could pull photos that merely look alike to the top as "copies"; the number to
watch is the precision of the top 10: the share of the ten photos listed that share the query's
category. It must not drop.

Both run through the real Library over one SQLite file: *before* opens it with the shipped
semantic heads only, *after* with the copy head too (the shipped one, or `--copy-models DIR`).

Two labelled sets:
- real photos of bench/photos.py with a category in their gcompris set's folder names (fishes,
  monuments, renewable energy, tools, animals, music, sea): every such photo is indexed and used
  as a query (`--edits N` adds N edited copies of each from bench/edits.py, counted as the
  query's category, to see a library that holds copies);
- Fashion-MNIST (Debian dataset-fashion-mnist): 10 classes; a class-balanced sample of the test
  images as queries and of the other images as the database (the backbone on all 70,000 images
  takes too long on 2 cores), features as bench/eval_features.py computes them.

    nice -n 10 python -m bench.eval_similar                      # writes docs/results_similar.md
    nice -n 10 python -m bench.eval_similar --copy-models DIR    # another copy head's folder
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "eval_similar"
OUT = ROOT / "docs" / "results_similar.md"
K = 10
# gcompris set (and folder) -> category: a photo's category is the first that matches its id
CATEGORIES = (("gcompris/categorization/images/fishes/", "fish"),
              ("gcompris/categorization/images/monuments/", "monument"),
              ("gcompris/categorization/images/renewable/", "renewable energy"),
              ("gcompris/categorization/images/tools/", "tool"),
              ("gcompris/explore_monuments/", "monument"),
              ("gcompris/erase/", "animal"), ("gcompris/explore_world_animals/", "animal"),
              ("gcompris/explore_farm_animals/", "animal"),
              ("gcompris/explore_world_music/", "music"), ("gcompris/clickgame/", "sea"))


def category(base_path: Path) -> str | None:
    """A base photo's category from where gcompris keeps it; None for unlabelled photos."""
    from bench.photos import CACHE as PHOTO_CACHE

    rel = "gcompris/" + str(base_path.relative_to(PHOTO_CACHE / "gcompris")) if "gcompris" in base_path.parts else ""
    return next((c for prefix, c in CATEGORIES if rel.startswith(prefix)), None)


def shipped_without_copy_head(dest: Path) -> Path:
    """A resources folder with the shipped semantic heads only: the library before copy heads."""
    from hashcore.config import RESOURCES

    m = json.loads((RESOURCES / "models" / "manifest.json").read_text())
    m.pop("copy", None)
    m["heads"] = {n: e for n, e in m["heads"].items() if e["method"] != "copyhash"}
    (dest / "models").mkdir(parents=True, exist_ok=True)
    for e in m["heads"].values():
        link = dest / "models" / e["file"]
        if not link.exists():
            link.symlink_to(RESOURCES / "models" / e["file"])
    (dest / "models" / "manifest.json").write_text(json.dumps(m))
    return dest


def open_library(db: Path, work: Path, copy_models: Path | None, with_copy: bool) -> Any:
    """The Library over `db`: with the semantic head only, or with the copy head too."""
    from hashcore.config import Config
    from hashcore.library import Library
    from hashcore.models.manifest import HeadInfo, copy_head_info, record_copy_head

    home = work / ("after" if with_copy else "before")
    if not with_copy:
        return Library(Config(home=home, resources=shipped_without_copy_head(work / "res")), db_path=db)
    if copy_models is not None and not (home / "models").is_dir():  # another copy head: as if adapted here
        info = copy_head_info(copy_models)
        if info is None:
            raise SystemExit(f"no copy head in {copy_models}")
        (home / "models").mkdir(parents=True)
        shutil.copy2(info.path, home / "models" / info.path.name)
        record_copy_head(HeadInfo(info.name, home / "models" / info.path.name, info.method, info.bits, info.sha256),
                         home / "models")
    lib = Library(Config(home=home), db_path=db)
    if lib.copy is None:
        raise SystemExit("no copy head is shipped (resources/models/manifest.json) and none was given")
    return lib


def precision_at_k(lib: Any, queries: list[int], label: dict[int, str]) -> dict[str, Any]:
    """Mean share of the top K (query excluded) sharing the query's category; and how many of
    the listed photos came as copies, and how many of those share the category."""
    prec, copies, copies_same, with_copies = [], 0, 0, 0
    for q in queries:
        hits = lib.search_id(q, K)
        same = [label.get(h.id) == label[q] for h in hits]
        prec.append(sum(same) / K)
        listed = [s for h, s in zip(hits, same, strict=True) if h.copy]
        copies += len(listed)
        copies_same += sum(listed)
        with_copies += bool(listed)
    return {"precision_at_10": round(float(np.mean(prec)), 4), "queries": len(queries),
            "queries_with_copies_listed": with_copies, "copies_listed": copies,
            "copies_listed_same_category": copies_same}


def compare(db: Path, work: Path, copy_models: Path | None, queries: list[int], label: dict[int, str],
            setup: Callable[[Any], None]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, with_copy in (("before", False), ("after", True)):
        with open_library(db, work, copy_models, with_copy) as lib:
            setup(lib)
            out[name] = precision_at_k(lib, queries, label)
            out[name]["model"] = lib.encoder.name + (f" + copies first ({lib.copy.name}, radius {lib.copy.operating_point[0]}, "
                                                     f"cosine {lib.copy.operating_point[1]})" if lib.copy else "")
        print(f"  {name}: {out[name]}", flush=True)
    return out


# -- real photos --------------------------------------------------------------------------------
def photo_set(edits: int, work: Path, copy_models: Path | None) -> dict[str, Any]:
    from bench import photos as photomod
    from bench.edits import TRAIN_FAMILIES, make_edit

    bases = [b for b in photomod.all_bases() if category(b.path)]
    held = {b.id for b in photomod.heldout_pool()}
    folder = CACHE / f"photos-e{edits}"
    if not (folder / ".complete").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for n, b in enumerate(bases):
            img = b.load(1024)
            stem = b.id.replace("/", "_")
            img.save(folder / f"{stem}.jpg", quality=92)
            rng = random.Random(f"eval-similar:{b.id}")
            for e in range(edits):
                make_edit(rng.choice(TRAIN_FAMILIES), img, rng).save(folder / f"{stem}~edit{e}")
            if (n + 1) % 50 == 0:
                print(f"  wrote {n + 1}/{len(bases)} photos", flush=True)
        (folder / ".complete").write_text("ok")
    db = work / "photos.db"
    cat = {b.id.replace("/", "_"): category(b.path) for b in bases}
    base_id = {b.id.replace("/", "_"): b.id for b in bases}
    state: dict[str, Any] = {}

    def setup(lib: Any) -> None:
        if "label" in state:
            return
        t0 = time.perf_counter()
        lib.index([folder])
        print(f"  indexed {lib.store.count()} files in {time.perf_counter() - t0:.0f} s", flush=True)
        rows = lib.store.images()
        stem = {r["id"]: Path(r["path"]).name.split("~")[0].rsplit(".", 1)[0] for r in rows}
        state["label"] = {i: cat[s] for i, s in stem.items()}
        state["queries"] = [r["id"] for r in rows if "~" not in Path(r["path"]).name]
        state["held"] = [i for i in state["queries"] if base_id[stem[i]] in held]

    with open_library(db, work, copy_models, True) as lib:  # indexed with the copy head: DCT hashes kept
        setup(lib)
    res = compare(db, work, copy_models, state["queries"], state["label"], lambda lib: None)
    held_res = compare(db, work, copy_models, state["held"], state["label"], lambda lib: None)
    counts: dict[str, int] = {}
    for i in state["queries"]:
        counts[state["label"][i]] = counts.get(state["label"][i], 0) + 1
    return {"all": res, "heldout": held_res, "photos": len(state["queries"]), "edits_per_photo": edits,
            "files": len(state["label"]), "categories": dict(sorted(counts.items()))}


# -- Fashion-MNIST ------------------------------------------------------------------------------
def fmnist_features(per_class_db: int, per_class_q: int, seed: int = 0) -> dict[str, np.ndarray]:
    path = CACHE / f"fmnist-{per_class_db}-{per_class_q}-{seed}.npz"
    if path.exists():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    import torch
    from torch.nn import functional as F

    from bench.datasets import load_fashion_mnist
    from hashcore.models.backbone import Backbone

    torch.set_num_threads(1)
    images, labels = load_fashion_mnist()
    rng = np.random.default_rng(seed)
    test = np.arange(60000, len(labels))
    q = np.concatenate([rng.choice(test[labels[test] == c], per_class_q, replace=False) for c in range(10)])
    rest = np.setdiff1d(np.arange(len(labels)), q)
    d = np.concatenate([rng.choice(rest[labels[rest] == c], per_class_db, replace=False) for c in range(10)])
    idx = np.concatenate([q, d])
    bb, feats = Backbone(threads=1), []
    for i in range(0, len(idx), 64):  # as bench/eval_features.py (hashcore's preprocess_array, batched)
        x = torch.from_numpy(images[idx[i:i + 64]].astype(np.float32) / 127.5 - 1.0)[:, None]
        x = F.interpolate(x, size=(224, 224), mode="bilinear", align_corners=False,
                          antialias=False).expand(-1, 3, -1, -1).contiguous()
        feats.append(bb.embed_tensor(x)[0])
    out = {"features": np.concatenate(feats).astype(np.float16), "labels": labels[idx], "is_query": np.arange(len(idx)) < len(q)}
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def fmnist_set(per_class_db: int, per_class_q: int, work: Path, copy_models: Path | None) -> dict[str, Any]:
    from bench.datasets import CLASS_NAMES
    from hashcore.store.db import Store

    z = fmnist_features(per_class_db, per_class_q)
    db = work / "fmnist.db"
    with Store(db) as store, store.transaction() as c:
        root = store.add_root("/fashion-mnist")
        ids = [store.upsert_image(c, {"root_id": root, "path": f"/fashion-mnist/{n:05d}.png", "size": 784, "mtime": 0.0,
                                      "content_hash": f"fmnist-{n}", "width": 28, "height": 28, "indexed_at": 0.0})
               for n in range(len(z["labels"]))]
        for i, f in zip(ids, z["features"], strict=True):
            store.put_features(c, i, f, None)
    label = {i: CLASS_NAMES[int(y)] for i, y in zip(ids, z["labels"], strict=True)}
    queries = [i for i, q in zip(ids, z["is_query"], strict=True) if q]
    res = compare(db, work, copy_models, queries, label, lambda lib: lib.recode())
    return {"all": res, "queries": len(queries), "database": len(ids)}


# -- report -------------------------------------------------------------------------------------
def row(name: str, r: dict[str, Any]) -> str:
    return (f"| {name} | {r['model']} | {r['precision_at_10']:.3f} | {r['queries_with_copies_listed']} of {r['queries']} "
            f"| {r['copies_listed']} ({r['copies_listed_same_category']} same category) |")


def render(result: dict[str, Any], command: str) -> str:
    head = ("| set | ranking | precision of the top 10 (same category) | queries with copies listed | "
            "photos listed as copies |\n|---|---|---|---|---|")
    lines = ["# \"Photos like this one\" before and after the copy head (issue 14 part 5)", "",
             f"Command: `{command}`", "",
             "Precision of the top 10 = the share of the ten photos `Library.search_id(query, 10)` lists "
             "(the query itself excluded) that share the query's category, averaged over the queries. "
             "*Before*: the semantic code alone (the shipped itq head, re-ranked by backbone cosine within a "
             "distance). *After*: the query's copies first (copy code within the copy head's radius, "
             "copy-embedding cosine at least its threshold; or, where the head has a DCT test, DCT hashes within its "
             "radius and the copy cosine at least its lower threshold), then the same semantic ranking. "
             "Fashion-MNIST goes in as features (no image files), so its copies come from the copy code alone.", ""]
    for key, title in (("photos", "Real photos (bench/photos.py)"), ("fmnist", "Fashion-MNIST")):
        if key not in result:
            continue
        r = result[key]
        lines += [f"## {title}", ""]
        if key == "photos":
            lines += [f"{r['photos']} labelled photos (categories: "
                      + ", ".join(f"{c} {n}" for c, n in r["categories"].items())
                      + f"), {r['edits_per_photo']} edited copies of each ({r['files']} files); every photo "
                      "is a query. *Held-out* = the queries from the benchmark's held-out pool (no head trained "
                      "on them; the copy head trained on the training pool's photos).", ""]
            lines += [head, row("all photos, before", r["all"]["before"]), row("all photos, after", r["all"]["after"]),
                      row("held-out photos, before", r["heldout"]["before"]),
                      row("held-out photos, after", r["heldout"]["after"]), ""]
        else:
            lines += [f"{r['queries']} test images as queries (class-balanced), a database of "
                      f"{r['database'] - r['queries']} other images (class-balanced, seed 0), 10 classes; "
                      "features as bench/eval_features.py computes them.", ""]
            lines += [head, row("Fashion-MNIST, before", r["all"]["before"]),
                      row("Fashion-MNIST, after", r["all"]["after"]), ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--edits", type=int, default=0, help="edited copies of each labelled photo in the library")
    ap.add_argument("--fmnist-db", type=int, default=300, help="Fashion-MNIST database images per class")
    ap.add_argument("--fmnist-queries", type=int, default=30, help="Fashion-MNIST queries per class")
    ap.add_argument("--copy-models", type=Path, help="a model folder whose copy head to use (default: the shipped one)")
    ap.add_argument("--skip", choices=("photos", "fmnist"), action="append", default=[])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    args = ap.parse_args(argv)
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="eval-similar-") as tmp:
        if "photos" not in args.skip:
            print("real photos", flush=True)
            result["photos"] = photo_set(args.edits, Path(tmp) / "photos", args.copy_models)
        if "fmnist" not in args.skip:
            print("Fashion-MNIST", flush=True)
            result["fmnist"] = fmnist_set(args.fmnist_db, args.fmnist_queries, Path(tmp) / "fmnist", args.copy_models)
    command = "python -m bench.eval_similar " + shlex.join(argv if argv is not None else sys.argv[1:])
    args.out.write_text(render(result, command.strip()))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
