"""Issue 15 part 5: a tag query at 100,000 photos, warm and first of a session.

    python -m bench.bench_tags                 # 100k photos, 21 warm queries, 3 cold sessions
    python -m bench.bench_tags --n 20000 --repeats 9 --cold 1
    python -m bench.bench_tags --rankings FILE   # also: the rankings of WORDS equal FILE's (else write it)

The library is a real SQLite file (bench/.cache/tags-<n>.db, built once): n image rows with
stored 1280-d features (float16, as the indexer writes them). The features are synthetic but
shaped like real ones: each is a random mix of two real photos' backbone features (the ~300 real
photos of bench/photos.py, indexed by bench/eval_tags_learn.py) plus noise, so the tag model's
codes cluster as a real library's do. Their tag codes come from whatever multimodal model the
manifest lists (TagService.tag_codes, once, before timing).

Warm query, timed as the GUI runs it (app/jobs.tag_search_job, in a thread other than the main
one): open a Library on the file (the models already loaded in this process),
`find_tag([word], k=200)`: text -> MiniLM vector (NumPy,
hashcore/models/minilm_np.py) -> code, Hamming distances over every photo (codes from the store's
shared in-memory cache), the few hundred best re-ranked by the image tower on their stored
features, their paths. Every timed query is a word not asked before in the process (the text
encoder's cache never answers). Median of --repeats; per-stage medians from the same runs.
Peers in the same run, on the same 100k: NumPy float cosine over (n, 384) float32 vectors + top
k (the float search a tag query would otherwise be), and faiss IndexBinaryFlat top k over the
same codes.

First query of a session: a fresh interpreter imports hashcore, opens the library and asks one
word (the tag model and the NumPy text model load; the session reads the tag codes); median of
--cold sessions (the OS file cache is warm, as on a second start of the app). Each session also
says whether torch or sentence-transformers got imported (neither should be), and, after its
timing, how long `import torch` takes on this machine (what the first query no longer pays).

Threads as in the app: this process leaves NumPy's BLAS at its default size (one thread per core;
the app sets nothing either) and the query itself runs it on one thread (TagService.find). The
float peer is timed both ways and the faster counts; faiss runs on one thread.

Wall times on a shared, loaded machine grow with the load; each line also gives the process's CPU
time.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import machine, parser, record

CACHE = Path(__file__).parent / ".cache"
K = 200  # what the GUI asks for (app/jobs.tag_search_job)
WORDS = ("dog", "beach", "car", "flower", "mountain", "bird", "boat", "bridge", "cake", "tree", "cat", "fish",
         "guitar", "horse", "lamp", "bicycle", "castle", "snow", "sunset", "train", "waterfall", "hammer",
         "clock", "river", "church", "insect", "chair", "pizza", "kitchen", "airplane", "forest", "tiger",
         "violin", "shoe", "window", "desert", "candle", "bottle", "umbrella", "butterfly", "statue", "garden")
STAGES = ("text", "tag_codes", "scan+rank", "rerank", "rerank features", "tower", "paths", "open")
TIMED = ("text", "tag_codes", "rerank", "paths")  # disjoint; "rerank" holds "rerank features" and "tower"


def base_features() -> np.ndarray:
    """Backbone features of the real photos of bench/photos.py (indexed once, cached)."""
    from bench.eval_tags_learn import CACHE as LEARN_CACHE
    from bench.eval_tags_learn import build_library
    from bench.photos import all_bases
    from hashcore.store.db import Store

    db, _ = build_library(all_bases(), LEARN_CACHE / "library")
    with Store(db) as store:
        _, feats = store.features()
    return feats


def build(path: Path, n: int) -> None:
    """n image rows with synthetic real-shaped features, one transaction."""
    from hashcore.store.db import Store

    base = base_features()
    rng = np.random.default_rng(15)
    a, b = rng.integers(0, len(base), n), rng.integers(0, len(base), n)
    w = rng.uniform(0.55, 1.0, (n, 1)).astype(np.float32)
    sigma = 0.15 * base.std(0, keepdims=True)
    with Store(path) as store:
        root = store.add_root(CACHE / "photos")
        now = time.time()
        with store.transaction() as c:
            c.executemany(
                "INSERT INTO images (id, root_id, path, size, mtime, content_hash, status, indexed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, 'ok', ?)",
                ((i + 1, root, f"/photos/{i // 1000:04d}/IMG_{i:07d}.jpg", 3_000_000 + i, now,
                  f"{i:064x}", now) for i in range(n)))
            for start in range(0, n, 10_000):
                sl = slice(start, min(n, start + 10_000))
                f = w[sl] * base[a[sl]] + (1 - w[sl]) * base[b[sl]]
                f = np.maximum(f + sigma * rng.standard_normal(f.shape, np.float32), 0)
                for i, row in zip(range(sl.start, sl.stop), f, strict=True):
                    store.put_features(c, i + 1, row, None)


def library_db(n: int) -> Path:
    path = CACHE / f"tags-{n}.db"
    if not path.exists():
        CACHE.mkdir(exist_ok=True)
        t = time.perf_counter()
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        build(tmp, n)
        tmp.rename(path)
        print(f"built {path} in {time.perf_counter() - t:.0f} s", flush=True)
    return path


class StageClock:
    """Seconds spent in each stage of find_tag, by wrapping the methods it calls."""

    def __init__(self) -> None:
        self.t: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)

    def wrap(self, owner: Any, attr: str, stage: str) -> None:
        real = getattr(owner, attr)
        clock = self

        def timed(*a: Any, **kw: Any) -> Any:
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return real(*a, **kw)
            finally:
                clock.t[stage] += time.perf_counter() - t0
                clock.cpu[stage] += time.process_time() - c0
        setattr(owner, attr, timed)


def code_all(lib: Any) -> int:
    """Tag codes for every photo without one, written in bulk. The rows are the ones
    TagService.tag_codes writes, minus Store.put_codes's per-photo DELETE from `buckets`: that
    table's key (model_id, code, image_id) has no index by image id, so each DELETE scans the
    model's bucket rows and coding 100k new photos that way is quadratic (tens of minutes)."""
    from hashcore.search import bits as bitops

    head, mid = lib.tag_model(), lib.tagging.model_id()
    todo = lib.store.ids_without_code(mid)
    for start in range(0, len(todo), 8192):
        ids, feats = lib.store.features(todo[start:start + 8192])
        blobs = [np.ascontiguousarray(r, dtype="<u8").tobytes() for r in bitops.pack(head.encode(feats))]
        with lib.store.transaction() as c:
            c.executemany("INSERT OR REPLACE INTO codes VALUES (?, ?, ?)",
                          [(int(i), mid, b) for i, b in zip(ids, blobs, strict=True)])
            c.executemany("INSERT OR IGNORE INTO buckets VALUES (?, ?, ?)",
                          [(mid, b, int(i)) for i, b in zip(ids, blobs, strict=True)])
    return len(todo)


def warm(path: Path, words: tuple[str, ...], config: Any) -> tuple[list[float], dict[str, list[float]], list[Any]]:
    """GUI-shaped warm queries; per-stage medians from the same runs."""
    from hashcore.library import Library
    from hashcore.models.manifest import Encoder, library_head_info
    from hashcore.models.textenc import TextEncoder
    from hashcore.store.db import Store
    from hashcore.tags.multimodal import MultimodalSparseHash
    from hashcore.tags.search import TagService

    encoder = Encoder(library_head_info(config))
    with Library(config, db_path=path, encoder=encoder) as lib:  # models load; every photo coded once
        t = time.perf_counter()
        made = code_all(lib)
        print(f"tag codes made for {made:,} photos in {time.perf_counter() - t:.1f} s")
        lib.find_tag(["photo"], K)
    clock = StageClock()
    clock.wrap(TextEncoder, "encode", "text")
    clock.wrap(TagService, "tag_codes", "tag_codes")
    clock.wrap(TagService, "_rerank", "rerank")
    clock.wrap(Store, "features", "rerank features")  # tag codes are cached: only the re-rank reads features
    clock.wrap(MultimodalSparseHash, "image_activations", "tower")
    clock.wrap(Store, "images", "paths")
    times: list[float] = []
    stages: dict[str, list[float]] = defaultdict(list)
    hits: list[Any] = []

    def queries() -> None:
        for word in words:
            clock.t.clear()
            clock.cpu.clear()
            t0, c0 = time.perf_counter(), time.process_time()
            with Library(config, db_path=path, encoder=encoder) as lib:
                t1 = time.perf_counter()
                hits[:] = lib.find_tag([word], K)
            total = time.perf_counter() - t0
            times.append(total)
            stages["cpu"].append(time.process_time() - c0)
            stages["open"].append(t1 - t0)
            inner = total - (t1 - t0)
            for s in (*TIMED, "rerank features", "tower"):
                stages[s].append(clock.t[s])
                stages[f"cpu {s}"].append(clock.cpu[s])
            stages["scan+rank"].append(inner - sum(clock.t[s] for s in TIMED))

    worker = threading.Thread(target=queries)  # the GUI searches in a pool thread, not the main one
    worker.start()
    worker.join()
    assert len(times) == len(words), "the query thread failed (its traceback is above)"
    return times, stages, hits


TAGGED_PHOTOS = 40  # photos a person gave each word of the tagged run


def warm_tagged(path: Path, words: tuple[str, ...], config: Any) -> list[float]:
    """Warm queries for words a person gave TAGGED_PHOTOS photos each (random photos; the tags are
    removed afterwards, so the cached library stays as built): the search scans the library once
    more per seed photo."""
    from hashcore.library import Library

    rng = np.random.default_rng(15)
    with Library(config, db_path=path) as lib:
        ids = np.asarray([r["id"] for r in lib.store.images()], np.int64)
        given = {w: rng.choice(ids, TAGGED_PHOTOS, replace=False).tolist() for w in words}
        for w, chosen in given.items():
            lib.store.add_tags(chosen, [w])
    try:
        times, _, hits = warm(path, words, config)
        assert sum(h.exact_code for h in hits) == TAGGED_PHOTOS, "the person's photos did not come first"
        return times
    finally:
        with Library(config, db_path=path) as lib:
            for w, chosen in given.items():
                lib.store.remove_tags(chosen, [w])


def peers(path: Path, config: Any, repeats: int) -> dict[str, float]:
    """NumPy float cosine over (n, 384) and faiss IndexBinaryFlat over the same codes, top K."""
    from hashcore.library import Library
    from hashcore.tags.search import one_blas_thread

    with Library(config, db_path=path) as lib:
        _, codes, _ = lib.tagging.tag_codes()
    n = len(codes)
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((n, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    qv = vecs[rng.integers(0, n, repeats)] + 0.1
    packed = np.ascontiguousarray(codes.astype("<u8")).view(np.uint8)
    fns: dict[str, Callable[[int], object]] = {}

    def cosine(j: int) -> object:
        s = vecs @ qv[j]
        top = np.argpartition(-s, K)[:K]
        return top[np.argsort(-s[top])]
    fns["numpy float cosine"] = cosine

    def cosine_1t(j: int) -> object:
        with one_blas_thread():
            return cosine(j)
    fns["numpy float cosine, 1 BLAS thread"] = cosine_1t
    faiss: Any
    try:
        import faiss
    except ImportError:
        faiss = None
    if faiss is not None:
        index = faiss.IndexBinaryFlat(packed.shape[1] * 8)
        index.add(packed)
        faiss.omp_set_num_threads(1)
        fns["faiss IndexBinaryFlat"] = lambda j: index.search(packed[j:j + 1], K)
    out: dict[str, list[float]] = defaultdict(list)
    for f in fns.values():
        f(0)
    for j in range(repeats):
        for name, f in fns.items():
            t = time.perf_counter()
            f(j)
            out[name].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in out.items()}


def cold_child(path: str, home: str) -> dict[str, float]:
    """In a fresh interpreter: import, open, first query; the stages that load models."""
    t0, c0 = time.perf_counter(), time.process_time()
    from hashcore.config import Config
    from hashcore.library import Library

    t_import = time.perf_counter()
    with Library(Config(home=Path(home)), db_path=path) as lib:
        t_open = time.perf_counter()
        lib.tag_model()
        t_tag_model = time.perf_counter()
        from hashcore.models.textenc import shared

        shared().encode(["warming"])
        t_text = time.perf_counter()
        hits = lib.find_tag(["dog"], K)
        t_end = time.perf_counter()
    out = {"total": t_end - t0, "cpu": time.process_time() - c0, "import hashcore": t_import - t0,
           "open library": t_open - t_import, "tag model": t_tag_model - t_open,
           "text model (NumPy MiniLM)": t_text - t_tag_model, "query (reads the tag codes)": t_end - t_text,
           "hits": len(hits), "torch imported": "torch" in sys.modules,
           "sentence_transformers imported": "sentence_transformers" in sys.modules}
    t = time.perf_counter()
    import torch  # noqa: F401  (after the timing: what the first query would pay if it needed torch)

    out["import torch (not needed)"] = time.perf_counter() - t
    return out


def cold(path: Path, home: Path, runs: int) -> list[dict[str, float]]:
    out = []
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-m", "bench.bench_tags", "--child", str(path), str(home)],
                              capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent)
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    p = parser(__doc__)
    p.set_defaults(repeats=21)
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--cold", type=int, default=3, help="fresh sessions for the first query")
    p.add_argument("--rankings", type=Path, help="compare the rankings of WORDS with this file (write it if missing)")
    p.add_argument("--child", nargs=2, help=argparse_hidden())
    args = p.parse_args()
    if args.child:
        print(json.dumps(cold_child(*args.child)))
        return
    args.repeats = min(args.repeats, len(WORDS) // 2)
    from hashcore.config import Config
    from hashcore.tags.model import multimodal_info

    print(json.dumps(machine()))
    path = library_db(args.n)
    home = CACHE / "tags-home"
    config = Config(home=home)
    info = multimodal_info(config.models_dir)
    print(f"tag model {info.name} ({info.bits} bits), library {path.name}")
    times, stages, hits = warm(path, WORDS[:args.repeats], config)
    assert len(hits) == K and all(h.path for h in hits), "a query did not return k photos with paths"
    tagged_times = warm_tagged(path, WORDS[args.repeats:2 * args.repeats], config)
    peer = peers(path, config, args.repeats)
    ours = statistics.median(times)
    print("stages (median ms): " + ", ".join(f"{s} {1000 * statistics.median(stages[s]):.1f}" for s in STAGES))
    print("CPU time of stages (median ms): " + ", ".join(
        f"{s} {1000 * statistics.median(stages[f'cpu {s}']):.1f}" for s in (*TIMED, "rerank features", "tower")))
    cos_name = min((k for k in peer if k.startswith("numpy")), key=peer.__getitem__)
    cos = peer[cos_name]
    record(args, f"tag query warm, {args.n:,} photos, k={K} (GUI path)", ours * 1000, cos * 1000, "ms",
           "< 150 ms", ours < 0.150, f"peer: {cos_name} (n, 384) + top {K} (the faster of default and 1 BLAS thread); "
           f"CPU time per query {1000 * statistics.median(stages['cpu']):.0f} ms")
    from hashcore.tags.fusion import MAX_EXAMPLES

    mine = statistics.median(tagged_times)
    record(args, f"tag query warm, a word a person gave {TAGGED_PHOTOS} photos, {args.n:,} photos, k={K}",
           mine * 1000, cos * 1000, "ms", "< 150 ms", mine < 0.150,
           f"peer: {cos_name}; the person's photos are the second ranking's seeds "
           f"(at most {MAX_EXAMPLES}, hashcore/tags/fusion.py)")
    if "faiss IndexBinaryFlat" in peer:
        fa = peer["faiss IndexBinaryFlat"]
        print(f"faiss IndexBinaryFlat top {K} over the same {info.bits}-bit codes: {fa * 1000:.2f} ms; "
              f"ours / faiss = {ours / fa:.1f}")
    sessions = cold(path, home, args.cold)
    first = statistics.median(s["total"] for s in sessions)
    flags = ("hits", "torch imported", "sentence_transformers imported")
    parts = {k: statistics.median(s[k] for s in sessions) for k in sessions[0] if k not in ("total", *flags)}
    record(args, f"tag query first of a session, {args.n:,} photos", first, None, "s", "< 3 s", first < 3.0,
           "; ".join(f"{k} {v:.2f} s" for k, v in parts.items()) +
           "; torch imported: " + str(any(s["torch imported"] for s in sessions)) +
           ", sentence_transformers imported: " + str(any(s["sentence_transformers imported"] for s in sessions)))
    if args.rankings:
        check_rankings(path, config, args.rankings)


def rankings(path: Path, config: Any) -> dict[str, list[list[Any]]]:
    """(id, distance, person-tagged) of the K photos of every word of WORDS, and of two words."""
    from hashcore.library import Library

    out = {}
    with Library(config, db_path=path) as lib:
        for q in [[w] for w in WORDS] + [["dog", "beach"]]:
            for mode in ("any", "all") if len(q) > 1 else ("any",):
                out[f"{'+'.join(q)} {mode}"] = [[h.id, h.distance, h.exact_code] for h in lib.find_tag(q, K, mode)]
    return out


def check_rankings(path: Path, config: Any, file: Path) -> None:
    """The rankings equal those saved in `file` by an earlier run (before a change), or are saved."""
    now = rankings(path, config)
    if not file.is_file():
        file.write_text(json.dumps(now))
        print(f"rankings of {len(now)} queries written to {file}")
        return
    before = json.loads(file.read_text())
    differ = [q for q in now if now[q] != before.get(q)]
    print(f"rankings of {len(now)} queries vs {file}: " + ("identical" if not differ else f"DIFFERENT for {differ}"))


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
