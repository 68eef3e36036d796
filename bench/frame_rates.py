"""How often the frame detector (hashcore/ingest/frame.py) finds a photo box, per edit family, in a
folder that `python -m bench.eval_dups --keep DIR` wrote, and what it costs per decoded file. Where
its settings were checked: screenshots should be found, originals and most other edits not.

    python -m bench.eval_dups --pool train --limit 80 --jobs 2 --keep /tmp/dtrain   # once
    python -m bench.frame_rates /tmp/dtrain
"""

from __future__ import annotations

import statistics
import time
from collections import Counter

from bench.common import kept_folder
from hashcore.ingest.decode import decode_file
from hashcore.ingest.frame import photo_box


def main(argv: list[str] | None = None) -> int:
    folder, listing = kept_folder(__doc__, argv)
    found, files, took = Counter(), Counter(), []
    for f in listing:
        img = decode_file(folder / "photos" / f["name"]).image  # as the indexer decodes it
        t = time.perf_counter()
        box = photo_box(img)
        took.append(time.perf_counter() - t)
        files[f["family"]] += 1
        found[f["family"]] += box is not None
    for family in sorted(files):
        print(f"{family:18s} {found[family]:3d} of {files[family]:3d} files boxed")
    print(f"median {1000 * statistics.median(took):.1f} ms per decoded file")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
