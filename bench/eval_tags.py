"""Tag -> image search: train the shipped multimodal SparseHash model, and evaluate it.

    python bench/eval_tags.py ship --unlabelled-fmnist --real-repeat 10 --steps 1200
                                        # trains resources/models/multimodal-384.npz (the shipped one)
    python bench/eval_tags.py eval --size 224 --learn-steps 400
                                        # Fashion-MNIST mAP table, docs/results_tags.md

Evaluation (issue 5): queries are the 10 Fashion-MNIST class names and common synonyms; the
database is the 10,000 test images (backbone features at --size px, 224 being the app's and issue
4's protocol, cached by bench/eval_features.py; ImageNet probabilities from the backbone's own
classifier layer over those cached features).
  - out of the box: the shipped model, no Fashion-MNIST label seen anywhere;
  - learning from the user: 10% of the database carries its class name as a tag, the model is
    retrained from them (hashcore.tags.multimodal.learn_from_tags, the code the app runs, with the
    everyday words of textenc.everyday_words), and mAP is taken over the untagged 90%.
Baselines in the same run: (a) ImageNet probabilities bridged to the query by MiniLM similarity
to the class names (no hashing); (b) CCA + ITQ, a linear cross-modal hash trained on the same
data as the shipped model (and, after learning, on the same tags).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hashcore.models.textenc import everyday_words, normalise_tag, shared  # noqa: E402
from hashcore.tags import multimodal as mm  # noqa: E402

CACHE = ROOT / ".cache"
FMNIST_TAGS = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"]
QUERIES = {0: ["t-shirt", "top", "tee"], 1: ["trouser", "pants", "trousers"], 2: ["pullover", "sweater", "jumper"],
           3: ["dress", "gown"], 4: ["coat", "jacket"], 5: ["sandal", "flip-flop"], 6: ["shirt", "blouse"],
           7: ["sneaker", "running shoe", "trainers"], 8: ["bag", "handbag"], 9: ["ankle boot", "boot"]}


def embed(texts: list[str]) -> np.ndarray:
    """MiniLM vectors, cached on disk by text (the model takes seconds to load on a busy machine)."""
    path = CACHE / "tags_text_emb.npz"
    known: dict[str, np.ndarray] = {}
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            known = dict(zip(json.loads(bytes(z["texts"]).decode()), z["emb"], strict=True))
    todo = [t for t in {normalise_tag(t) for t in texts} if t and t not in known]
    if todo:
        known.update(zip(todo, shared().encode(todo), strict=True))
        keys = sorted(known)
        np.savez(path, texts=np.frombuffer(json.dumps(keys).encode(), np.uint8),
                 emb=np.stack([known[k] for k in keys]).astype(np.float32))
    zero = np.zeros(384, np.float32)
    return np.stack([known.get(normalise_tag(t), zero) for t in texts]).astype(np.float32)


def ship(args: argparse.Namespace) -> None:
    from hashcore.models.manifest import HeadInfo
    from hashcore.tags.model import record_multimodal

    vocab = mm.load_vocabulary()
    emb = embed(vocab.texts)
    with np.load(CACHE / "train-photos.npz") as z:
        real = z["x"].astype(np.float32)
    if args.unlabelled_fmnist:
        # unlabelled photos of another domain (Fashion-MNIST *train* split, labels never read):
        # only their features and the backbone's own probabilities are used
        with np.load(CACHE / f"fmnist_features_{args.size}.npz") as z:
            extra = z["features"][:60000:3].astype(np.float32)
        # the 1,209 real-photo views repeated so that they are not drowned by the 20,000 (with
        # the plain pool, "coffee" no longer finds the coffee photo in tests/core/test_tags.py)
        real = np.concatenate([np.repeat(real, args.real_repeat, 0), extra])
    fc = mm.classifier_weights()
    params = mm.TrainParams(steps=args.steps, seed=args.seed, blocks=args.blocks)
    t0 = time.time()
    head = mm.train_shipped(real, vocab, emb, params, fc, progress=progress)
    name = f"multimodal-{head.bits}"
    out = ROOT / "resources" / "models" / f"{name}.npz"
    sha = head.save(out)
    record_multimodal(HeadInfo(name, out, head.method, head.bits, sha), out.parent)
    sys.stdout.write(f"\ntrained in {time.time() - t0:.0f}s -> {out} sha256 {sha[:12]}\n")


def progress(done: int, total: int, text: str) -> None:
    sys.stderr.write(f"\r{done}/{total} {text}   ")


# --- metrics -----------------------------------------------------------------------------------


def average_precision(order: np.ndarray, rel: np.ndarray) -> float:
    r = rel[order]
    hits = np.cumsum(r)
    n = int(r.sum())
    return float((hits[r] / (np.flatnonzero(r) + 1)).sum() / n) if n else 0.0


def mean_ap(scores: np.ndarray, labels: np.ndarray, q_labels: list[int]) -> float:
    """scores (Q, N): higher is better (ties broken by a fixed random order)."""
    rng = np.random.default_rng(0)
    perm = rng.permutation(scores.shape[1])
    aps = []
    for s, c in zip(scores, q_labels, strict=True):
        order = perm[np.argsort(-s[perm], kind="stable")]
        aps.append(average_precision(order, labels == c))
    return float(np.mean(aps))


def hash_scores(head: mm.MultimodalSparseHash, x: np.ndarray, q_emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(-Hamming, -Hamming with activation tie-break) of each query text code to each photo."""
    ai, at = head.image_activations(x), head.text_activations(q_emb)
    bi, bt = ai > head.threshold, at > head.threshold
    ham = (bt[:, None, :] != bi[None, :, :]).sum(-1).astype(np.float32)
    l1 = np.abs(at[:, None, :] - ai[None, :, :]).sum(-1)
    return -ham, -(ham + l1 / (l1.max() + 1))


def bridge_scores(probs: np.ndarray, q_emb: np.ndarray, vocab: mm.Vocabulary, temp: float = 0.05) -> np.ndarray:
    """Baseline (a): sum_c p(c | photo) w_c(query), w = softmax over classes of the best MiniLM
    cosine between the query and any of the class's names."""
    lemmas = [[lm.lower() for lm in ls[:4]] for ls in vocab.class_lemmas]
    flat = [lm for ls in lemmas for lm in ls]
    e = embed(flat)
    owner = np.repeat(np.arange(len(lemmas)), [len(ls) for ls in lemmas])
    cos = q_emb @ e.T
    best = np.full((len(q_emb), len(lemmas)), -1.0, np.float32)
    np.maximum.at(best.T, owner, cos.T)
    w = np.exp((best - best.max(1, keepdims=True)) / temp)
    w /= w.sum(1, keepdims=True)
    return w @ probs.T


# --- baseline (b): CCA + ITQ -------------------------------------------------------------------


def cca(x: np.ndarray, y: np.ndarray, dim: int, reg: float = 1e-2) -> tuple[np.ndarray, ...]:
    mx, my = x.mean(0), y.mean(0)
    xc, yc = x - mx, y - my
    n = len(x)
    cxx = xc.T @ xc / n + reg * np.eye(x.shape[1])
    cyy = yc.T @ yc / n + reg * np.eye(y.shape[1])
    cxy = xc.T @ yc / n

    def inv_sqrt(c: np.ndarray) -> np.ndarray:
        w, v = np.linalg.eigh(c)
        return (v / np.sqrt(np.maximum(w, 1e-9))) @ v.T

    ix, iy = inv_sqrt(cxx), inv_sqrt(cyy)
    u, _, vt = np.linalg.svd(ix @ cxy @ iy)
    return mx, ix @ u[:, :dim], my, iy @ vt.T[:, :dim]


def itq_rotation(v: np.ndarray, iters: int = 50, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    r, _ = np.linalg.qr(rng.standard_normal((v.shape[1], v.shape[1])))
    for _ in range(iters):
        b = np.sign(v @ r)
        u, _, vt = np.linalg.svd(b.T @ v)
        r = (u @ vt).T
    return r


class CcaItq:
    """Linear cross-modal hash: CCA of paired (image input, text vector), then one ITQ rotation
    over both projected modalities; bit = sign."""

    def __init__(self, xi: np.ndarray, yt: np.ndarray, bits: int = 64) -> None:
        self.mx, self.wx, self.my, self.wy = cca(xi, yt, bits)
        v = np.concatenate([(xi - self.mx) @ self.wx, (yt - self.my) @ self.wy])
        self.r = itq_rotation(v)

    def img(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mx) @ self.wx @ self.r) > 0

    def txt(self, y: np.ndarray) -> np.ndarray:
        return ((y - self.my) @ self.wy @ self.r) > 0


def cca_pairs_shipped(real: np.ndarray, fc: tuple[np.ndarray, np.ndarray], vocab: mm.Vocabulary,
                      emb: np.ndarray, n: int = 40000) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The shipped model's training data as (standardised logits, text vector) pairs: each photo
    (real or synthetic) paired with a text naming its most likely class."""
    amap = mm.logit_map(fc)
    logits = real @ amap[0] + amap[1]
    draw = mm.synthetic_logits(logits)
    rng = np.random.default_rng(0)
    xs, qs = draw(rng, n)
    xr = np.concatenate([mm.standardise(logits), xs])
    qr = np.concatenate([mm.probs_from_features(real, fc), qs])
    by_class: dict[int, list[int]] = {}
    for t, cs in enumerate(vocab.concepts):
        for c in cs:
            by_class.setdefault(c, []).append(t)
    top = qr.argmax(1)
    ty = np.stack([emb[rng.choice(by_class[int(c)])] for c in top])
    return xr.astype(np.float64), ty.astype(np.float64), amap


def test_features(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 Fashion-MNIST test images' features: from the full cache of
    bench/eval_features.py, or from its --test-only cache."""
    full, test = CACHE / f"fmnist_features_{size}.npz", CACHE / f"fmnist_features_{size}_test.npz"
    if full.exists():
        with np.load(full) as z:
            return z["features"][60000:].astype(np.float32), z["labels"][60000:]
    with np.load(test) as z:
        return z["features"].astype(np.float32), z["labels"]


def evaluate(args: argparse.Namespace) -> None:
    from hashcore.models.methods import load_head
    from hashcore.tags.model import multimodal_info

    t_start = time.time()
    feats, labels = test_features(args.size)
    fc = mm.classifier_weights()
    probs = mm.probs_from_features(feats, fc)
    vocab = mm.load_vocabulary()
    q_texts = [t for c in range(10) for t in QUERIES[c]]
    q_labels = [c for c in range(10) for _ in QUERIES[c]]
    q_emb = embed(q_texts)
    info = multimodal_info()
    head = load_head(info.path, info.sha256)
    rows: list[dict] = []

    def row(setting: str, method: str, scores: np.ndarray, mask: np.ndarray, extra: dict | None = None) -> None:
        m = mean_ap(scores[:, mask], labels[mask], q_labels)
        per = {c: mean_ap(scores[[i for i, ql in enumerate(q_labels) if ql == c]][:, mask], labels[mask],
                          [c] * len(QUERIES[c])) for c in range(10)}
        rows.append({"task": "tag-to-image", "dataset": "fashion-mnist", "setting": setting, "method": method,
                     "map": round(m, 4), "per_class": {FMNIST_TAGS[c]: round(v, 3) for c, v in per.items()},
                     **(extra or {})})
        sys.stdout.write(f"{setting:14s} {method:34s} mAP {m:.4f}\n")

    allm = np.ones(len(labels), bool)
    row("out-of-box", "(a) probs + MiniLM bridge", bridge_scores(probs, q_emb, vocab), allm)
    real = np.load(CACHE / "train-photos.npz")["x"].astype(np.float32)
    if args.unlabelled_fmnist:  # the same pool as the shipped model, for a fair baseline (b)
        real = np.concatenate([np.repeat(real, args.real_repeat, 0),
                               np.load(CACHE / f"fmnist_features_{args.size}.npz")["features"][:60000:3].astype(np.float32)])
    vemb = embed(vocab.texts)
    xr, ty, amap = cca_pairs_shipped(real, fc, vocab, vemb)
    x_logit = mm.standardised_logits(feats, amap).astype(np.float64)
    # (b) at 64 bits and at the model's own length (the fair comparison)
    cca_bits = sorted({64, head.bits})
    for bits in cca_bits:
        base_cca = CcaItq(xr, ty, bits)
        bi, bt = base_cca.img(x_logit), base_cca.txt(q_emb.astype(np.float64))
        row("out-of-box", f"(b) CCA + ITQ {bits} bits", -(bt[:, None] != bi[None]).sum(-1).astype(np.float32), allm)
    ham, ham_tb = hash_scores(head, feats, q_emb)
    ours = f"MM-SparseHash {head.bits} bits"
    row("out-of-box", f"{ours} (Hamming)", ham, allm)
    row("out-of-box", f"{ours} (+act. ties)", ham_tb, allm)

    # learning from the user: 10% of the database tagged with its class name
    rng = np.random.default_rng(args.seed)
    tagged = np.zeros(len(labels), bool)
    tagged[rng.choice(len(labels), len(labels) // 10, replace=False)] = True
    photo_tags = [[FMNIST_TAGS[labels[i]]] if tagged[i] else [] for i in range(len(labels))]
    tag_emb = dict(zip(FMNIST_TAGS, embed(FMNIST_TAGS), strict=True))
    params = mm.TrainParams(steps=args.learn_steps, seed=args.seed)
    words = everyday_words()
    if args.exclude_query_words:  # ablation: the query texts themselves are never trained on
        query_set = set(q_texts)
        words = [w for w in words if w not in query_set]
    t0 = time.time()
    learned = mm.learn_from_tags(head, feats, fc, photo_tags, tag_emb, params, progress=progress,
                                 words=embed(words) if args.words else None)
    secs = time.time() - t0
    sys.stderr.write("\n")
    untagged = ~tagged
    row("after-10%-tags", "(a) probs + MiniLM bridge", bridge_scores(probs, q_emb, vocab), untagged)
    # (b) after learning: CCA + ITQ refitted with the tagged photos added as pairs
    xt_l = x_logit[tagged]
    yt_l = embed([FMNIST_TAGS[c] for c in labels[tagged]]).astype(np.float64)
    for bits in cca_bits:
        cca_l = CcaItq(np.concatenate([xr[:20000], np.repeat(xt_l, 10, 0)]),
                       np.concatenate([ty[:20000], np.repeat(yt_l, 10, 0)]), bits)
        bi, bt = cca_l.img(x_logit), cca_l.txt(q_emb.astype(np.float64))
        row("after-10%-tags", f"(b) CCA + ITQ {bits} bits", -(bt[:, None] != bi[None]).sum(-1).astype(np.float32), untagged)
    ham, ham_tb = hash_scores(learned, feats, q_emb)
    extra = {"train_seconds": round(secs, 1), "steps": params.steps,
             "words": len(words) if args.words else 0, "query_words_excluded": bool(args.exclude_query_words)}
    row("after-10%-tags", f"{ours} (Hamming)", ham, untagged, extra)
    row("after-10%-tags", f"{ours} (+act. ties)", ham_tb, untagged, extra)
    codes = learned.encode(feats)
    sys.stdout.write(f"retraining took {secs:.0f}s; mean bits on {codes.sum(1).mean():.1f}; "
                     f"unique codes {len(np.unique(np.packbits(codes, axis=1), axis=0))}; total {time.time() - t_start:.0f}s\n")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")
    if args.results_json:
        merge_into_results(Path(args.results_json), rows)


def merge_into_results(path: Path, rows: list[dict]) -> None:
    """Put the tag-to-image rows into the hashing results file (docs/results.json), replacing the
    previous tag rows and leaving every hashing row alone."""
    data = json.loads(path.read_text()) if path.is_file() else {"rows": []}
    data["rows"] = [r for r in data.get("rows", []) if r.get("task") != "tag-to-image"] + rows
    path.write_text(json.dumps(data, indent=1) + "\n")


def main() -> None:  # noqa: D103
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("ship", "eval"))
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--learn-steps", type=int, default=800)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--blocks", type=int, default=6, help="ship: blocks of 64 bits in the code")
    ap.add_argument("--size", type=int, default=112,
                    help="Fashion-MNIST features extracted at this size (bench/eval_features.py --size N)")
    ap.add_argument("--unlabelled-fmnist", action="store_true",
                    help="add 20,000 unlabelled Fashion-MNIST train-split photos to the pool (ship: the "
                         "model's; eval: baseline (b)'s, for a fair comparison)")
    ap.add_argument("--real-repeat", type=int, default=1,
                    help="with --unlabelled-fmnist: repeat the real-photo views this many times in the pool")
    ap.add_argument("--no-words", dest="words", action="store_false",
                    help="learn without the everyday words near the user's tags (textenc.word_vectors)")
    ap.add_argument("--exclude-query-words", action="store_true",
                    help="ablation: leave the 25 query texts out of those words")
    ap.add_argument("--out", help="with eval: write the rows as JSON here")
    ap.add_argument("--results-json", help="with eval: also merge the rows into this results file "
                                           "(docs/results.json), as rows with \"task\": \"tag-to-image\"")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    (ship if args.what == "ship" else evaluate)(args)


if __name__ == "__main__":
    main()
