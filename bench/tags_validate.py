"""A validation split inside the tag benchmark's training pool, for choosing how the tag model trains.

    python -m bench.tags_validate                          # the shipped settings, split seed 15
    python -m bench.tags_validate --split 16 --synth-share 0.7 --seed 1

The training pool's own rows (`eval_tags_real --pool train`) rank photos the model trained on, so they
flatter any change to training. Here a share of the training pool's photos (30%, by --split) is held
back: the tag model trains on the rest (its photos, their 2 edits and the cached copy-hash edits, as
`eval_tags_real ship` does) and ranks the held-back photos for the queries that have one of them,
as the app ranks (phrase reading, kinds, automatic tags first, neighbour fusion). The held-out pool is
never read. A run takes about two minutes on two cores; the split is small (51 photos, 60-70
queries), so compare settings over several splits and seeds: seed noise alone moves hit@5 by about 0.04.
"""

from __future__ import annotations

import argparse
import glob

import numpy as np

from bench import eval_tags_real as E

SHARE = 0.3  # of the training pool's photos held back


def split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], dict[str, list[str]]]:
    """(training features, held-back photos' features, their class probabilities, their ids, queries)."""
    from bench import photos

    bases = [b.id for b in photos.training_pool()]
    back = set(np.random.default_rng(seed).choice(len(bases), int(SHARE * len(bases)), replace=False).tolist())
    d = E.photo_features("train")
    index = {b: i for i, b in enumerate(bases)}
    rows = np.array([index[str(i)] for i in d["ids"]])
    held = np.isin(rows, sorted(back))
    feats = [d["features"][~held]]
    for path in sorted(glob.glob(str(E.ROOT / ".cache" / "copyhash" / "train-*.npz"))):
        with np.load(path, allow_pickle=False) as z:
            feats.append(z["feature"][~np.isin(z["photo"], sorted(back))].astype(np.float32))
    keep = held & (d["view"] == 0)
    ids = [str(i) for i in d["ids"][keep]]
    every: dict[str, list[str]] = E.truth_from_names(pool="train")["queries"]  # type: ignore[assignment]
    queries = {w: [p for p in ps if p in ids] for w, ps in every.items()}
    return np.concatenate(feats), d["features"][keep], d["probs"][keep], ids, {w: p for w, p in queries.items() if p}


def run(args: argparse.Namespace) -> dict[str, float]:
    from hashcore.tags import transfer as tr
    from hashcore.tags.kinds import query_vectors
    from hashcore.tags.phrase import read

    train, feats, probs, ids, truth = split(args.split)
    head = E.train_head(train, tr.TransferParams(bits=args.bits, steps=args.steps, seed=args.seed,
                                                      synth_share=args.synth_share, w_i2t=args.w_i2t, temp=args.temp))
    queries = sorted(truth)
    pos = {p: n for n, p in enumerate(ids)}
    rel = np.zeros((len(queries), len(ids)), bool)
    for n, q in enumerate(queries):
        rel[n, [pos[p] for p in truth[q]]] = True
    typed = [read(q) for q in queries]
    m = E.metrics(E.app_scores(head, feats, probs, typed, query_vectors(head, typed, E.embed(typed))), rel)
    c = E.metrics(E.conse_scores(probs, E.embed(queries)), rel)
    print(f"\nsplit {args.split}, {len(queries)} queries, {len(ids)} held-back photos, {vars(args)}")
    print("as the app ranks: " + ", ".join(f"{k} {v:.3f}" for k, v in m.items()))
    print("ConSE float:      " + ", ".join(f"{k} {v:.3f}" for k, v in c.items()))
    return m


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", type=int, default=15, help="seed of the held-back photos")
    ap.add_argument("--seed", type=int, default=0, help="training seed")
    ap.add_argument("--bits", type=int, default=384)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--synth-share", type=float, default=0.5)
    ap.add_argument("--w-i2t", type=float, default=0.5)
    ap.add_argument("--temp", type=float, default=0.0, help="0: bits / 48")
    run(ap.parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
