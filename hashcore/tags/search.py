"""Tags from three sources, and the multimodal model that finds photos by tag text.

- user tags: typed in the GUI or `hashcore tag add` (source "user");
- keywords already in the files: XMP dc:subject, IPTC keywords (2:25) and Windows XP keywords,
  imported read-only (source "file");
- automatic tags from the backbone's ImageNet classes and the group words of the vocabulary
  (source "auto", with the probability as confidence), never presented as a person's words.

The pieces: `keywords` (files), `auto` (automatic tags), `model` (which model file); here
`TagService` searches, suggests and learns over a Store. It never imports the Library: what it
needs of the similar-photo search (the feature of an image file) comes in as a callable.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hashcore.config import Config
from hashcore.errors import Cancelled, HashLensError, NotFoundError
from hashcore.models.manifest import HeadInfo
from hashcore.models.textenc import normalise_tag
from hashcore.search import bits as bitops
from hashcore.search.hits import Hit
from hashcore.search.scan import best_scan
from hashcore.store.db import Store
from hashcore.tags import fusion
from hashcore.tags.auto import AutoTagger
from hashcore.tags.keywords import file_keywords
from hashcore.tags.kinds import query_vectors
from hashcore.tags.model import (
    USER_MODEL,
    load_model,
    model_info,
    multimodal_info,
    record_multimodal,
)
from hashcore.tags.phrase import read, subject
from hashcore.tags.plural import forms, singular

if TYPE_CHECKING:
    from hashcore.tags.multimodal import MultimodalSparseHash

SOURCES = ("user", "file", "auto")
MAX_RERANK = 2000  # candidates beyond the k-th distance's ties that the activations may re-rank
Progress = Callable[[int, int, str], None]
FileFeature = Callable[[str | Path], np.ndarray]  # an image file -> its backbone feature
PhotoRef = int | str | Path  # an indexed photo's id, or an image file


def tag_label(tag: str, source: str, confidence: float | None = None) -> str:
    """How a tag is shown to a person: theirs as is; the others say where they came from."""
    if source == "auto":
        return f"{tag} (auto, {confidence:.0%})" if confidence is not None else f"{tag} (auto)"
    if source == "file":
        return f"{tag} (from file)"
    return tag if source == "user" else f"{tag} ({source})"


def query_tags(texts: str | Sequence[str]) -> list[str]:
    """The distinct normalised tags of a query: a str is one tag text ("beach", "ankle boot"),
    never a sequence of letters."""
    items = [texts] if isinstance(texts, str) else list(texts)
    return list(dict.fromkeys(t for t in (normalise_tag(x) for x in items) if t))


def read_tags(texts: str | Sequence[str]) -> list[str]:
    """The distinct words a search reads in a query's tags ("photos of dogs" -> "dog";
    hashcore/tags/phrase.py): what the models embed, and what the GUI and CLI say was searched."""
    return list(dict.fromkeys(read(t) for t in query_tags(texts)))


def tag_forms(tag: str) -> list[str]:
    """The spellings a query tag matches among photos' tags: as typed, and its subject in the
    singular and in the plural ("photos of dogs": "dog", "dogs"; "teacup": "teacup", "teacups";
    hashcore/tags/phrase.py, hashcore/tags/plural.py)."""
    return list(dict.fromkeys([tag, *forms(subject(tag))]))


# A tag text is one the models cannot place ("zzxq"), and its nearest photos weak matches, when
# its MiniLM vector is farther than this from every text of the tag model's own vocabulary and
# the text model does not know all its words as whole words. Chosen by bench/weak_queries.py on
# training-side words against made-up strings.
WEAK_BELOW = 0.68


def placement(head: MultimodalSparseHash, tags: Sequence[str]) -> np.ndarray:
    """For each tag text, the cosine of its MiniLM vector to the nearest text of the model's
    vocabulary (its ImageNet/WordNet words, plus a person's tags in a retrained model). Those
    vectors ship inside the model file (`vocab_emb`), so nothing but the query is embedded."""
    from hashcore.models.textenc import shared

    if not len(tags):
        return np.zeros(0, np.float32)
    return (shared().encode(list(tags)) @ head.vocab_vectors().T).max(1)


@lru_cache(maxsize=1)
def known_words() -> frozenset[str]:
    """The whole words of the text model's tokenizer (about 21,000): words with a meaning of
    their own in MiniLM, which the tag model's text tower maps by that meaning ("sunset" has no
    ImageNet class but lands near sky and sea photos); "zzxq" is only word pieces."""
    from hashcore.models.textenc import everyday_words

    return frozenset(everyday_words())


def weak_tags(head: MultimodalSparseHash, tags: Sequence[str]) -> list[bool]:
    """For each (normalised) tag text, whether the models cannot place it: it is far from every
    text of the tag vocabulary and not all of its words are whole words the text model knows.
    ("zzxq dog" is weak: its vector is a blur, 0.53 from the nearest text, and its nearest
    photos are no dogs.) Emoji and other scripts get an answer like any text."""
    known = known_words()
    near = placement(head, tags)
    return [bool(s < WEAK_BELOW) and not all(w in known for w in re.split(r"[\s-]+", t) if w)
            for t, s in zip(tags, near, strict=True)]


_BLAS = threading.Lock()
_BLAS_STATE: dict[str, Any] = {"users": 0, "controller": None, "limiter": None}


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """NumPy's BLAS on one thread while a tag query runs. Its matrices are small (a few tokens
    through MiniLM, a few hundred photos through the image tower): waking a BLAS thread pool
    costs more than it saves, and on a busy machine a pool that waits for a taken core made a
    query ten times slower. OpenBLAS's pool is process-wide (threadpoolctl obeys only the first
    thread that set it, so control is handed to whichever thread changes it here); a count keeps
    overlapping queries in several threads at one thread until the last one ends."""
    with _BLAS:
        if _BLAS_STATE["users"] == 0:
            # the BLAS libraries loaded now (3 ms): a duplicate search in the same process may have
            # loaded another OpenBLAS since the last query (SciPy's, OpenCV's), which a controller
            # made before it would leave at every core
            _BLAS_STATE["controller"] = None
            _BLAS_STATE["limiter"] = _blas_switch(lambda c: c.limit(limits=1, user_api="blas"))
        _BLAS_STATE["users"] += 1
    try:
        yield
    finally:
        with _BLAS:
            _BLAS_STATE["users"] -= 1
            if _BLAS_STATE["users"] == 0:
                limiter = _BLAS_STATE["limiter"]
                _blas_switch(lambda _c: limiter.restore_original_limits())


def _blas_switch(change: Callable[[Any], Any]) -> Any:
    """`change(controller)` with this thread in control of OpenBLAS, then control released."""
    from threadpoolctl import OpenBLASController, ThreadpoolController

    if _BLAS_STATE["controller"] is None:
        _BLAS_STATE["controller"] = ThreadpoolController()  # the BLAS libraries loaded now: NumPy's
    OpenBLASController.clear_controlling_thread(force=True)
    try:
        return change(_BLAS_STATE["controller"])
    finally:
        OpenBLASController.clear_controlling_thread(force=True)


def counts_at(ids: np.ndarray, counts: dict[int, int]) -> np.ndarray:
    """counts.get(id, 0) for every id of `ids` (sorted, as the store returns them), without a
    Python loop over the whole library."""
    out = np.zeros(len(ids), np.int64)
    if counts and len(ids):
        keys = np.fromiter(counts, np.int64, len(counts))
        at = np.minimum(np.searchsorted(ids, keys), len(ids) - 1)
        found = ids[at] == keys
        out[at[found]] = np.fromiter(counts.values(), np.int64, len(counts))[found]
    return out


def smallest(key: np.ndarray, m: int) -> np.ndarray:
    """Positions of the m smallest keys in order, ties by position: np.argsort(key,
    kind="stable")[:m], without sorting all of a 100,000-photo library to keep a few hundred."""
    if m >= len(key):
        return np.argsort(key, kind="stable")
    v = np.partition(key, m - 1)[m - 1]
    below = np.flatnonzero(key < v)
    pick = np.concatenate([below, np.flatnonzero(key == v)[: m - len(below)]])
    pick.sort()
    return pick[np.argsort(key[pick], kind="stable")]


class TagService:
    """Tag search, suggestions, automatic tags, keyword import and learning, over one Store."""

    def __init__(self, store: Store, config: Config, file_feature: FileFeature) -> None:
        self.store, self.config, self.file_feature = store, config, file_feature

    def model(self) -> MultimodalSparseHash:
        """The multimodal model: this library's retrained one if any, else the shipped one."""
        return load_model(self.config)

    def model_id(self) -> int:
        info = model_info(self.config)
        return self.store.ensure_model(info.name, info.method, info.bits, info.sha256)

    def tag_codes(self) -> tuple[np.ndarray, np.ndarray, int]:
        """(ids, packed codes, model id) of every ok photo under the tag model; photos indexed since
        the last call (or since the model changed) are coded now from their stored features."""
        head, mid = self.model(), self.model_id()

        def build(previous: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
            todo = self.store.ids_without_code(mid)
            for start in range(0, len(todo), 4096):
                ids, feats = self.store.features(todo[start:start + 4096])
                if len(ids):
                    with self.store.transaction() as c:
                        self.store.put_codes(c, mid, ids, bitops.pack(head.encode(feats)))
            return self.store.codes(mid)

        # kept in the store's shared cache until the database changes: a warm query reads no codes
        ids, codes = self.store.cached(("tag-codes", mid), build)
        return ids, codes, mid

    def _photo_activations(self, head: MultimodalSparseHash, image: PhotoRef) -> tuple[np.ndarray, int | None]:
        """Image-tower activations of an indexed photo (by id) or of any image file."""
        if isinstance(image, int | np.integer):
            row = self.store.image(int(image))  # NotFoundError for a missing photo
            _, feats = self.store.features([int(image)], status=row["status"])
            if not len(feats):
                raise NotFoundError(f"photo {image} has no features yet; index its folder first")
            return head.image_activations(feats)[0], int(image)
        return head.image_activations(self.file_feature(image)[None])[0], None

    def find(self, texts: str | Sequence[str], k: int = 20, mode: str = "any", like: PhotoRef | None = None,
             radius: int | None = None) -> list[Hit]:
        """Photos for tag texts (any or all of them), optionally also near a photo (an id or a
        file). Photos a person tagged with the very word come first, then those the automatic
        tagger gave it; then Hamming distance, fused with the distance to the first two photos
        (hashcore/tags/fusion.py)."""
        with one_blas_thread():
            return self._find(texts, k, mode, like, radius)

    def _find(self, texts: str | Sequence[str], k: int, mode: str, like: PhotoRef | None,
              radius: int | None) -> list[Hit]:
        from hashcore.models.textenc import shared

        if mode not in ("any", "all"):
            raise HashLensError(f"unknown tag mode {mode!r}: use 'any' or 'all'")
        tags = query_tags(texts)
        if not tags and like is None:
            raise NotFoundError("nothing to search for: the tag text is empty")
        head = self.model()
        like_act = self._photo_activations(head, like) if like is not None else None
        ids, codes, _ = self.tag_codes()
        if not len(ids):
            return []
        # the models read "photos of dogs" as "dog", as tags are written (hashcore/tags/phrase.py)
        texts_in = read_tags(tags)
        vectors = query_vectors(head, texts_in, shared().encode(texts_in)) if tags else np.zeros((0, 384), np.float32)
        acts = [head.text_activations(e[None])[0] for e in vectors]
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
        person = self._person_tag_matches(tags, ids)
        # then the photos whose automatic tags name the very word (a photo auto-tagged "dog" is
        # never below an untagged one for "dog"), then the codes decide
        auto = self._auto_tag_matches(tags, ids)
        boost = person * (len(tags) + 1) + auto
        keep = np.ones(len(ids), bool) if radius is None else (combined <= radius) | (boost > 0)
        if like_act is not None and like_act[1] is not None:
            keep &= ids != like_act[1]
        cand = np.flatnonzero(keep)
        if not len(cand):
            return []
        if len(cand) > fusion.SEEDS:
            # a second ranking from photos themselves (hashcore/tags/fusion.py): the summed distance
            # to the photos a person gave the word, where there are such (their examples), else to
            # the first photos of the word's ranking
            seeds = fusion.examples(np.flatnonzero(person > 0))
            if not len(seeds):
                seeds = np.asarray(self._rerank(head, ids, cand, rank, boost, acts, fusion.SEEDS), np.int64)
            near = np.stack([scan.distances(codes[j]) for j in seeds]).sum(0, dtype=np.int64)
            rank = fusion.fused_rank(rank, near)
        ranked = self._rerank(head, ids, cand, rank, boost, acts, k)
        rows = {r["id"]: r for r in self.store.images(ids=[int(ids[j]) for j in ranked])}
        return [Hit(int(ids[j]), rows[int(ids[j])]["path"], int(combined[j]), bool(person[j]), tagged=bool(boost[j]))
                for j in ranked if int(ids[j]) in rows]

    def weak(self, texts: str | Sequence[str]) -> bool:
        """Whether a tag search's matches are weak: the models cannot place any of its tags
        ("zzxq"; `weak_tags`) and no photo carries one of them as a tag. Cheap: the query's
        MiniLM vectors (cached by the search that ran) against the model's vocabulary vectors."""
        tags = query_tags(texts)
        if not tags or not all(weak_tags(self.model(), read_tags(tags))):
            return False
        return not any(self.store.ids_with_tag(f) for t in tags for f in tag_forms(t))

    def _person_tag_matches(self, tags: list[str], ids: np.ndarray) -> np.ndarray:
        """For each photo of `ids`, how many of the query's tags (in any of their forms) it
        carries from a person or a file."""
        out = np.zeros(len(ids), np.int64)
        for t in tags:
            out += counts_at(ids, self.store.person_tag_matches(tag_forms(t))) > 0
        return out

    def _auto_tag_matches(self, tags: list[str], ids: np.ndarray) -> np.ndarray:
        """For each photo of `ids`, how many of the query's tags (in any of their forms) it
        carries as a tag of any source (a person's tags count again, above)."""
        out = np.zeros(len(ids), np.int64)
        for t in tags:
            tagged = [i for f in tag_forms(t) for i in self.store.ids_with_tag(f)]
            if tagged:
                out += np.isin(ids, np.asarray(tagged, np.int64))
        return out

    def _rerank(self, head: MultimodalSparseHash, ids: np.ndarray, cand: np.ndarray, rank: np.ndarray,
                boost: np.ndarray, acts: list[np.ndarray], k: int) -> list[int]:
        """The k best candidates: a person's tag first, then an automatic tag, then distance, then
        the activations' L1 distance among everything up to the k-th distance (ties included)."""
        bc, rc = boost[cand], rank[cand]
        key = (bc.max() - bc) * (int(rc.max()) + 1) + rc  # (-boost, rank) as one integer
        first = cand[smallest(key, k + MAX_RERANK if len(cand) > k else len(cand))]
        kth = rank[first[min(k, len(first)) - 1]]
        cut = np.union1d(first[rank[first] <= kth], first[:k])
        # the image tower runs on these few hundred photos only (their stored features)
        fid, feats = self.store.features(ids[cut].tolist())
        l1 = np.full(len(cut), 1e9)
        if len(fid):
            ia = head.image_activations(feats)
            # row by row in float32, as sum(|ia[n] - a|.sum() for a in acts) adds them
            dist = np.abs(ia - acts[0]).sum(1)
            for a in acts[1:]:
                dist = dist + np.abs(ia - a).sum(1)
            at = np.searchsorted(ids[cut], fid)  # features come ordered by id, as ids[cut] is
            l1[at] = dist
        return cut[np.lexsort((ids[cut], l1, rank[cut], -boost[cut]))][:k].tolist()

    def suggest(self, image: PhotoRef, k: int = 8) -> list[tuple[str, int]]:
        """Nearest tag texts of the model's vocabulary to a photo's code; one text per concept,
        minus the tags the photo already has."""
        head = self.model()
        act, image_id = self._photo_activations(head, image)
        texts, concepts = head.vocab()
        vact = head.vocab_activations()
        code, vcodes = act > head.threshold, vact > head.threshold
        ham = (vcodes != code[None]).sum(1)
        l1 = np.abs(vact - act[None]).sum(1)
        have = {normalise_tag(t["tag"]) for t in self.store.tags_of(image_id)} if image_id is not None else set()
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

    def tag_counts(self) -> list[tuple[str, int, int]]:
        """(tag, photos a person or a file gave it, photos the model gave it), ok photos only."""
        return self.store.tag_counts()

    def auto_tag(self, retag: list[int] | None = None) -> int:
        """Automatic tags for photos that have none yet, from their stored ImageNet probabilities.
        Photos in `retag` (new or changed files) lose their old automatic tags first. Nothing is
        written (and cached codes stay valid) when there is nothing to tag."""
        tagger = AutoTagger.load(self.config.resources / "tags" / "imagenet_vocab.json")
        return self.store.add_auto_tags(tagger.tags, retag)

    def import_keywords(self, progress: Progress | None = None, ids: list[int] | None = None,
                        cancel: Callable[[], bool] | None = None) -> int:
        """Keywords found in the files become tags with source "file" (the files are not changed).
        A keyword is a person's word: it replaces an automatic tag of the same text, never a tag a
        person typed. `cancel` is checked between files (raises Cancelled, nothing is written)."""
        rows = self.store.images() if ids is None else self.store.images(ids=ids)
        new: list[tuple[int, str]] = []
        for n, r in enumerate(rows):
            if cancel is not None and cancel():
                raise Cancelled("keyword import cancelled; nothing was changed")
            try:
                new += [(r["id"], t) for t in file_keywords(r["path"])]
            except OSError:
                pass  # unreadable now: its keywords come with the next import
            if progress is not None:
                progress(n + 1, len(rows), r["path"])
        return self.store.add_file_keywords(new)

    def vocabulary(self) -> list[str]:
        """Words to complete in a tag search box: the library's tags, then the model's vocabulary."""
        own = [t for t, _ in self.store.all_tags()]
        texts, _ = self.model().vocab()
        return list(dict.fromkeys(own + texts))

    def learn(self, progress: Progress | None = None, cancel: Callable[[], bool] | None = None,
              min_photos: int = 3, steps: int = 600) -> dict[str, Any]:
        """Retrain the tag model from the library's own tags (user and file keywords), starting from
        the shipped model; writes it to the data folder, where it replaces the shipped one."""
        from hashcore.models.methods import load_head
        from hashcore.models.textenc import shared, word_vectors
        from hashcore.tags.multimodal import (
            MultimodalSparseHash,
            TrainParams,
            classifier_weights,
            learn_from_tags,
        )

        ids, feats = self.store.features()
        photo_tags = self._photo_tags(ids)
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
        base_info = multimodal_info(self.config.models_dir)
        base = load_head(base_info.path, base_info.sha256)
        if not isinstance(base, MultimodalSparseHash):
            raise HashLensError(f"{base_info.path.name} is not a multimodal tag model; reinstall HashLens")
        words = word_vectors(Path(self.config.shared_cache_dir), progress, cancel)
        params = TrainParams(steps=steps)  # bits and blocks come from the base model
        head = learn_from_tags(base, feats, fc, photo_tags, tag_emb, params, progress, cancel, words=words)
        out_dir = Path(self.config.home) / "models"
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{USER_MODEL}.npz"
        sha = head.save(path)
        record_multimodal(HeadInfo(USER_MODEL, path, head.method, head.bits, sha), out_dir)
        self.tag_codes()  # recode every photo from its stored features now, not at the first search
        return {"tags": usable, "photos": int(sum(bool(t) for t in photo_tags)), "model": str(path),
                "seconds": round(time.monotonic() - t0, 1), "steps": steps}

    def _photo_tags(self, ids: np.ndarray) -> list[list[str]]:
        """The normalised tags people gave each of these photos (in the order of `ids`), in the
        singular: "kayaks" on some photos and "kayak" on others are one tag to learn."""
        pos = {int(i): n for n, i in enumerate(ids)}
        photo_tags: list[list[str]] = [[] for _ in ids]
        for image_id, tag in self.store.person_tags():
            if image_id in pos and normalise_tag(tag):
                photo_tags[pos[image_id]].append(singular(normalise_tag(tag)))
        return photo_tags
