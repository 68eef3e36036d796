"""Copy-detection codes: a head trained so that edits of one photo land close and different
photos land apart, in the manner of SSCD (Pizzi et al., CVPR 2022), over frozen backbone features.

Training rows are backbone features of edited views of photos; `y` says which photo each row
shows (its "instance"). The head (standardise -> MLP -> L2-normalised embedding) is trained with

    InfoNCE:  L_i = -1/|P(i)| sum_{p in P(i)} log( exp(s_ip / t) / sum_{a != i} exp(s_ia / t) )

(P(i): the other views of i's photo in the batch, s: cosine) plus SSCD's entropy regulariser,
the Kozachenko-Leonenko estimate of differential entropy, which spreads different photos over
the sphere:

    L_KoLeo = -1/n sum_i log( min_{j: y_j != y_i} ||z_i - z_j|| + eps ).

Hard negatives the training pool makes itself (`fit(..., related=...)`): burst stand-ins, two
panned frames of one photo that share only part of it, each an instance of its own with its own
edited views. The two frames are negatives of each other (and of every other photo); against
their source photo's views they are neither positive nor negative (a frame is also a crop of the
photo, and crops are copies), which `ignore_mask` leaves out of both losses, and `group_batches`
puts a photo and its frames in one batch.

The embedding is the float descriptor that verifies candidate duplicate pairs (`embed`). The
binary code (`encode`) is by default a linear hash layer on the embedding trained with it: the
same InfoNCE on the relaxed codes tanh(h), plus a quantisation penalty mean((|tanh h| - 1)^2)
that pushes them to the cube's corners, so Hamming distance itself separates copies from other
photos; `code="itq"` fits ITQ (PCA + rotation, Gong & Lazebnik) on the embeddings instead, and
`code_loss="dsh"` uses DSH's pairwise loss with "same photo" as the label. Inference runs from
numpy arrays; torch is imported only in `fit`. bench/train_copyhash.py trains the shipped file.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hashcore.models.methods.base import HashHead, register
from hashcore.models.methods.dsh import (
    build_mlp,
    dsh_loss,
    export_mlp,
    mlp_numpy,
    standardise,
    standardiser,
    torch_setup,
)
from hashcore.models.methods.itq import itq_rotation, pca

DEFAULTS: dict[str, Any] = {
    "hidden": 0,  # 0: a linear map (generalised as well as a 1024-unit MLP on held-out photos, see bench)
    "dim": 256,  # embedding size
    "tau": 0.05,  # InfoNCE temperature
    "koleo": 0.1,  # weight of the entropy regulariser
    "steps": 1000,
    "batch": 128,  # photos per step, `views` rows of each
    "views": 2,
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "dropout": 0.1,  # on the standardised input features
    "seed": 0,
    "code": "learned",  # "learned": a tanh hash layer trained with the embedding; "itq": ITQ on the embedding
    "code_tau": 0.2,  # InfoNCE temperature on the relaxed codes (learned codes)
    "quant": 0.1,  # weight of the quantisation penalty mean((|u| - 1)^2) (learned codes)
    "code_loss": "infonce",  # learned codes: "infonce" (above) or "dsh" (pairwise, same photo = similar)
    "code_weight": 1.0,  # weight of the DSH code loss (divided by bits)
}


def info_nce(z: Any, y: Any, tau: float, ignore: Any = None) -> Any:
    """Multi-positive InfoNCE (SupCon form; NT-Xent with two views) over L2-normalised rows z,
    positives = rows with the same label. Rows without a positive in the batch only serve as
    negatives. `ignore` (n, n) bool: pairs that are neither positives nor negatives (left out of
    the softmax)."""
    import torch

    n = len(z)
    eye = torch.eye(n, dtype=torch.bool, device=z.device)
    skip = eye if ignore is None else eye | ignore
    logits = (z @ z.T / tau).masked_fill(skip, float("-inf"))
    pos = (y[:, None] == y[None, :]) & ~eye
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    has = pos.any(dim=1)
    per_row = -(log_prob.masked_fill(~pos, 0.0)).sum(dim=1) / pos.sum(dim=1).clamp(min=1)
    return per_row[has].mean()


def koleo(z: Any, y: Any, eps: float = 1e-8, ignore: Any = None) -> Any:
    """SSCD's entropy regulariser: minus the mean log distance of each row to its nearest row of
    another photo (pairs in `ignore` do not count)."""
    import torch

    d = torch.cdist(z, z)
    same = y[:, None] == y[None, :]
    d = d.masked_fill(same if ignore is None else same | ignore, float("inf"))
    return -torch.log(d.min(dim=1).values + eps).mean()


def quantisation(u: Any) -> Any:
    """How far relaxed codes u in (-1, 1) are from the cube's corners: mean((|u| - 1)^2)."""
    return (u.abs() - 1).pow(2).mean()


def instance_batches(y: np.ndarray, batch: int, views: int, rng: np.random.Generator) -> Any:
    """Row indices for one step: `batch` photos (of those with >= 2 rows), `views` rows of each."""
    labels, inverse = np.unique(y, return_inverse=True)
    rows = [np.flatnonzero(inverse == k) for k in range(len(labels))]
    multi = [r for r in rows if len(r) >= 2]
    if not multi:
        raise ValueError("copy-hash training needs at least one photo with two or more views")
    while True:
        pick = rng.choice(len(multi), size=min(batch, len(multi)), replace=False)
        yield np.concatenate([rng.choice(multi[k], size=min(views, len(multi[k])), replace=False) for k in pick])


def group_batches(y: np.ndarray, related: np.ndarray, batch: int, views: int,
                  rng: np.random.Generator) -> Any:
    """Like `instance_batches`, but a photo comes with the instances cut from it (rows whose
    `related` is its label: burst stand-ins), `views` rows of each, so that those hard negatives
    meet in one batch."""
    labels, inverse = np.unique(y, return_inverse=True)
    rows = [np.flatnonzero(inverse == k) for k in range(len(labels))]
    parent_of = {k: int(related[r[0]]) for k, r in enumerate(rows)}
    children: dict[int, list[int]] = {}
    for k, p in parent_of.items():
        if p >= 0:
            children.setdefault(p, []).append(k)
    roots = [k for k in range(len(labels)) if parent_of[k] < 0 and len(rows[k]) >= 2]
    if not roots:
        raise ValueError("copy-hash training needs at least one photo with two or more views")
    while True:
        pick = rng.choice(len(roots), size=min(batch, len(roots)), replace=False)
        out = []
        for k in (roots[i] for i in pick):
            for m in [k, *children.get(int(labels[k]), [])]:
                out.append(rng.choice(rows[m], size=min(views, len(rows[m])), replace=False))
        yield np.concatenate(out)


def ignore_mask(y: Any, related: Any) -> Any:
    """(n, n) pairs that are neither copies nor negatives: an instance cut from a photo (a burst
    stand-in, `related` = the photo's label) against that photo's own views."""
    return (related[:, None] == y[None, :]) | (y[:, None] == related[None, :])


@register
class CopyHash(HashHead):
    """Contrastive copy-detection embedding + ITQ code; see the module docstring."""

    method = "copyhash"
    supervised = True  # y: which photo each row is a view of

    def _p(self, key: str) -> Any:
        return self.params.get(key, DEFAULTS[key])

    def fit(self, x: np.ndarray, y: np.ndarray | None = None, progress: Any = None,
            related: np.ndarray | None = None) -> CopyHash:
        """`y`: which photo (instance) each row shows. `related` (optional, int per row): for rows
        of an instance cut from another photo (a burst stand-in), that photo's label, else -1;
        such an instance is a negative of every other instance except its source photo, against
        which it is not compared."""
        if y is None:
            raise ValueError("copyhash needs y: which photo each row is a view of")
        x = np.asarray(x, np.float32)
        dim = int(self._p("dim"))
        if dim < self.bits:
            raise ValueError(f"embedding size {dim} is smaller than the code ({self.bits} bits)")
        torch = torch_setup(int(self._p("seed")))
        norm = dict(zip(("mean", "std"), standardiser(x), strict=True))
        y = np.asarray(y)
        related = np.full(len(y), -1, np.int64) if related is None else np.asarray(related, np.int64)
        net, hash_layer = self._train(torch, torch.from_numpy(standardise(x, norm)), y, related, progress)
        state = {**norm, **export_mlp(net, "emb_")}
        if hash_layer is not None:
            code = export_mlp(torch.nn.Sequential(hash_layer), "h_")
            self.state = {**state, "hash_w": code["h_w0"], "hash_b": code["h_b0"]}
            return self
        z = _normalise(mlp_numpy(standardise(x, norm), state, "emb_"))
        mean, w = pca(z.astype(np.float64), self.bits)
        r = itq_rotation((z - mean) @ w, 50, np.random.default_rng(int(self._p("seed"))))
        proj = (w @ r).astype(np.float32)
        self.state = {**state, "hash_w": proj, "hash_b": (-mean @ proj).astype(np.float32)}
        return self

    def _train(self, torch: Any, xt: Any, y: np.ndarray, related: np.ndarray, progress: Any) -> tuple[Any, Any]:
        """The embedding MLP, and the hash layer when the code is learned too (else None)."""
        hidden, dim = int(self._p("hidden")), int(self._p("dim"))
        net = build_mlp([xt.shape[1], hidden, dim] if hidden else [xt.shape[1], dim])
        hash_layer = torch.nn.Linear(dim, self.bits) if self._p("code") == "learned" else None
        params = list(net.parameters()) + (list(hash_layer.parameters()) if hash_layer is not None else [])
        drop = torch.nn.Dropout(float(self._p("dropout")))
        opt = torch.optim.AdamW(params, lr=float(self._p("lr")), weight_decay=float(self._p("weight_decay")))
        steps = int(self._p("steps"))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        yt, rt = torch.from_numpy(y), torch.from_numpy(related)
        rng = np.random.default_rng(int(self._p("seed")))
        cut = bool((related >= 0).any())
        batches = group_batches(y, related, int(self._p("batch")), int(self._p("views")), rng) if cut \
            else instance_batches(y, int(self._p("batch")), int(self._p("views")), rng)
        tau, lam = float(self._p("tau")), float(self._p("koleo"))
        net.train()
        for step in range(steps):
            idx = torch.from_numpy(next(batches))
            z = torch.nn.functional.normalize(net(drop(xt[idx])), dim=1)
            skip = ignore_mask(yt[idx], rt[idx]) if cut else None
            loss = info_nce(z, yt[idx], tau, skip) + lam * koleo(z, yt[idx], ignore=skip)
            if hash_layer is not None:
                loss = loss + self._code_loss(torch, hash_layer(z), yt[idx], skip)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if progress is not None and (step + 1) % 100 == 0:
                progress(step + 1, steps, f"{self.method} loss {float(loss.detach()):.3f}")
        return net.eval(), hash_layer

    def _code_loss(self, torch: Any, h: Any, y: Any, skip: Any = None) -> Any:
        """InfoNCE on the relaxed codes tanh(h) plus the quantisation penalty; or DSH's pairwise
        loss with "same photo" as the label (margin 2 * bits, its own regulariser)."""
        if self._p("code_loss") == "dsh":
            if skip is not None:
                raise ValueError("code_loss='dsh' does not take burst stand-ins (related)")
            sim = (y[:, None] == y[None, :]).float()
            return float(self._p("code_weight")) * dsh_loss(h, sim, 2.0 * self.bits, 0.01) / self.bits
        u = torch.tanh(h)
        return info_nce(torch.nn.functional.normalize(u, dim=1), y, float(self._p("code_tau")), skip) \
            + float(self._p("quant")) * quantisation(u)

    def embed(self, x: np.ndarray) -> np.ndarray:
        """Features (N, D) -> L2-normalised embeddings (N, dim): the copy-verification descriptor
        (cosine = dot product)."""
        return _normalise(mlp_numpy(standardise(x, self.state), self.state, "emb_"))

    def encode(self, x: np.ndarray) -> np.ndarray:
        return self.embed(x) @ self.state["hash_w"] + self.state["hash_b"] >= 0


def _normalise(z: np.ndarray) -> np.ndarray:
    return (z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)).astype(np.float32)
