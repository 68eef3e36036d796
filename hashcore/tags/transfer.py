"""The shipped tag model that transfers to real photos (issue 15): both towers trained so that a
photo's code lands where the codes of its likely words land, in Hamming distance itself.

Text side: every WordNet lemma of the 1000 ImageNet classes and of the synsets above them
("beagle", "hound", "dog", "animal"; `Hierarchy.word_classes`), plus the vocabulary's group
words; a text names the set of classes below it. Image side: the backbone's class
probabilities of real photos and edited copies of them (a training pool only), and synthetic
"class prototypes" (a real photo's logits with one class made confident) so that every class is
seen. A text t is relevant to a photo x by the probability mass the photo puts on t's classes.

The image tower reads a ConSE-style semantic vector (the top-10 class probabilities times the
MiniLM vectors of the class names) beside the standardised class logits; the text tower reads
the MiniLM vector of the tag. Loss: a softmax over *Hamming* distances (the bits by a
straight-through step; XOR written as a + b - 2ab so that equal bits still get a gradient) in
both directions: for each text, which photos of the batch are its photos; for each photo, which
texts are its words. The text -> photo direction is the search itself and penalises hubs: a
photo near every text takes probability from the right photos of every text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hashcore.models.methods.sparsehash import build_ista_encoder, export_ista

N_CLASSES = 1000
TOP_CLASSES = 10  # ConSE: the photo's meaning is the mix of its ten likeliest class names
SEMANTIC_SCALE = float(np.sqrt(384))  # unit vector -> components of about unit spread
Progress = Callable[[int, int, str], None]


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(1, keepdims=True)).astype(np.float32)


def semantic_vectors(probs: np.ndarray, class_emb: np.ndarray, top: int = TOP_CLASSES) -> np.ndarray:
    """ConSE: sum over the `top` likeliest classes of p(c) x the class name's MiniLM vector,
    unit length. (N, 1000), (1000, 384) -> (N, 384)."""
    p = np.asarray(probs, np.float32)
    idx = np.argpartition(-p, top - 1, axis=1)[:, :top]
    w = np.take_along_axis(p, idx, 1)
    w = w / np.maximum(w.sum(1, keepdims=True), 1e-12)
    v = np.einsum("nk,nkd->nd", w, np.asarray(class_emb, np.float32)[idx])
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)


def tower_input(logits: np.ndarray, class_emb: np.ndarray) -> np.ndarray:
    """The image tower's input from class logits: [semantic vector, standardised logits]."""
    logits = np.asarray(logits, np.float32)
    z = logits - logits.mean(1, keepdims=True)
    z = z / np.maximum(z.std(1, keepdims=True), 1e-6)
    sem = semantic_vectors(softmax(logits), class_emb) * SEMANTIC_SCALE
    return np.concatenate([sem, z], 1).astype(np.float32)


@dataclass(frozen=True)
class TransferParams:
    bits: int = 256
    layers: int = 2
    beta: float = 3.0
    steps: int = 2500
    batch: int = 256
    text_batch: int = 256
    lr: float = 3e-3
    temp: float = 0.0  # softmax temperature on Hamming distance; 0: bits / 48
    synth_share: float = 0.5
    w_i2t: float = 0.5
    w_quant: float = 0.1
    own_share: float = 0.5  # of the matching texts: a class's own labels, not the words above it
    seed: int = 0


@dataclass
class TransferData:
    logits: np.ndarray  # (N, 1000) real photos' class logits (training pool and its edits)
    text_emb: np.ndarray  # (T, 384)
    text_classes: np.ndarray  # (T, 1000) 0/1: the classes each text names
    class_emb: np.ndarray  # (1000, 384) MiniLM vectors of the class names


def _synthetic(logits: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """Real-photo logits with one random class made confident (probability 0.3-0.95)."""
    base = logits[rng.integers(0, len(logits), n)].copy()
    cls = rng.integers(0, N_CLASSES, n)
    target = rng.uniform(0.3, 0.95, n)
    rows = np.arange(n)
    others = base.copy()
    others[rows, cls] = -np.inf
    top = others.max(1)
    lse = np.log(np.exp(others - top[:, None]).sum(1)) + top
    base[rows, cls] = lse + np.log(target / (1 - target))
    return base


def _texts_of_class(text_classes: np.ndarray, max_classes: int | None = None) -> list[np.ndarray]:
    """For each class, the texts that name it (only those naming at most `max_classes` classes:
    its own labels, when 2)."""
    ok = np.ones(len(text_classes), bool) if max_classes is None else text_classes.sum(1) <= max_classes
    return [np.flatnonzero((text_classes[:, c] > 0) & ok) for c in range(text_classes.shape[1])]


def train_transfer(data: TransferData, p: TransferParams, progress: Progress | None = None) -> dict[str, np.ndarray]:
    """Both towers, trained jointly; returns the exported arrays (img_*, txt_*, txt_mean, txt_std)."""
    import torch

    torch.manual_seed(p.seed)
    rng = np.random.default_rng(p.seed)
    mean = data.text_emb.mean(0).astype(np.float32)
    std = np.maximum(data.text_emb.std(0), 1e-3).astype(np.float32)
    temb = torch.from_numpy(((data.text_emb - mean) / std).astype(np.float32))
    tcls = torch.from_numpy(data.text_classes.astype(np.float32))
    by_class = _texts_of_class(data.text_classes)
    own = _texts_of_class(data.text_classes, 2)
    img = build_ista_encoder(384 + N_CLASSES, p.bits, p.layers, p.beta)
    txt = build_ista_encoder(temb.shape[1], p.bits, p.layers, p.beta)
    opt = torch.optim.Adam(list(img.parameters()) + list(txt.parameters()), lr=p.lr, weight_decay=1e-6)
    # a tenth of the steps warm up; a short run warms up over 1.5 steps (at exactly one step of
    # warm-up, e.g. 10 steps at a tenth, torch's OneCycleLR divides by zero)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, p.lr, total_steps=p.steps,
                                                pct_start=min(0.9, max(0.1, 1.5 / p.steps)))
    temp = p.temp or p.bits / 48
    n_syn = int(p.batch * p.synth_share)
    for step in range(p.steps):
        lg = np.concatenate([data.logits[rng.integers(0, len(data.logits), p.batch - n_syn)],
                             _synthetic(data.logits, rng, n_syn)])
        probs = softmax(lg)
        xb = torch.from_numpy(tower_input(lg, data.class_emb))
        tb = _text_batch(probs, by_class, own, rng, p.text_batch, len(temb), p.own_share)
        s = torch.from_numpy(probs) @ tcls[tb].T  # (B, K) probability mass on each text's classes
        s = s.clamp(max=1.0)
        loss = _hamming_loss(torch, img(xb), txt(temb[tb]), s, temp, p)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if progress is not None and (step % 50 == 0 or step == p.steps - 1):
            progress(step + 1, p.steps, f"training tag model, loss {float(loss.detach()):.3f}")
    return {**export_ista(img, "img_"), **export_ista(txt, "txt_"), "txt_mean": mean, "txt_std": std}


def _hamming_loss(torch: Any, hx: Any, ht: Any, s: Any, temp: float, p: Any) -> Any:
    """The towers' objective on one batch: photo codes hx (B, bits) and text codes ht (K, bits) in
    [0, 1], binarised with a straight-through step; a softmax over their Hamming distances in both
    directions against the relevance s (B, K), plus a quantisation penalty."""
    bx = hx + ((hx > 0.5).float() - hx).detach()
    bt = ht + ((ht > 0.5).float() - ht).detach()
    d = bx.sum(1, keepdim=True) + bt.sum(1)[None] - 2 * bx @ bt.T  # Hamming, with gradients
    logit = -d / temp
    loss = _soft_ce(logit.T, s.T) + p.w_i2t * _soft_ce(logit, s)
    return loss + p.w_quant * (torch.minimum(hx, 1 - hx).mean() + torch.minimum(ht, 1 - ht).mean())


def _soft_ce(logit: Any, target: Any, min_mass: float = 0.05) -> Any:
    """Cross-entropy of each row's softmax against the row's normalised relevance, over the
    rows that have some relevant item."""
    import torch

    mass = target.sum(1)
    keep = mass > min_mass
    if not bool(keep.any()):
        return logit.sum() * 0
    q = target[keep] / mass[keep, None]
    return -(q * torch.log_softmax(logit[keep], 1)).sum(1).mean()


def _text_batch(probs: np.ndarray, by_class: list[np.ndarray], own: list[np.ndarray], rng: np.random.Generator,
                n: int, n_texts: int, own_share: float) -> np.ndarray:
    """Half texts naming a class drawn from a batch photo's probabilities (its own labels for a
    share `own_share`, else any word above it, so every level of the hierarchy comes up), half
    random texts."""
    picks = []
    for row in rng.integers(0, len(probs), n // 2):
        c = int(rng.choice(N_CLASSES, p=probs[row] / probs[row].sum()))
        pool = own[c] if len(own[c]) and rng.random() < own_share else by_class[c]
        if len(pool):
            picks.append(int(rng.choice(pool)))
    rest = rng.integers(0, n_texts, n - len(picks))
    return np.unique(np.concatenate([np.asarray(picks, np.int64), rest]))


def text_vocabulary(word_classes: dict[str, np.ndarray], groups: dict[str, list[int]]) -> tuple[list[str], np.ndarray]:
    """The text side: hierarchy words and the vocabulary's group words, each with its classes."""
    named = {w: set(ids.tolist()) for w, ids in word_classes.items()}
    for w, ids in groups.items():
        named.setdefault(w.lower(), set()).update(ids)
    texts = sorted(named)
    rows = np.zeros((len(texts), N_CLASSES), np.float32)
    for t, w in enumerate(texts):
        rows[t, sorted(named[w])] = 1
    return texts, rows


def assemble(state: dict[str, np.ndarray], texts: list[str], text_classes: np.ndarray, text_emb: np.ndarray,
             class_emb: np.ndarray, fc: tuple[np.ndarray, np.ndarray], params: TransferParams) -> Any:
    """A MultimodalSparseHash from trained towers: vocabulary, classifier and class vectors inside."""
    from hashcore.tags.multimodal import MultimodalSparseHash, logit_map, logit_state, vocab_state

    concepts = [[str(c) for c in np.flatnonzero(r)] for r in text_classes]
    out = dict(state)
    out.update(vocab_state(texts, concepts, text_emb))
    out.update(logit_state(logit_map(fc)))
    out["class_emb"] = np.asarray(class_emb, np.float16)
    out["blocks"] = np.array(1, np.int64)
    head = MultimodalSparseHash(params.bits, threshold=0.5, steps=params.steps, seed=params.seed,
                                design="transfer (issue 15)")
    head.state = out
    return head


def finetune(init: dict[str, np.ndarray], x: np.ndarray, q: np.ndarray, labelled: np.ndarray, text_emb: np.ndarray,
             text_concepts: np.ndarray, p: TransferParams, progress: Progress | None = None,
             cancel: Callable[[], bool] | None = None, focus: np.ndarray | None = None,
             train_images: bool = True) -> dict[str, np.ndarray]:
    """Learning from a library's tags with the loss the model was trained with: both towers (or,
    `train_images` False, the text tower alone) from `init`, on the library's photos (`x` the image
    tower's inputs, `q` (N, K) their concept membership, ImageNet classes then the user's tags;
    half of each batch tagged photos) and the texts (`text_concepts` (T, K)). The texts in `focus`
    (the user's tags and the words bridged to them) are in every batch: they are what is being
    learned."""
    import torch

    from hashcore.errors import Cancelled
    from hashcore.tags.multimodal import _load_ista

    torch.manual_seed(p.seed)
    rng = np.random.default_rng(p.seed)
    mean, std = init["txt_mean"], init["txt_std"]
    temb = torch.from_numpy(((text_emb - mean) / std).astype(np.float32))
    tcon = torch.from_numpy(text_concepts.astype(np.float32))
    xt, qt = torch.from_numpy(np.asarray(x, np.float32)), torch.from_numpy(np.asarray(q, np.float32))
    bits = init["img_W"].shape[1]
    img = build_ista_encoder(xt.shape[1], bits, int(init["img_layers"]), float(init["img_beta"]))
    txt = build_ista_encoder(temb.shape[1], bits, int(init["txt_layers"]), float(init["txt_beta"]))
    _load_ista(img, init, "img_")
    _load_ista(txt, init, "txt_")
    img.requires_grad_(train_images)  # a frozen image tower: no gradients computed for it at all
    opt = torch.optim.Adam((list(img.parameters()) if train_images else []) + list(txt.parameters()), lr=p.lr)
    by_concept = [np.flatnonzero(text_concepts[:, k] >= 0.5) for k in range(text_concepts.shape[1])]
    lab = np.flatnonzero(labelled)
    temp = p.temp or bits / 48
    for step in range(p.steps):
        if cancel is not None and cancel():
            raise Cancelled("training cancelled")
        n_lab = min(len(lab), p.batch // 2)
        idx = np.concatenate([rng.choice(lab, n_lab) if n_lab else np.zeros(0, np.int64),
                              rng.integers(0, len(xt), p.batch - n_lab)])
        qb = q[idx]
        picks = []
        for row in rng.integers(0, len(idx), p.text_batch // 2):
            w = qb[row] / max(float(qb[row].sum()), 1e-9)
            cand = by_concept[int(rng.choice(len(w), p=w))]
            if len(cand):
                picks.append(int(rng.choice(cand)))
        tb = np.unique(np.concatenate([np.asarray(picks, np.int64), focus if focus is not None else [],
                                       rng.integers(0, len(temb), p.text_batch - len(picks))]).astype(np.int64))
        s = (qt[idx] @ tcon[tb].T).clamp(max=1.0)
        loss = _hamming_loss(torch, img(xt[idx]), txt(temb[tb]), s, temp, p)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if progress is not None and (step % 50 == 0 or step == p.steps - 1):
            progress(step + 1, p.steps, f"training tag model, loss {float(loss.detach()):.3f}")
    return {**export_ista(img, "img_"), **export_ista(txt, "txt_"), "txt_mean": mean, "txt_std": std}
