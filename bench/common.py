"""Shared benchmark helpers: interleaved timing, machine facts, and result records.

Each benchmark script times our code and its peer in the same run, alternating them so that
load from other processes on a shared machine hits both alike, and reports medians and the
ratio ours / peer. Results go to stdout and, with --json PATH, are appended to a JSON-lines file
that bench/run_all.py turns into RESULTS.md and RESULTS.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

THREADS = min(os.cpu_count() or 1, 8)


def kept_folder(doc: str | None, argv: list[str] | None = None) -> tuple[Path, list[dict[str, Any]]]:
    """The folder named on the command line, written by `python -m bench.eval_dups --keep DIR`,
    and its list of files (name, base photo, edit family, parameters), for the scripts that
    measure something over such a folder."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path, help="a folder written by bench.eval_dups --keep")
    folder = ap.parse_args(argv).folder
    return folder, json.loads((folder / "files.json").read_text())


def parser(doc: str | None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc)
    p.add_argument("--full", action="store_true", help="also run the 10M-code sizes (minutes, GBs)")
    p.add_argument("--json", type=Path, help="append result records (JSON lines) to this file")
    p.add_argument("--repeats", type=int, default=5)
    return p


def faiss_threads() -> Any:
    import faiss
    faiss.omp_set_num_threads(THREADS)
    return faiss


def faiss_at(faiss, threads: int, fn: Callable[..., object]) -> Callable[..., object]:
    """fn, run with faiss's OpenMP pool at `threads` threads.

    On a loaded, shared machine OpenMP with 2 threads can be many times slower than 1 (its
    threads spin and wait for a busy core), so benchmarks time faiss both ways and compare
    against the faster: the conservative ratio for us.
    """
    def call(*a: object) -> object:
        faiss.omp_set_num_threads(threads)
        return fn(*a)
    return call


def peer_best(t: dict[str, float], prefix: str = "faiss") -> tuple[float, str]:
    name = min((k for k in t if k.startswith(prefix)), key=t.__getitem__)
    return t[name], name


def interleaved(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each function, run in turn `repeats` times (one warm-up first)."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for f in fns.values():
        f()
    for _ in range(repeats):
        for name, f in fns.items():
            t = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def per_query(fns: dict[str, Callable[[Any], object]], queries: Any, repeats: int = 3) -> dict[str, float]:
    """Median over queries of each function's best-of-`repeats` time for that query."""
    out: dict[str, list[float]] = {k: [] for k in fns}
    for q in queries:
        best = {k: float("inf") for k in fns}
        for _ in range(repeats):
            for name, f in fns.items():
                t = time.perf_counter()
                f(q)
                best[name] = min(best[name], time.perf_counter() - t)
        for k, v in best.items():
            out[k].append(v)
    return {k: statistics.median(v) for k, v in out.items()}


def record(args: argparse.Namespace, name: str, ours: float, peer: float | None, unit: str,
           target: str, met: bool | None, note: str = "") -> dict[str, Any]:
    """Print one result and append it to --json; ratio is ours / peer."""
    ratio = None if not peer else ours / peer
    rec = {"name": name, "ours": _round(ours), "peer": _round(peer), "unit": unit,
           "ratio": _round(ratio), "target": target, "met": met, "note": note}
    shown = f"{ratio:.3f}" if ratio is not None else "-"
    print(f"{name:58s} ours={rec['ours']} peer={rec['peer']} {unit} ratio={shown} "
          f"target {target}: {'MET' if met else 'MISSED' if met is not None else '-'} {note}", flush=True)
    if args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps(rec) + "\n")
    return rec


def _round(x: float | None) -> float | None:
    return None if x is None else float(f"{x:.4g}")


def machine() -> dict[str, str]:
    import numpy as np
    cpu = platform.processor()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    facts = {"nproc": str(os.cpu_count()), "cpu": cpu, "python": platform.python_version(),
             "numpy": np.__version__}
    try:
        import faiss
        facts["faiss"] = faiss.__version__
    except ImportError:
        facts["faiss"] = "not installed"
    try:
        facts["load average at start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        pass
    return facts


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MiB, from /proc/self/status."""
    cur = peak = 0.0
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            cur = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return cur, peak
