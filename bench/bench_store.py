"""Targets 3, 6 and 8 on a SQLite library of 1M synthetic photos (built once, cached).

3: radius-0 lookup through the bucket table (Store.bucket), per query.
6: resident memory of a process that opens the library and searches it (codes in memory);
   and the in-memory size of 10M 64-bit codes in the scan (--full).
8: the duplicate finder's engine work at 1M photos (code join + grouping), time and peak memory.
Every measurement of memory runs in a fresh subprocess, so one does not inflate another.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import parser, record, rss_mb
from bench.synth import library_codes, queries

CACHE = Path(__file__).parent / ".cache"
N = 1_000_000


def build(path: Path, n: int) -> None:
    """A real Store file: n image rows, their 64-bit codes and bucket rows, one transaction."""
    from hashcore.store.db import Store
    codes = library_codes(n, 64, seed=21)
    with Store(path) as store:
        root = store.add_root(CACHE / "photos")
        model = store.ensure_model("bench-64", "itq", 64, "0" * 64)
        now = time.time()
        with store.transaction() as c:
            c.executemany(
                "INSERT INTO images (id, root_id, path, size, mtime, content_hash, status, indexed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, 'ok', ?)",
                ((i + 1, root, f"/photos/{i // 1000:04d}/IMG_{i:07d}.jpg", 3_000_000 + i, now,
                  f"{i:064x}", now) for i in range(n)))
            store.put_codes(c, model, range(1, n + 1), codes)


def library_db(n: int = N) -> Path:
    path = CACHE / f"library-{n}.db"
    if not path.exists():
        CACHE.mkdir(exist_ok=True)
        t = time.perf_counter()
        build(path.with_suffix(".tmp"), n)
        path.with_suffix(".tmp").rename(path)
        print(f"built {path} in {time.perf_counter() - t:.0f} s", flush=True)
    return path


def child(kind: str, path: str) -> dict:
    """Run in a fresh interpreter; prints one JSON line."""
    from hashcore.search.scan import CodeIndex
    from hashcore.store.db import Store
    base, _ = rss_mb()
    if kind == "search":
        with Store(path) as store:
            model = store.conn.execute("SELECT id FROM models").fetchone()[0]
            ids, codes = store.codes(model)
            index = CodeIndex(ids, codes, 64)
            for q in queries(codes, 20, 64):
                index.topk(q, 100)
                index.radius(q, 6)
        cur, peak = rss_mb()
        return {"rss": cur, "peak": peak, "base": base}
    if kind == "codes10m":
        codes = library_codes(10_000_000, 64, seed=3)
        before, _ = rss_mb()
        ids = np.arange(1, len(codes) + 1)
        index = CodeIndex(ids, codes, 64)
        del ids
        for q in queries(codes, 5, 64):
            index.topk(q, 100)
        cur, _ = rss_mb()
        ids_mb = 0.0 if index.ids is None else index.ids.nbytes / 2**20
        return {"index_mb": cur - before + codes.nbytes / 2**20, "codes_mb": codes.nbytes / 2**20,
                "ids_mb": ids_mb, "scan": type(index.backend).__name__}
    if kind == "dups":
        from hashcore.search import dups
        with Store(path) as store:
            model = store.conn.execute("SELECT id FROM models").fetchone()[0]
            t = time.perf_counter()
            ids, codes = store.codes(model)
            t_load = time.perf_counter() - t
            groups = dups.near_groups(ids, codes, None, 64, 6, 0.8)
            total = time.perf_counter() - t
        _, peak = rss_mb()
        return {"seconds": total, "load": t_load, "groups": len(groups), "peak": peak}
    raise ValueError(kind)


def in_child(kind: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.bench_store", "--child", kind, str(path)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--child", nargs=2)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    path = library_db()
    from hashcore.store.db import Store
    with Store(path) as store:
        model = store.conn.execute("SELECT id FROM models").fetchone()[0]
        ids, codes = store.codes(model)
        qs = codes[np.random.default_rng(0).integers(0, len(codes), 2000)]
        store.bucket(model, qs[0])
        times = []
        for q in qs:
            t = time.perf_counter()
            store.bucket(model, q)
            times.append(time.perf_counter() - t)
    med = float(np.median(times)) * 1e3
    record(args, "3 radius-0 via SQLite buckets, 1M photos", med, None, "ms/query", "< 1 ms", med < 1.0,
           f"median of {len(qs)} lookups (p99 {np.percentile(times, 99) * 1e3:.3f} ms)")
    m = in_child("search", path)
    record(args, "6 search process RSS, 1M photos", m["rss"], None, "MB", "< 300 MB", m["rss"] < 300,
           f"whole process after load + 40 searches (interpreter + NumPy + SQLite alone: {m['base']:.0f} MB; "
           f"peak {m['peak']:.0f} MB)")
    if args.full:
        m = in_child("codes10m", path)
        record(args, "6 scan index of 10M x 64-bit codes", m["index_mb"], None, "MB", "80 MB + small",
               m["index_mb"] < 80 + 16, f"codes {m['codes_mb']:.0f} MB + ids {m['ids_mb']:.0f} MB (one unbroken "
               f"run of ids is kept as a range) + per-query buffers; {m['scan']}")
    m = in_child("dups", path)
    record(args, "8 duplicates engine, 1M photos (r=6, codes only)", m["seconds"], None, "s", "< 60 s",
           m["seconds"] < 60, f"{m['groups']} groups; load codes {m['load']:.1f} s; peak RSS {m['peak']:.0f} MB; "
           "no features in the synthetic DB (see README)")


if __name__ == "__main__":
    main()
