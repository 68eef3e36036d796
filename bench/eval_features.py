"""Extract EfficientNet-Lite0 features for all 70,000 Fashion-MNIST images, once, into a cache.

Usage: nice -n 19 python bench/eval_features.py [--size 224] [--threads 1] [--batch 64] [--test-only]
Writes .cache/fmnist_features_<size>.npz with `features` (70000, 1280) float16, `labels`; with
--test-only, .cache/fmnist_features_<size>_test.npz with the 10,000 test images only (rows 60000:),
all that `bench/eval_tags.py eval` needs without --unlabelled-fmnist.
Resumable: partial results are kept in .cache/fmnist_features_<size>.partial.npz.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--limit", type=int, default=0, help="only this many images (timing runs)")
    ap.add_argument("--test-only", action="store_true", help="only the 10,000 test images")
    args = ap.parse_args()

    import torch
    from torch.nn import functional as F

    from bench.datasets import load_fashion_mnist
    from hashcore.models.backbone import Backbone

    torch.set_num_threads(args.threads)
    images, labels = load_fashion_mnist()
    suffix = "_test" if args.test_only else ""
    if args.test_only:
        images, labels = images[60000:], labels[60000:]
    n = args.limit or len(images)
    out = ROOT / ".cache" / f"fmnist_features_{args.size}{suffix}.npz"
    partial = ROOT / ".cache" / f"fmnist_features_{args.size}{suffix}.partial.npz"
    feats = np.zeros((n, 1280), np.float16)
    start = 0
    if partial.exists() and not args.limit:
        with np.load(partial) as z:
            start = int(z["done"])
            feats[:start] = z["features"][:start]
    bb = Backbone(threads=args.threads)
    t0 = time.time()
    for i in range(start, n, args.batch):
        # Same as hashcore.models.backbone.preprocess_array (PIL bilinear resize, grey -> 3 channels,
        # (x-0.5)/0.5), done on the whole batch at once.
        x = torch.from_numpy(images[i:i + args.batch].astype(np.float32) / 127.5 - 1.0)[:, None]
        x = F.interpolate(x, size=(args.size, args.size), mode="bilinear", align_corners=False,
                          antialias=False).expand(-1, 3, -1, -1).contiguous()
        f, _ = bb.embed_tensor(x)
        feats[i:i + len(f)] = f.astype(np.float16)
        done = i + len(f)
        if done // 2000 != (done - len(f)) // 2000 or done == n:
            rate = (time.time() - t0) / max(done - start, 1)
            sys.stdout.write(f"{done}/{n} {rate * 1000:.1f} ms/image, eta {(n - done) * rate / 60:.1f} min\n")
            sys.stdout.flush()
            if not args.limit and (done // 10000 != (done - len(f)) // 10000):
                np.savez(partial, features=feats, done=done)
    if args.limit:
        return
    np.savez(out, features=feats, labels=labels[:n], size=args.size)
    partial.unlink(missing_ok=True)
    sys.stdout.write(f"wrote {out}\n")


if __name__ == "__main__":
    main()
