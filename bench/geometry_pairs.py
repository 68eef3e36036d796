"""The geometric check's numbers over every pair of one photo's files (photo-copy and copy-copy
pairs) of a folder that `python -m bench.eval_dups --keep DIR` wrote, and over the pool's pairs of
second shots of one scene (bench/photos.py SCENES, held-out pool only). This is where the two-shots
threshold (hashcore/search/geometry.py Rule.moved) and the one-layout test (Rule.unlike) were read
off, on the training pool:

    python -m bench.eval_dups --pool train --limit 80 --jobs 2 --keep /tmp/dtrain   # once
    python -m bench.geometry_pairs /tmp/dtrain
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np

from bench.common import kept_folder
from bench.photos import SCENES
from hashcore.ingest.decode import decode_file
from hashcore.search import geometry as geo


def main(argv: list[str] | None = None) -> int:
    folder, files = kept_folder(__doc__, argv)
    by_base: dict[str, list[dict]] = defaultdict(list)
    for f in files:
        by_base[f["base"]].append(f)
    points: dict[str, geo.Keypoints] = {}

    def pts(name: str) -> geo.Keypoints:
        if name not in points:
            points[name] = geo.keypoints(decode_file(folder / "photos" / name, target=geo.SIDE // 2).image)
        return points[name]

    rule = geo.Rule()
    moved, two, unlike = [], 0, 0
    for fs in by_base.values():
        for x, y in itertools.combinations(fs, 2):
            m = geo.match(pts(x["name"]), pts(y["name"]))
            two += rule.two_shots(m)
            unlike += rule.unlike(m)
            if m.inliers >= geo.MOVE_INLIERS and m.cells >= rule.moved_cells:
                moved.append(m.moved)
    n = sum(len(fs) * (len(fs) - 1) // 2 for fs in by_base.values())
    v = np.array(moved)
    print(f"{n} pairs of one photo's files: {len(v)} with >= {geo.MOVE_INLIERS} inliers and >= {rule.moved_cells} "
          f"cells measured; share of cells moved: max {v.max():.3f}, 99.5th percentile {np.percentile(v, 99.5):.3f}, "
          f"99th {np.percentile(v, 99):.3f}; called two shots: {two} (threshold {rule.moved}); called two photos of one "
          f"layout: {unlike} (Rule.unlike)")
    origs = {f["base"]: f["name"] for f in files if f["family"] == "original"}
    for a, b in itertools.combinations(sorted(origs), 2):
        if SCENES.get(a) is not None and SCENES.get(a) == SCENES.get(b):
            m = geo.match(pts(origs[a]), pts(origs[b]))
            print(f"second shots {a} ~ {b}: {m.inliers} inliers, {m.moved:.2f} of {m.cells} cells moved, "
                  f"inside {m.inside:.2f}, scale {m.scale:.2f}, {m.inliers / max(m.shared, 1):.2f} of the shared "
                  f"matches on it, {m.agree:.2f} of cells agreeing: "
                  f"{'two shots' if rule.two_shots(m) else 'one layout' if rule.unlike(m) else 'not told'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
