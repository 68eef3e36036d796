"""Multimodal SparseHash (seed 000, slides 20-28): photos and tag texts in one Hamming space.

Two coupled ISTA-network encoders from `hashcore.models.methods.sparsehash`, one per modality:

    image tower  h(x): backbone feature (1280) -> class logits (1000), per photo -> ISTA encoder -> bits
    text tower   g(y): MiniLM sentence vector of the tag text (384) -> ISTA encoder -> bits

trained jointly with the SparseHash pair loss on three kinds of pairs: image-image and text-text
(intra-modal) and image-text (inter-modal). Similar pairs are pulled together in L1, dissimilar
ones pushed beyond the margin, and an L1 penalty keeps codes sparse.

What "similar" means comes from concepts. A concept is one of the backbone's 1000 ImageNet
classes or one of the user's own tags. A tag text names a set of concepts (a WordNet lemma names
its class; a group word such as "dog" names 118 breeds; a user tag names itself). A photo holds a
soft membership over concepts: its sharpened ImageNet probabilities, plus 1 for each tag a person
gave it. The pair similarity is the overlap of the two memberships.

The image tower does not read the 1280-d features directly: it reads the backbone's 1000 class
logits (from the backbone's own classifier layer, stored in the model file), centred and scaled
per photo to unit spread. A confident photo and a vague one then differ in which classes stand
out rather than in how loud they all are (on Fashion-MNIST, out of the box, this raised the mean
over seeds of one 64-bit block from 0.18 to 0.20 mAP; docs/results_tags.md).

The codes are several independently trained blocks of 64 bits (6 by default), each block a pair
of towers trained with its own seed, side by side in one ISTA encoder whose lateral weights are
block-diagonal. The Hamming distance of the whole code is the sum of the blocks' distances, an
ensemble: one block alone varies a lot with its seed (out of the box 0.18-0.26 mAP on
Fashion-MNIST over 8 seeds), the sum of six much less (0.237-0.262 over the 28 choices of 6 of
those 8 blocks; docs/results_tags.md).

The shipped model is trained without any labelled photo: on real-photo logits, unlabelled
photos' logits, and the same logits with one class made confident so that every class is seen.
Since issue 15 it is the transfer model of `hashcore.tags.transfer` (one block; the image tower
reads a ConSE-style semantic vector beside the logits, `image_input`; its text side holds the
WordNet words above the classes); `train_shipped` and the blocks below train the earlier kind,
which still loads, and learning from tags fine-tunes either kind with its own loss.

Learning from the user starts from that model and continues, block by block, on the library's
stored features, its probabilities and the user's tags (no photo is decoded again). The everyday
words nearest in meaning to a user's tag join the text side with soft concept weights
(`words_near_tags`), so that synonyms of a new tag land where it lands.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from hashcore.config import RESOURCES
from hashcore.errors import Cancelled, ModelError
from hashcore.models.methods.base import HashHead, register
from hashcore.models.methods.sparsehash import build_ista_encoder, export_ista, ista_numpy

VOCAB_PATH = RESOURCES / "tags" / "imagenet_vocab.json"
N_CLASSES = 1000
Progress = Callable[[int, int, str], None]


# --- vocabulary --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """Tag texts the shipped model knows, each with the ImageNet classes it names."""

    texts: list[str]
    concepts: list[tuple[int, ...]]
    class_names: list[str]  # display name of each of the 1000 classes (its first lemma)
    class_lemmas: list[list[str]] = field(default_factory=list)


def load_vocabulary(path: Any = VOCAB_PATH, lemmas_per_class: int = 4) -> Vocabulary:
    data = json.loads(open(path, encoding="utf-8").read())
    names: dict[str, set[int]] = {}
    for i, c in enumerate(data["classes"]):
        for lemma in c["lemmas"][:lemmas_per_class]:
            names.setdefault(lemma.lower(), set()).add(i)
    for word, ids in data["groups"].items():
        names.setdefault(word.lower(), set()).update(ids)
    texts = sorted(names)
    return Vocabulary(texts, [tuple(sorted(names[t])) for t in texts],
                      [c["lemmas"][0] for c in data["classes"]], [c["lemmas"] for c in data["classes"]])


def classifier_weights() -> tuple[np.ndarray, np.ndarray]:
    """The backbone's own ImageNet classifier (W (1000, 1280), b (1000,)), sha256-checked."""
    import torch

    from hashcore.models.backbone import WEIGHTS_SHA256, weights_path
    from hashcore.models.methods.base import sha256_file

    path = weights_path()
    if sha256_file(path) != WEIGHTS_SHA256:
        raise ModelError(f"backbone weights {path} fail their sha256 check")
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state["_fc.weight"].numpy().astype(np.float32), state["_fc.bias"].numpy().astype(np.float32)


def probs_from_features(x: np.ndarray, fc: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """ImageNet probabilities from stored features (same as the backbone's softmax output)."""
    logits = np.asarray(x, np.float32) @ fc[0].T + fc[1]
    logits -= logits.max(1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(1, keepdims=True)


def sharpen(p: np.ndarray, temperature: float = 0.5) -> np.ndarray:
    q = np.power(np.maximum(p, 0), 1.0 / temperature)
    return q / np.maximum(q.sum(1, keepdims=True), 1e-12)


# --- the model ---------------------------------------------------------------------------------


@register
class MultimodalSparseHash(HashHead):
    """Both towers in one pickle-free .npz; `encode` is the image tower so it works as a HashHead.

    State: img_* and txt_* (ISTA encoders, `blocks` blocks side by side), logit_W/logit_b (the
    backbone's centred classifier: features -> the image tower's logits), txt_mean/txt_std (text
    input standardisation),
    vocab_json (the tag texts it can suggest, with their concepts), vocab_emb (their MiniLM
    vectors, so retraining never re-embeds the vocabulary).
    """

    method = "mm-sparsehash"
    supervised = True

    def fit(self, x: np.ndarray, y: np.ndarray | None = None, progress: Any = None) -> MultimodalSparseHash:
        raise ModelError("train the multimodal model with hashcore.tags.multimodal.train_shipped or learn_from_tags")

    @property
    def threshold(self) -> float:
        return float(self.params.get("threshold", 0.5))

    def image_input(self, x: np.ndarray) -> np.ndarray:
        """Backbone features -> what the image tower reads: the semantic vector and standardised
        logits (models with class_emb, issue 15), standardised logits (older files), or the
        features themselves (the oldest)."""
        x = np.asarray(x, np.float32)
        if "class_emb" in self.state:
            from hashcore.tags.transfer import tower_input

            amap = self._logit_map()
            return tower_input(x @ amap[0] + amap[1], self._class_emb())
        if "logit_W" in self.state:
            return standardised_logits(x, self._logit_map())
        return x

    def _class_emb(self) -> np.ndarray:
        if "_class_emb32" not in self.__dict__:
            self.__dict__["_class_emb32"] = self.state["class_emb"].astype(np.float32)
        return self.__dict__["_class_emb32"]

    def image_activations(self, x: np.ndarray) -> np.ndarray:
        return ista_numpy(self.image_input(x), self.state, "img_")

    def _logit_map(self) -> tuple[np.ndarray, np.ndarray]:
        if "_logit_W32" not in self.__dict__:
            self.__dict__["_logit_W32"] = self.state["logit_W"].astype(np.float32)
        return self.__dict__["_logit_W32"], self.state["logit_b"].astype(np.float32)

    def text_activations(self, emb: np.ndarray) -> np.ndarray:
        z = (np.asarray(emb, np.float32) - self.state["txt_mean"]) / self.state["txt_std"]
        return ista_numpy(z, self.state, "txt_")

    def encode(self, x: np.ndarray) -> np.ndarray:
        return self.image_activations(x) > self.threshold

    def encode_text(self, emb: np.ndarray) -> np.ndarray:
        return self.text_activations(emb) > self.threshold

    # the tag texts this model was trained with (ImageNet vocabulary + the user's tags)
    def vocab(self) -> tuple[list[str], list[list[str]]]:
        data = json.loads(bytes(self.state["vocab_json"]).decode())
        return data["texts"], data["concepts"]

    def vocab_words(self) -> frozenset[str]:
        """The tag texts of `vocab`, as a set, parsed once per loaded model."""
        if "_vocab_words" not in self.__dict__:
            self.__dict__["_vocab_words"] = frozenset(self.vocab()[0])
        return self.__dict__["_vocab_words"]

    def vocab_vectors(self) -> np.ndarray:
        """The MiniLM vectors of `vocab`'s texts (shipped in the file), float32, made once per model."""
        if "_vocab_emb32" not in self.__dict__:
            self.__dict__["_vocab_emb32"] = self.state["vocab_emb"].astype(np.float32)
        return self.__dict__["_vocab_emb32"]

    def vocab_activations(self) -> np.ndarray:
        if "vocab_act" not in self.state:
            self.state["vocab_act"] = self.text_activations(self.state["vocab_emb"].astype(np.float32))
        return self.state["vocab_act"]


# --- training ----------------------------------------------------------------------------------


@dataclass
class TrainSet:
    """Everything one training run sees. Concept columns: 1000 ImageNet classes, then user tags."""

    x: np.ndarray  # (N, D) image-tower inputs
    q: np.ndarray  # (N, K) soft concept membership of each photo
    labelled: np.ndarray  # (N,) bool: the photo carries at least one user tag
    text_emb: np.ndarray  # (T, 384)
    text_concepts: np.ndarray  # (T, K) 0/1 for named concepts, soft weights for bridged words
    user_cols: np.ndarray  # (K,) bool: column is a user tag
    text_soft: np.ndarray | None = None  # (T,) bool: row holds soft weights (a bridged word)


@dataclass(frozen=True)
class TrainParams:
    bits: int = 64  # per block
    blocks: int = 6  # independently trained blocks, side by side in the code
    layers: int = 3
    beta: float = 3.0
    steps: int = 3000
    batch: int = 160
    text_batch: int = 128
    lr: float = 2e-3
    lam: float = 1.0
    alpha: float = 0.003
    margin: float = 16.0
    w_inter: float = 1.0
    w_img: float = 1.0
    w_txt: float = 0.5
    unlabelled_neg: float = 0.05
    synth_share: float = 0.5  # share of each image batch that is synthetic (shipped model)
    temperature: float = 1.0  # photo membership = ImageNet probabilities sharpened by this
    seed: int = 0


def pair_loss(h1: Any, h2: Any, s: Any, w: Any, lam: float, margin: float) -> Any:
    """SparseHash pair loss with soft similarity s in [0, 1] and pair weights w, the similar and
    dissimilar parts each averaged over their own weight (pairs are mostly dissimilar)."""
    import torch

    d = torch.cdist(h1, h2, p=1) if h1.dim() == 2 and s.dim() == 2 else (h1 - h2).abs().sum(-1)
    pos, neg = w * s, w * (1 - s)
    return (pos * d).sum() / pos.sum().clamp(min=1e-6) + \
        lam * (neg * torch.clamp(margin - d, min=0)).sum() / neg.sum().clamp(min=1e-6)


def _positive_texts(ts: TrainSet) -> list[np.ndarray]:
    """For each concept, the texts that name it, or mostly mean it (to sample a matching text
    for a photo)."""
    tc = ts.text_concepts
    return [np.flatnonzero(tc[:, k] >= 0.5) for k in range(tc.shape[1])]


def text_similarity(ct: Any, soft: Any) -> Any:
    """Text-text similarity: two named texts are similar when they share a concept; a bridged
    word is as similar to another text as their concept weights are (cosine)."""
    import torch

    hard = ((ct @ ct.T) > 0).float()
    if not bool(soft.any()):
        return hard
    cn = torch.nn.functional.normalize(ct, dim=1)
    either = (soft[:, None] | soft[None, :])
    return torch.where(either, cn @ cn.T, hard)


def train_towers(ts: TrainSet, p: TrainParams, init: dict[str, np.ndarray] | None = None,
                 synth: Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]] | None = None,
                 progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> dict[str, np.ndarray]:
    """Joint training of both towers; returns exported arrays (img_*, txt_*, txt_mean, txt_std)."""
    import torch

    torch.manual_seed(p.seed)
    rng = np.random.default_rng(p.seed)
    x = torch.from_numpy(np.asarray(ts.x, np.float32))
    if init is not None:
        mean, std = init["txt_mean"], init["txt_std"]
    else:
        mean = ts.text_emb.mean(0).astype(np.float32)
        std = np.maximum(ts.text_emb.std(0), 1e-3).astype(np.float32)
    temb = torch.from_numpy(((ts.text_emb - mean) / std).astype(np.float32))
    tcon = torch.from_numpy(ts.text_concepts.astype(np.float32))
    tsoft = torch.from_numpy(ts.text_soft if ts.text_soft is not None else np.zeros(len(temb), bool))
    q = torch.from_numpy(ts.q.astype(np.float32))
    user = torch.from_numpy(ts.user_cols)
    img = build_ista_encoder(x.shape[1], p.bits, p.layers, p.beta)
    txt = build_ista_encoder(temb.shape[1], p.bits, p.layers, p.beta)
    if init is not None:
        _load_ista(img, init, "img_")
        _load_ista(txt, init, "txt_")
    opt = torch.optim.Adam(list(img.parameters()) + list(txt.parameters()), lr=p.lr, weight_decay=1e-5)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, p.steps)
    pos_texts = _positive_texts(ts)
    lab_idx = np.flatnonzero(ts.labelled)
    for step in range(p.steps):
        if cancel is not None and cancel():
            raise Cancelled("training cancelled")
        xb, qb, labb = _image_batch(ts, x, q, rng, p.batch, lab_idx, synth, p.synth_share)
        tb = _text_batch(qb, pos_texts, rng, p.text_batch, len(temb))
        hx, hy = img(xb), txt(temb[tb])
        ct = tcon[tb]
        # inter-modal: overlap of the photo's membership with the concepts the text names
        s_xy = (qb @ ct.T).clamp(max=1.0)
        w_xy = torch.ones_like(s_xy)
        # a photo nobody tagged is only weakly a negative for a user tag (it may be one)
        user_text = (ct[:, user].sum(1) > 0).float()
        w_xy = w_xy - (1 - p.unlabelled_neg) * torch.outer(1 - labb, user_text) * (s_xy < 0.5).float()
        loss = p.w_inter * pair_loss(hx, hy, s_xy, w_xy, p.lam, p.margin)
        # intra-modal: photos by membership cosine (user tags decide when both carry some)
        qn = torch.nn.functional.normalize(qb[:, ~user], dim=1)
        s_xx = qn @ qn.T
        if bool(user.any()):
            u = qb[:, user]
            both = torch.outer(labb, labb) > 0
            s_xx = torch.where(both, ((u @ u.T) > 0).float(), s_xx)
        iu = torch.triu_indices(len(xb), len(xb), offset=1)
        loss = loss + p.w_img * pair_loss(hx[iu[0]], hx[iu[1]], s_xx[iu[0], iu[1]],
                                          torch.ones(iu.shape[1]), p.lam, p.margin)
        s_yy = text_similarity(ct, tsoft[tb])
        ju = torch.triu_indices(len(tb), len(tb), offset=1)
        loss = loss + p.w_txt * pair_loss(hy[ju[0]], hy[ju[1]], s_yy[ju[0], ju[1]],
                                          torch.ones(ju.shape[1]), p.lam, p.margin)
        loss = loss + p.alpha * (hx.abs().sum(1).mean() + hy.abs().sum(1).mean())
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if progress is not None and (step % 50 == 0 or step == p.steps - 1):
            progress(step + 1, p.steps, f"training tag model, loss {float(loss.detach()):.3f}")
    return {**export_ista(img, "img_"), **export_ista(txt, "txt_"), "txt_mean": mean, "txt_std": std}


def _load_ista(enc: Any, state: dict[str, np.ndarray], prefix: str) -> None:
    import torch

    with torch.no_grad():
        enc.W.weight.copy_(torch.from_numpy(np.ascontiguousarray(state[f"{prefix}W"].T)))
        enc.W.bias.copy_(torch.from_numpy(state[f"{prefix}bias"]))
        enc.S.copy_(torch.from_numpy(state[f"{prefix}S"]))
        enc.tau.copy_(torch.from_numpy(state[f"{prefix}tau"]))


def _image_batch(ts: TrainSet, x: Any, q: Any, rng: np.random.Generator, n: int, lab_idx: np.ndarray,
                 synth: Any, synth_share: float = 0.5) -> tuple[Any, Any, Any]:
    """Real photos (half of them tagged ones when there are any), plus synthetic ones if given."""
    import torch

    n_syn = int(n * synth_share) if synth is not None else 0
    n_lab = min(len(lab_idx), (n - n_syn) // 2) if len(lab_idx) else 0
    idx = np.concatenate([rng.choice(lab_idx, n_lab) if n_lab else np.zeros(0, np.int64),
                          rng.integers(0, len(ts.x), n - n_syn - n_lab)])
    xb, qb = x[idx], q[idx]
    lab = torch.from_numpy(ts.labelled[idx].astype(np.float32))
    if n_syn:
        xs, qs = synth(rng, n_syn)
        xb = torch.cat([xb, torch.from_numpy(xs)])
        qb = torch.cat([qb, torch.from_numpy(qs)])
        lab = torch.cat([lab, torch.zeros(n_syn)])
    return xb, qb, lab


def _text_batch(qb: Any, pos_texts: list[np.ndarray], rng: np.random.Generator, n: int, n_texts: int) -> np.ndarray:
    """Half texts that match photos of the batch (drawn by their strongest concept), half random."""
    top = qb.argmax(1).numpy()
    picks = []
    for k in rng.choice(top, n // 2):
        cand = pos_texts[int(k)]
        if len(cand):
            picks.append(int(rng.choice(cand)))
    rest = rng.integers(0, n_texts, n - len(picks))
    return np.unique(np.concatenate([np.asarray(picks, np.int64), rest]))


# --- the shipped model -------------------------------------------------------------------------


def logit_map(fc: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Linear map features -> logits centred over the classes (A (1280, 1000), c (1000,))."""
    w, b = fc[0].T, fc[1]
    w = w - w.mean(1, keepdims=True)
    b = b - b.mean()
    return w, b


def standardise(logits: np.ndarray) -> np.ndarray:
    """Each photo's logits centred and scaled to unit spread over the classes."""
    z = logits - logits.mean(1, keepdims=True)
    return (z / np.maximum(z.std(1, keepdims=True), 1e-6)).astype(np.float32)


def standardised_logits(x: np.ndarray, amap: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The image tower's input: backbone features -> standardised class logits."""
    return standardise(np.asarray(x, np.float32) @ amap[0] + amap[1])


def synthetic_logits(real: np.ndarray, temperature: float = 1.0) -> Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]]:
    """Real-photo logits with one random class made confident (probability 0.3-0.95), so that
    the image tower sees every ImageNet class although no labelled photo is used. Returns
    (standardised logits, sharpened probabilities)."""

    def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        base = real[rng.integers(0, len(real), n)].copy()
        cls = rng.integers(0, N_CLASSES, n)
        target = rng.uniform(0.3, 0.95, n)
        rows = np.arange(n)
        others = base.copy()
        others[rows, cls] = -np.inf
        lse = np.log(np.exp(others - others.max(1, keepdims=True)).sum(1)) + others.max(1)
        base[rows, cls] = lse + np.log(target / (1 - target))
        p = np.exp(base - base.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        return standardise(base), sharpen(p, temperature).astype(np.float32)

    return draw


# --- blocks: independently trained towers side by side ----------------------------------------


_BLOCK_KEYS = ("W", "bias", "S", "tau")


def split_block(state: dict[str, np.ndarray], block: int, bits: int) -> dict[str, np.ndarray]:
    """The towers of one block (bits block*bits ... (block+1)*bits) as a stand-alone state."""
    sl = slice(block * bits, (block + 1) * bits)
    out = {k: v for k, v in state.items() if k in ("txt_mean", "txt_std")}
    for pre in ("img_", "txt_"):
        out[pre + "W"], out[pre + "bias"] = state[pre + "W"][:, sl], state[pre + "bias"][sl]
        out[pre + "S"], out[pre + "tau"] = state[pre + "S"][sl, sl], state[pre + "tau"][sl]
        out[pre + "layers"], out[pre + "beta"] = state[pre + "layers"], state[pre + "beta"]
    return out


def join_blocks(states: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Blocks side by side: one ISTA encoder per modality with block-diagonal lateral weights,
    so its code is the blocks' codes one after another and its Hamming distance their sum."""
    out = dict(states[0])
    for pre in ("img_", "txt_"):
        out[pre + "W"] = np.concatenate([s[pre + "W"] for s in states], 1)
        out[pre + "bias"] = np.concatenate([s[pre + "bias"] for s in states])
        out[pre + "tau"] = np.concatenate([s[pre + "tau"] for s in states])
        n = sum(len(s[pre + "tau"]) for s in states)
        lateral, at = np.zeros((n, n), np.float32), 0
        for s in states:
            m = len(s[pre + "tau"])
            lateral[at:at + m, at:at + m] = s[pre + "S"]
            at += m
        out[pre + "S"] = lateral
    out["blocks"] = np.array(len(states), np.int64)
    return out


def train_blocks(ts: TrainSet, p: TrainParams, init: dict[str, np.ndarray] | None = None,
                 synth: Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]] | None = None,
                 progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> dict[str, np.ndarray]:
    """`p.blocks` blocks of `p.bits`, block b trained by `train_towers` with seed p.seed + b
    (from block b of `init` when given); progress counts the steps of all blocks."""
    states = []
    for b in range(p.blocks):
        def step(done: int, total: int, text: str, b: int = b) -> None:
            if progress is not None:
                progress(b * total + done, p.blocks * total, f"block {b + 1}/{p.blocks}: {text}")
        states.append(train_towers(ts, replace(p, seed=p.seed + b), None if init is None else split_block(init, b, p.bits),
                                   synth, step, cancel))
    return join_blocks(states)


def vocab_state(texts: list[str], concepts: list[list[str]], emb: np.ndarray) -> dict[str, np.ndarray]:
    data = json.dumps({"texts": texts, "concepts": concepts}, ensure_ascii=False).encode()
    return {"vocab_json": np.frombuffer(data, np.uint8).copy(), "vocab_emb": emb.astype(np.float16)}


def logit_state(amap: tuple[np.ndarray, np.ndarray]) -> dict[str, np.ndarray]:
    """The centred classifier in the model file (float16: 2.6 MB; the tower's standardised
    logits then differ from float32 ones by about 1e-3)."""
    return {"logit_W": amap[0].astype(np.float16), "logit_b": amap[1].astype(np.float32)}


def train_shipped(real_features: np.ndarray, vocab: Vocabulary, text_emb: np.ndarray, params: TrainParams,
                  fc: tuple[np.ndarray, np.ndarray], progress: Progress | None = None) -> MultimodalSparseHash:
    """The out-of-the-box model: no labelled photo, only the backbone's own knowledge."""
    amap = logit_map(fc)
    logits = np.asarray(real_features, np.float32) @ amap[0] + amap[1]
    q = sharpen(probs_from_features(real_features, fc), params.temperature)
    tcon = np.zeros((len(vocab.texts), N_CLASSES), np.float32)
    for t, cs in enumerate(vocab.concepts):
        tcon[t, list(cs)] = 1
    ts = TrainSet(standardise(logits), q.astype(np.float32), np.zeros(len(q), bool),
                  text_emb.astype(np.float32), tcon, np.zeros(N_CLASSES, bool))
    state = train_blocks(ts, params, synth=synthetic_logits(logits, params.temperature), progress=progress)
    concepts = [[str(c) for c in cs] for cs in vocab.concepts]
    state.update(vocab_state(vocab.texts, concepts, text_emb))
    state.update(logit_state(amap))
    head = MultimodalSparseHash(params.bits * params.blocks, threshold=0.5, steps=params.steps, seed=params.seed)
    head.state = state
    return head


# --- learning from the user's tags -------------------------------------------------------------


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)


def words_near_tags(word_emb: np.ndarray, text_emb: np.ndarray, text_rows: np.ndarray, is_user: np.ndarray,
                    min_cos: float = 0.45, temp: float = 0.05, top: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """The words whose nearest named text (by MiniLM cosine) is one of the user's tags, each with
    soft concept weights: a softmax over its `top` nearest texts of cosine / temp, spread over
    those texts' concepts. The bridge of baseline (a), extended to the user's own concepts."""
    wu = _unit(word_emb)
    near_user = (wu @ _unit(text_emb[is_user]).T).max(1) >= min_cos
    wu, w_emb = wu[near_user], word_emb[near_user]
    cos = wu @ _unit(text_emb).T
    keep = is_user[cos.argmax(1)] & (cos.max(1) < 0.999)  # nearest is a user tag, and not that tag
    cos, w_emb = cos[keep], w_emb[keep]
    idx = np.argsort(-cos, 1)[:, :top]
    c = np.take_along_axis(cos, idx, 1)
    w = np.exp((c - c[:, :1]) / temp)
    w /= w.sum(1, keepdims=True)
    rows = np.einsum("wt,wtk->wk", w, text_rows[idx])
    return w_emb.astype(np.float32), np.minimum(rows, 1).astype(np.float32)


def learn_from_tags(base: MultimodalSparseHash, features: np.ndarray, fc: tuple[np.ndarray, np.ndarray],
                    photo_tags: list[list[str]], tag_emb: dict[str, np.ndarray], params: TrainParams,
                    progress: Progress | None = None, cancel: Callable[[], bool] | None = None,
                    words: np.ndarray | None = None) -> MultimodalSparseHash:
    """Fine-tune the towers on a library (the transfer model: its text tower only, so a person's
    tags cannot unteach the image tower what it knew; older models: both): its photos' stored features (with `fc`, the backbone's
    classifier, `classifier_weights()`, for their probabilities and logits), and the tags people
    gave some of them (`photo_tags[i]`, normalised texts; `tag_emb` their MiniLM
    vectors). The user's tags become new concepts and new vocabulary for suggestions. Each block
    of `base` is fine-tuned on its own (its length and count come from `base`, not `params`).

    `words` (MiniLM vectors of everyday words, `textenc.word_vectors`): the words whose meaning
    is closest to one of the user's tags are trained to land where that tag lands, so that
    "pants" finds what was tagged "trouser" (see `words_near_tags`)."""
    vtexts, vconcepts = base.vocab()
    user_tags = sorted(tag_emb)
    col = {t: N_CLASSES + j for j, t in enumerate(user_tags)}
    k = N_CLASSES + len(user_tags)
    q = np.zeros((len(features), k), np.float32)
    q[:, :N_CLASSES] = sharpen(probs_from_features(features, fc), params.temperature)
    labelled = np.zeros(len(features), bool)
    for i, tags in enumerate(photo_tags):
        for t in tags:
            if t in col:
                q[i, col[t]] = 1.0
                labelled[i] = True
    # texts: the base vocabulary (ImageNet concepts) + the user's tags (not already in it)
    known = {t: n for n, t in enumerate(vtexts)}
    texts = list(vtexts)
    concepts = [list(c) for c in vconcepts]
    for t in user_tags:
        if t in known:
            concepts[known[t]] = sorted(set(concepts[known[t]]) | {f"u:{t}"})
        else:
            texts.append(t)
            concepts.append([f"u:{t}"])
    emb = np.concatenate([base.state["vocab_emb"].astype(np.float32)] +
                         [tag_emb[t][None] for t in user_tags if t not in known]).astype(np.float32)
    tcon = np.zeros((len(texts), k), np.float32)
    for n, cs in enumerate(concepts):
        for c in cs:
            tcon[n, col[c[2:]] if c.startswith("u:") else int(c)] = 1
    user_cols = np.zeros(k, bool)
    user_cols[N_CLASSES:] = True
    soft = np.zeros(len(texts), bool)
    if words is not None and len(words):
        is_user = tcon[:, N_CLASSES:].sum(1) > 0
        w_emb, w_rows = words_near_tags(np.asarray(words, np.float32), emb, tcon, is_user)
        emb, tcon = np.concatenate([emb, w_emb]), np.concatenate([tcon, w_rows])
        soft = np.concatenate([soft, np.ones(len(w_emb), bool)])
    if "logit_W" not in base.state:
        raise ModelError("the base tag model predates per-photo logits; reinstall HashLens")
    init = {key: v for key, v in base.state.items() if key.startswith(("img_", "txt_"))}
    blocks = int(base.state.get("blocks", 1))
    params = replace(params, bits=base.bits // blocks, blocks=blocks, layers=int(base.state["img_layers"]),
                     beta=float(base.state["img_beta"]))
    amap = logit_map(fc)
    if "class_emb" in base.state:  # the transfer model (issue 15): its own loss, one block
        from hashcore.tags.transfer import TransferParams, finetune

        tp = TransferParams(steps=params.steps, seed=params.seed)
        focus = np.flatnonzero(tcon[:, N_CLASSES:].sum(1) > 0)
        # the image tower stays as shipped: trained on a few hundred photos of one library it lost
        # what it knew of the rest ("animal" after tagging 10 animal photos: mAP of the untagged
        # ones 0.75 -> 0.59); the text tower moves the person's words to their photos' codes
        state = finetune(init, base.image_input(features), q, labelled, emb, tcon, tp, progress, cancel, focus,
                         train_images=False)
        state["blocks"] = np.array(1, np.int64)
    else:
        ts = TrainSet(base.image_input(features), q, labelled, emb, tcon, user_cols, soft)
        state = train_blocks(ts, params, init=init, progress=progress, cancel=cancel)
    state.update(vocab_state(texts, concepts, emb[:len(texts)]))
    state.update(logit_state(amap))
    if "class_emb" in base.state:
        state["class_emb"] = base.state["class_emb"]
    head = MultimodalSparseHash(base.bits, **{**base.params, "user_tags": user_tags})
    head.state = state
    return head
