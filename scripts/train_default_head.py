"""Rebuild the shipped default hashing heads (32, 64 and 128 bits) from real photos.

Training photos: the public-domain samples in resources/samples plus one copy of each distinct
photograph in Debian's mate-backgrounds and plasma-workspace-wallpapers (those packages ship
several resolutions of each picture; one is kept). Features of each photo, 24 random views and
6 near-duplicate variants are computed once and cached in .cache/train-photos.npz.

    python scripts/train_default_head.py [--method itq]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hashcore.cli import main as hashcore  # noqa: E402
from tests.photos import source_photos  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", default="itq")
    args = ap.parse_args()
    cache = ROOT / ".cache"
    photos = cache / "train-set"
    feats = cache / "train-photos.npz"
    if not feats.exists():
        shutil.rmtree(photos, ignore_errors=True)
        photos.mkdir(parents=True)
        for n, src in enumerate(source_photos()):
            (photos / f"{n:03d}{src.suffix}").symlink_to(src)
        rc = hashcore(["--bits", "64", "train", "--method", args.method, "--photos", str(photos),
                       "--views", "24", "--variants", "6", "--save-features", str(feats),
                       "--out", str(ROOT / "resources" / "models"), "--default"])
        if rc:
            return rc
    for bits in ("32", "64", "128"):
        rc = hashcore(["--bits", bits, "train", "--method", args.method, "--features", str(feats),
                       "--out", str(ROOT / "resources" / "models"), "--default"])
        if rc:
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
