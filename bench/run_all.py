"""Run every benchmark and write bench/RESULTS.md and bench/RESULTS.json (`make bench`).

Usage: python -m bench.run_all [--full] [--only scan,mih,dups,store,index,startup]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from bench.common import machine

HERE = Path(__file__).parent
SCRIPTS = {"scan": "bench.bench_scan", "mih": "bench.bench_mih", "dups": "bench.bench_dups",
           "store": "bench.bench_store", "index": "bench.bench_index", "startup": "bench.bench_startup"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--full", action="store_true")
    p.add_argument("--only", default=",".join(SCRIPTS))
    args = p.parse_args()
    facts = machine()
    lines = HERE / "results.jsonl"
    lines.unlink(missing_ok=True)
    start = time.time()
    for key in args.only.split(","):
        cmd = [sys.executable, "-m", SCRIPTS[key], "--json", str(lines)] + (["--full"] if args.full else [])
        print("$", " ".join(cmd[1:]), flush=True)
        subprocess.run(cmd, check=True)
    results = [json.loads(x) for x in lines.read_text().splitlines()]
    lines.unlink()
    (HERE / "RESULTS.json").write_text(json.dumps(
        [{k: r[k] for k in ("name", "ours", "peer", "unit", "ratio", "target")} | {"met": r["met"]}
         for r in results], indent=1) + "\n")
    command = "make bench" + (" BENCH_ARGS=--full" if args.full else "") + \
        f"  (python -m bench.run_all {' '.join(sys.argv[1:])})".rstrip()
    (HERE / "RESULTS.md").write_text(render(results, facts, command, time.time() - start))


def render(results: list[dict], facts: dict, command: str, seconds: float) -> str:
    out = ["# Benchmark results", "",
           f"Command: `{command}`, {seconds / 60:.1f} min, {time.strftime('%Y-%m-%d %H:%M')}.", "",
           "Machine: " + "; ".join(f"{k} {v}" for k, v in facts.items()) + ".", "",
           "Times are medians; ratio = ours / peer (lower is better), peer measured in the same run.", "",
           "| benchmark | ours | peer | unit | ratio | target | met | notes |",
           "|---|---|---|---|---|---|---|---|"]
    for r in results:
        met = {True: "yes", False: "**MISSED**", None: "-"}[r["met"]]
        out.append(f"| {r['name']} | {r['ours']} | {r['peer'] if r['peer'] is not None else '-'} | {r['unit']} "
                   f"| {r['ratio'] if r['ratio'] is not None else '-'} | {r['target']} | {met} | {r['note']} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
