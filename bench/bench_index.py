"""Target 5: indexing throughput end to end (decode, backbone, head, SQLite write) on a folder of
12-megapixel JPEGs made from real photos, against imagehash's pHash (Pillow, one process) on the
same files. Ratio = our seconds per photo / pHash's seconds per photo (target <= 0.5, i.e. at
least 2x the photos per second). Both read from a warm file cache; our model is loaded before
the clock starts (model load is start-up, measured by bench_startup)."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.common import parser, record, rss_mb

CACHE = Path(__file__).parent / ".cache"
ROOT = Path(__file__).resolve().parent.parent


def make_folder(n: int) -> Path:
    """n 4000x3000 JPEGs (quality 92) upscaled from the real photos the tests use."""
    sys.path.insert(0, str(ROOT))
    from PIL import Image

    from tests.photos import source_photos
    folder = CACHE / f"12mp-{n}"
    if folder.exists() and len(list(folder.glob("*.jpg"))) == n:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    sources = source_photos()
    for i in range(n):
        img = Image.open(sources[i % len(sources)]).convert("RGB")
        big = img.resize((4000, 3000), Image.Resampling.BICUBIC)
        if i >= len(sources):
            big = big.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        big.save(folder / f"IMG_{i:04d}.jpg", quality=92)
    return folder


def phash_folder(files: list[Path]) -> float:
    import imagehash
    from PIL import Image
    t = time.perf_counter()
    for p in files:
        with Image.open(p) as im:
            imagehash.phash(im)
    return time.perf_counter() - t


def ours_folder(folder: Path, encoder) -> float:
    from hashcore.config import Config
    from hashcore.library import Library
    with tempfile.TemporaryDirectory() as tmp:
        with Library(Config(home=Path(tmp)), db_path=Path(tmp) / "lib.db", encoder=encoder) as lib:
            t = time.perf_counter()
            report = lib.index([folder])
            took = time.perf_counter() - t
    assert report.indexed == len(list(folder.glob("*.jpg"))), report.errors
    return took


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--photos", type=int, default=24)
    args = p.parse_args()
    from hashcore.models.manifest import Encoder, head_info
    folder = make_folder(args.photos)
    files = sorted(folder.glob("*.jpg"))
    encoder = Encoder(head_info(64))
    from PIL import Image
    encoder.codes(encoder.embed([Image.new("RGB", (224, 224))])[0])  # load the model off the clock
    phash_folder(files[:4])  # warm the file cache and imagehash's imports
    ours, peer = [], []
    for _ in range(max(args.repeats // 2, 2)):
        peer.append(phash_folder(files))
        ours.append(ours_folder(folder, encoder))
    n = len(files)
    o, q = statistics.median(ours) / n, statistics.median(peer) / n
    _, peak = rss_mb()
    record(args, f"5 indexing, {n} x 12 MP JPEG, vs imagehash pHash", o, q, "s/photo",
           "<= 0.5 (>= 2x pHash photos/s)", o / q <= 0.5,
           f"ours {1 / o:.1f} photos/s, pHash {1 / q:.1f} photos/s; peak RSS {peak:.0f} MB (whole bench process)")


if __name__ == "__main__":
    main()
