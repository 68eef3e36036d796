"""Tags from three sources, and the multimodal model that finds photos by tag text.

- user tags: typed in the GUI or `hashcore tag add` (source "user");
- keywords already in the files: XMP dc:subject, IPTC keywords (2:25) and Windows XP keywords,
  imported read-only (source "file");
- automatic tags from the backbone's ImageNet classes and the group words of the vocabulary
  (source "auto", with the probability as confidence), never presented as a person's words.

The pieces: `keywords` (files), `auto` (automatic tags), `model` (which model file); this module
searches, suggests and learns on a Library.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from hashcore.errors import HashLensError, NotFoundError
from hashcore.models.manifest import HeadInfo
from hashcore.models.textenc import normalise_tag
from hashcore.tags.auto import AutoTagger
from hashcore.tags.keywords import file_keywords
from hashcore.tags.model import (
    USER_MODEL,
    load_model,
    model_info,
    multimodal_info,
    record_multimodal,
)

SOURCES = ("user", "file", "auto")


def _model_id(lib: Any) -> int:
    info = model_info(lib.config)
    return int(lib.store.ensure_model(info.name, info.method, info.bits, info.sha256))


def tag_codes(lib: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """(ids, packed codes, model id) of every ok photo under the tag model; photos indexed since
    the last call (or since the model changed) are coded now from their stored features."""
    from hashcore.search import bits as bitops

    head, mid = load_model(lib.config), _model_id(lib)
    todo = lib.store.ids_without_code(mid)
    for start in range(0, len(todo), 4096):
        ids, feats = lib.store.features(todo[start:start + 4096])
        if len(ids):
            with lib.store.transaction() as c:
                lib.store.put_codes(c, mid, ids, bitops.pack(head.encode(feats)))
    ids, codes = lib.store.codes(mid)
    return ids, codes, mid


def _photo_activations(lib: Any, head: Any, image: int | str | Path) -> tuple[np.ndarray, int | None]:
    """Image-tower activations of an indexed photo (by id) or of any image file."""
    if isinstance(image, int | np.integer):
        row = lib.store.image(int(image))  # NotFoundError for a missing photo
        _, feats = lib.store.features([int(image)], status=row["status"])
        if not len(feats):
            raise NotFoundError(f"photo {image} has no features yet; index its folder first")
        return head.image_activations(feats)[0], int(image)
    _, feature = lib.query_for_file(image)
    return head.image_activations(feature[None])[0], None


def explicit_matches(lib: Any, tags: list[str]) -> dict[int, int]:
    """How many of the query tags each photo carries from a person (user or file keywords)."""
    counts: dict[int, int] = {}
    if not tags:
        return counts
    rows = lib.store.conn.execute(
        "SELECT image_id, lower(tag) FROM tags WHERE source != 'auto' AND lower(tag) IN "
        "(SELECT value FROM json_each(?))", (json.dumps(tags),))
    for image_id, _ in rows:
        counts[image_id] = counts.get(image_id, 0) + 1
    return counts


def find(lib: Any, texts: list[str], k: int = 20, mode: str = "any", like: Any = None,
         radius: int | None = None) -> list[Any]:
    from hashcore.library import Hit
    from hashcore.models.textenc import shared
    from hashcore.search import bits as bitops
    from hashcore.search.scan import best_scan

    if mode not in ("any", "all"):
        raise HashLensError(f"unknown tag mode {mode!r}: use 'any' or 'all'")
    tags = list(dict.fromkeys(t for t in (normalise_tag(x) for x in texts) if t))
    if not tags and like is None:
        raise NotFoundError("nothing to search for: the tag text is empty")
    head = load_model(lib.config)
    like_act = _photo_activations(lib, head, like) if like is not None else None
    ids, codes, _ = tag_codes(lib)
    if not len(ids):
        return []
    acts = [head.text_activations(e[None])[0] for e in shared().encode(tags)] if tags else []
    if like_act is not None:
        acts.append(like_act[0])
    scan = best_scan(codes)
    dist = np.stack([scan.distances(bitops.pack((a > head.threshold)[None])[0]) for a in acts]).astype(np.int64)
    # several words: each counts by how much farther a photo is than that word's best match here,
    # so that a word with a dense code (large distances to everything) cannot crowd out the
    # others; the distance shown is the photo's own distance to the word that placed it
    above = dist - dist.min(1, keepdims=True)
    which = above.argmax(0) if mode == "all" else above.argmin(0)
    rank = above[which, np.arange(len(ids))]
    combined = dist[which, np.arange(len(ids))]
    explicit = explicit_matches(lib, tags)
    boost = np.array([explicit.get(int(i), 0) for i in ids])
    keep = np.ones(len(ids), bool) if radius is None else (combined <= radius) | (boost > 0)
    if like_act is not None and like_act[1] is not None:
        keep &= ids != like_act[1]
    cand = np.flatnonzero(keep)
    if not len(cand):
        return []
    # candidates: everything up to the k-th distance (ties included), re-ranked by activations
    order = cand[np.lexsort((rank[cand], -boost[cand]))]
    cut = order[: k + 2000] if len(order) > k else order
    kth = rank[order[min(k, len(order)) - 1]]
    cut = np.union1d(cut[rank[cut] <= kth], order[:k])
    fid, feats = lib.store.features(ids[cut].tolist())
    ia = head.image_activations(feats) if len(feats) else np.zeros((0, head.bits))
    l1_of = {int(i): float(sum(np.abs(ia[n] - a).sum() for a in acts)) for n, i in enumerate(fid)}
    ranked = sorted(cut, key=lambda j: (-boost[j], rank[j], l1_of.get(int(ids[j]), 1e9), int(ids[j])))[:k]
    rows = {r["id"]: r for r in lib.store.images(ids=[int(ids[j]) for j in ranked])}
    return [Hit(int(ids[j]), rows[int(ids[j])]["path"], int(combined[j]), bool(boost[j]))
            for j in ranked if int(ids[j]) in rows]


def suggest(lib: Any, image: Any, k: int = 8) -> list[tuple[str, int]]:
    """Nearest tag texts of the model's vocabulary to a photo's code; one text per concept."""
    head = load_model(lib.config)
    act, image_id = _photo_activations(lib, head, image)
    texts, concepts = head.vocab()
    vact = head.vocab_activations()
    code, vcodes = act > head.threshold, vact > head.threshold
    ham = (vcodes != code[None]).sum(1)
    l1 = np.abs(vact - act[None]).sum(1)
    have = {normalise_tag(t["tag"]) for t in lib.store.tags_of(image_id)} if image_id is not None else set()
    out: list[tuple[str, int]] = []
    seen: set[tuple[str, ...]] = set()
    for j in np.lexsort((l1, ham)):
        key = tuple(concepts[j])
        if key in seen or texts[j] in have:
            continue
        seen.add(key)
        out.append((texts[j], int(ham[j])))
        if len(out) >= k:
            break
    return out


def tag_label(tag: str, source: str, confidence: float | None = None) -> str:
    """How a tag is shown to a person: theirs as is; the others say where they came from."""
    if source == "auto":
        return f"{tag} (auto, {confidence:.0%})" if confidence is not None else f"{tag} (auto)"
    if source == "file":
        return f"{tag} (from file)"
    return tag if source == "user" else f"{tag} ({source})"


def tag_counts(lib: Any) -> list[tuple[str, int, int]]:
    """(tag, photos a person or a file gave it, photos the model gave it), ok photos only."""
    rows = lib.store.conn.execute(
        "SELECT t.tag, sum(t.source != 'auto'), sum(t.source = 'auto') FROM tags t "
        "JOIN images i ON i.id = t.image_id WHERE i.status = 'ok' GROUP BY t.tag ORDER BY t.tag")
    return [(r[0], int(r[1]), int(r[2])) for r in rows]


_UNTAGGED_PROBS = ("SELECT f.image_id, f.probs FROM features f JOIN images i ON i.id = f.image_id "
                   "WHERE i.status = 'ok' AND f.probs IS NOT NULL AND NOT EXISTS "
                   "(SELECT 1 FROM tags t WHERE t.image_id = f.image_id AND t.source = 'auto')")


def auto_tag(lib: Any, retag: list[int] | None = None) -> int:
    """Automatic tags for photos that have none yet, from their stored ImageNet probabilities.
    Photos in `retag` (new or changed files) lose their old automatic tags first. Nothing is
    written (and cached codes stay valid) when there is nothing to tag."""
    tagger = AutoTagger.load(lib.config.resources / "tags" / "imagenet_vocab.json")
    if not retag and not lib.store.conn.execute(_UNTAGGED_PROBS + " LIMIT 1").fetchall():
        return 0
    with lib.store.transaction() as c:
        if retag:
            c.execute("DELETE FROM tags WHERE source = 'auto' AND image_id IN (SELECT value FROM json_each(?))",
                      (json.dumps([int(i) for i in retag]),))
        new = [(i, tag, "auto", conf) for i, blob in c.execute(_UNTAGGED_PROBS).fetchall()
               for tag, conf in tagger.tags(np.frombuffer(blob, np.float16).astype(np.float32))]
        before = c.total_changes
        c.executemany("INSERT OR IGNORE INTO tags VALUES (?, ?, ?, ?)", new)  # a person's tag stays theirs
        return c.total_changes - before


def import_keywords(lib: Any, progress: Any = None, ids: list[int] | None = None, cancel: Any = None) -> int:
    """Keywords found in the files become tags with source "file" (the files are not changed).
    A keyword is a person's word: it replaces an automatic tag of the same text, never a tag a
    person typed. `cancel` is checked between files (raises Cancelled, nothing is written)."""
    from hashcore.errors import Cancelled

    rows = lib.store.images() if ids is None else lib.store.images(ids=ids)
    new = []
    for n, r in enumerate(rows):
        if cancel is not None and cancel():
            raise Cancelled("keyword import cancelled; nothing was changed")
        try:
            new += [(r["id"], t, "file", None) for t in file_keywords(r["path"])]
        except OSError:
            pass  # unreadable now: its keywords come with the next import
        if progress is not None:
            progress(n + 1, len(rows), r["path"])
    if not new:
        return 0
    with lib.store.transaction() as c:
        before = c.total_changes
        c.executemany("INSERT INTO tags VALUES (?, ?, ?, ?) ON CONFLICT(image_id, tag) DO UPDATE "
                      "SET source = excluded.source, confidence = NULL WHERE tags.source = 'auto'", new)
        return c.total_changes - before


def vocabulary(lib: Any) -> list[str]:
    own = [t for t, _ in lib.store.all_tags()]
    texts, _ = load_model(lib.config).vocab()
    return list(dict.fromkeys(own + texts))


def learn(lib: Any, progress: Any = None, cancel: Any = None, min_photos: int = 3,
          steps: int = 600) -> dict[str, Any]:
    """Retrain the tag model from the library's own tags (user and file keywords), starting from
    the shipped model; writes it to the data folder, where it replaces the shipped one."""
    import time

    from hashcore.models.methods import load_head
    from hashcore.models.textenc import shared, word_vectors
    from hashcore.tags.multimodal import TrainParams, classifier_weights, learn_from_tags

    ids, feats = lib.store.features()
    pos = {int(i): n for n, i in enumerate(ids)}
    photo_tags: list[list[str]] = [[] for _ in ids]
    for image_id, tag in lib.store.conn.execute("SELECT image_id, tag FROM tags WHERE source != 'auto'"):
        if image_id in pos and normalise_tag(tag):
            photo_tags[pos[image_id]].append(normalise_tag(tag))
    counts: dict[str, int] = {}
    for tags in photo_tags:
        for t in set(tags):
            counts[t] = counts.get(t, 0) + 1
    usable = sorted(t for t, n in counts.items() if n >= min_photos)
    if not usable:
        raise HashLensError(f"no tag is on {min_photos} or more photos yet; tag a few photos first")
    t0 = time.monotonic()
    fc = classifier_weights()
    tag_emb = dict(zip(usable, shared().encode(usable), strict=True))
    base_info = multimodal_info(lib.config.models_dir)
    base = load_head(base_info.path, base_info.sha256)
    words = word_vectors(Path(lib.config.cache_dir), progress, cancel)
    params = TrainParams(steps=steps)  # bits and blocks come from the base model
    head = learn_from_tags(base, feats, fc, photo_tags, tag_emb, params, progress, cancel, words=words)
    out_dir = Path(lib.config.home) / "models"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{USER_MODEL}.npz"
    sha = head.save(path)
    record_multimodal(HeadInfo(USER_MODEL, path, head.method, head.bits, sha), out_dir)
    tag_codes(lib)  # recode every photo from its stored features now, not at the first search
    return {"tags": usable, "photos": int(sum(bool(t) for t in photo_tags)), "model": str(path),
            "seconds": round(time.monotonic() - t0, 1), "steps": steps}
