"""DuplicateService: which photos are copies of each other, and which copies to remove.

Exact copies (same bytes) come from the content hashes; near copies from the codes (every pair
within a Hamming radius, hashcore/search/dups.py) confirmed by their float features, in groups
where every two photos are copies of each other. On request, similar shots too (bursts, one scene
shot twice): a looser check, groups of their own, never marked for removal. Groups a person
dismissed ("not duplicates") stay hidden until a new photo joins them.

Where the library has a copy-detection head (issue 14: a second code per photo, trained so that
edits of one photo land close and different photos apart), near copies come from its codes within
the head's operating-point radius, verified by its embedding's cosine (computed from the stored
backbone features), and those are the defaults; similar shots keep using the semantic code and
the backbone features. Without one, both levels use the semantic code, as before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import numpy as np

from hashcore.cleanup.keep import DEFAULT_RULE, Plan, choose_removals
from hashcore.ingest.indexer import Progress
from hashcore.search import dups as dupmod
from hashcore.search.geometry import VERSION as GEOMETRY_VERSION
from hashcore.search.geometry import GeometryJudge, Match, Rule
from hashcore.search.mih import MultiIndexHash
from hashcore.search.similar import framed_boxes
from hashcore.store.db import Store

if TYPE_CHECKING:
    from hashcore.models.manifest import CopyEncoder

DEFAULT_DUP_RADIUS = {32: 3, 64: 6, 128: 12}
DEFAULT_MIN_COSINE = 0.80
# The geometric check (issue 14): pairs in the copy head's zone of doubt (dupmod.DOUBT_RADIUS_64,
# dupmod.DOUBT_MIN_COSINE) are matched by local features under one homography
# (hashcore/search/geometry.py): a copy when one frame lies inside the other. The pairs the copy
# head accepts are matched too (up to dupmod.MAX_CONFIRM_PER_PHOTO per photo): two shots of one
# scene, whose pixels moved once aligned, are refused and come back as similar shots. So are the
# pairs of a framed file's photo box (a screenshot's photo, hashcore/ingest/frame.py) with the
# photos whose copy code and embedding lie in the zone of doubt of the box's.
JUDGE_RULE = Rule()
# Similar shots: Hamming radius at 64 bits (scaled by code length) and feature cosine, never
# tighter than the copy level in use. Chosen on the TRAINING pool of bench/photos.py (172 photos,
# itq-64 codes, backbone features) with burst stand-ins, two frames of one photo panned by 15% /
# 30% of its width: radius 10 and cosine 0.70 join 99% / 85% of them, 1.9% of the pool's
# same-subject pairs (two different giraffes) and 1 of its 14,491 other pairs. The radius sets the
# cost: radius 10 yields about 10x the candidate pairs of the copy level's 6; 12 would join 94% of
# the 30% pans for about 3x more again.
SIMILAR_RADIUS_64 = 10
SIMILAR_MIN_COSINE = 0.70
SIMILAR_REASON = "similar shots, not copies: nothing is marked for removal (choose by hand)"


def similar_check(bits: int, radius: int, min_cosine: float) -> dupmod.Check:
    """The similar-shots check beside a copy level of (radius, min_cosine)."""
    return dupmod.Check(max(round(SIMILAR_RADIUS_64 * bits / 64), radius), min(SIMILAR_MIN_COSINE, min_cosine))


class DuplicateService:
    def __init__(self, store: Store, model_id: int, bits: int, copy: CopyEncoder | None = None,
                 copy_model_id: int | None = None, refresh_copy_codes: Callable[[], int] | None = None,
                 dct_model_id: int | None = None) -> None:
        """copy, copy_model_id: the library's copy-detection head and its model row, if it has one;
        refresh_copy_codes computes the copy codes photos lack (a library made before the head);
        dct_model_id: the model row of the photos' DCT hashes, where the head uses them."""
        self.store, self.model_id, self.bits = store, model_id, bits
        self.copy, self.copy_model_id, self.refresh_copy_codes = copy, copy_model_id, refresh_copy_codes
        self.dct_model_id = dct_model_id
        self.verify = True  # the geometric check of doubtful pairs (hashcore/search/geometry.py)
        self.unreadable: list[str] = []  # files the last geometric check could not read
        self.matched = 0  # pairs the last run matched (not already judged in an earlier run)
        self.decoded = 0  # files the last run read for it
        self.unkept: str | None = None  # why the last run's verdicts were not kept in the library, if so
        self._verdicts: dict[tuple[str, str], Match] | None = None  # by the two content hashes: kept in the library
        self._kept: set[tuple[str, str]] = set()  # those of them the library holds

    def defaults(self) -> tuple[int, float]:
        """(radius, min_cosine) of the copy level when none is given: the copy head's operating
        point, or the semantic code's defaults where there is no copy head."""
        if self.copy is not None:
            return self.copy.operating_point
        return DEFAULT_DUP_RADIUS.get(self.bits, 6), DEFAULT_MIN_COSINE

    def _features_of(self, ids: np.ndarray,
                     embed: Callable[[np.ndarray], np.ndarray] | None = None) -> Callable[[np.ndarray], np.ndarray]:
        def features_of(rows: np.ndarray) -> np.ndarray:
            """Features of the photos in candidate pairs only (bounded memory at 1M photos)."""
            fids, feats = self.store.features(ids[rows])
            out = np.full((len(rows), feats.shape[1] if len(feats) else 1), np.nan, np.float32)
            out[np.searchsorted(ids[rows], fids)] = feats
            return out if embed is None else embed(out)

        return features_of

    def _near(self, radius: int, min_cosine: float, similar: bool,
              file_of: Callable[[int], tuple[str, str] | None] | None = None,
              progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> list[dupmod.Group]:
        """Near copies, and similar shots when asked; `file_of` gives the path and content hash of
        the files the geometric check reads (none: no geometric check)."""
        ids, codes = self.store.codes(self.model_id)
        if self.copy is None or self.copy_model_id is None:
            shots = similar_check(self.bits, radius, min_cosine) if similar else None
            return dupmod.near_groups(ids, codes, self._features_of(ids), self.bits, radius, min_cosine, shots)
        if self.refresh_copy_codes is not None:
            self.refresh_copy_codes()
        cids, ccodes = self.store.codes(self.copy_model_id)
        judge = None
        # a level stricter than the head's own point asks for near-identical files: no geometric check
        if file_of is not None and self.verify and min_cosine <= self.copy.operating_point[1] + 1e-9:
            reach = dupmod.Check(max(radius, dupmod.DOUBT_RADIUS_64 * self.copy.bits // 64), dupmod.DOUBT_MIN_COSINE)
            if self._verdicts is None:  # those of earlier sessions, read once
                self._verdicts = {k: Match.from_numbers(v) for k, v in self.store.verdicts(GEOMETRY_VERSION).items()}
                self._kept = set(self._verdicts)
            judge = GeometryJudge(file_of, reach, JUDGE_RULE, memo=self._verdicts, progress=progress, cancel=cancel)
        try:
            boxes = self._box_pairs(cids, ccodes, judge.reach) if judge is not None else None
            near = dupmod.near_groups(cids, ccodes, self._features_of(cids, self.copy.embed), self.copy.bits,
                                      radius, min_cosine, second=self._dct(cids, min_cosine), judge=judge,
                                      boxes=boxes)
        finally:  # kept even when cancelled: the pairs matched so far need no second look
            if judge is not None and self._verdicts is not None:
                self.unkept = None
                new = [k for k in self._verdicts if k not in self._kept]
                try:
                    self.store.add_verdicts(GEOMETRY_VERSION, [(k, self._verdicts[k].numbers()) for k in new])
                    self._kept.update(new)
                except sqlite3.OperationalError as e:  # a read-only or busy file: this run's groups stand
                    self.unkept = f"the geometric verdicts could not be kept in the library ({e})"
        self.unreadable = judge.unreadable if judge is not None else []
        self.matched = judge.matched if judge is not None else 0
        self.decoded = judge.decoded if judge is not None else 0
        if not similar:
            return near
        check = dupmod.Check(round(SIMILAR_RADIUS_64 * self.bits / 64), SIMILAR_MIN_COSINE)
        return near + dupmod.similar_groups(ids, codes, self._features_of(ids), self.bits, check, near)

    def _box_pairs(self, ids: np.ndarray, codes: np.ndarray, reach: dupmod.Check) -> dupmod.BoxPairs | None:
        """The pairs of each framed photo's box with the photos (rows of ids, codes: the copy
        codes) in the zone of doubt around it: the box's copy code within reach.radius of theirs
        and its copy embedding at cosine >= reach.min_cosine, both from the box's stored features."""
        if self.copy is None or self.copy_model_id is None:
            return None
        fids, fcodes, fembs = framed_boxes(self.store, self.copy, self.copy_model_id)
        known = np.isin(fids, ids)
        fids, fcodes, fembs = fids[known], fcodes[known], fembs[known]
        if not len(fids):
            return None
        q, rows, _ = MultiIndexHash(codes, bits=self.copy.bits).radius_many(fcodes, reach.radius)
        own = np.searchsorted(ids, fids)
        other = rows != own[q]
        q, rows = q[other], np.asarray(rows[other], np.int64)
        if not len(q):
            return None
        need = np.unique(rows)
        theirs = self._features_of(ids, self.copy.embed)(need)[np.searchsorted(need, rows)]
        sims = np.einsum("ij,ij->i", fembs[q], theirs)  # unit-length embeddings
        near = sims >= reach.min_cosine  # NaN (a photo without features) is not
        return dupmod.BoxPairs(np.stack([own[q][near], rows[near]], axis=1), sims[near])

    def _dct(self, ids: np.ndarray, min_cosine: float) -> dupmod.SecondCode | None:
        """The photos' DCT hashes aligned with `ids`, as the copy level's second test (the copy
        head's dct_radius and dct_min_cosine), where the head has one. A copy level stricter than
        the head's (min_cosine) moves the second test's cosine the same share of the way to 1: at
        0.999 against the head's 0.92, a DCT-close pair needs 0.994, not 0.50. A looser one leaves
        it as the head has it."""
        point = None if self.copy is None else self.copy.dct_point
        if point is None or self.dct_model_id is None or self.copy is None:
            return None
        head_cosine = self.copy.operating_point[1]
        share = (1.0 - min_cosine) / (1.0 - head_cosine) if head_cosine < 1.0 else 1.0
        point = (point[0], min(1.0, max(point[1], 1.0 - (1.0 - point[1]) * share)))
        dids, dcodes = self.store.codes(self.dct_model_id)
        at = np.searchsorted(dids, ids)
        known = (at < len(dids)) & (dids[np.minimum(at, len(dids) - 1)] == ids) if len(dids) else np.zeros(len(ids), bool)
        codes = np.zeros((len(ids), 1), np.uint64)
        codes[known] = dcodes[at[known]]
        return dupmod.SecondCode(codes, known, 64, dupmod.Check(*point))

    def missing_dct(self) -> int:
        """Photos without a DCT hash while the copy head uses one (indexed before it was kept:
        the next `index` or rescan reads them again, reusing their features)."""
        if self.dct_model_id is None:
            return 0
        return len(self.store.ids_without_code(self.dct_model_id))

    def duplicates(self, radius: int | None = None, min_cosine: float | None = None,
                   include_dismissed: bool = False, similar: bool = False, progress: Progress | None = None,
                   cancel: Callable[[], bool] | None = None) -> list[dupmod.Group]:
        """Exact and near copies ("exact", "near"); with `similar`, also similar shots ("similar").
        radius and min_cosine apply to the copy level; None: `defaults()`. `progress` hears of
        the geometric check of doubtful pairs, which `cancel` can stop (Cancelled)."""
        default_radius, default_cosine = self.defaults()
        radius = default_radius if radius is None else radius
        min_cosine = default_cosine if min_cosine is None else min_cosine
        rows = {r["id"]: r for r in self.store.images()}
        groups = dupmod.exact_groups(list(rows.values()))
        exact_sets = [set(g.image_ids) for g in groups]
        dismissed = self.store.decisions() if not include_dismissed else []
        def file_of(i: int) -> tuple[str, str] | None:
            return (rows[i]["path"], rows[i]["content_hash"]) if i in rows else None

        for g in self._near(radius, min_cosine, similar, file_of, progress, cancel):
            members = set(g.image_ids)
            if any(members <= s for s in exact_sets):
                continue  # only byte-identical copies: already an exact group
            if any(members <= s for s in dismissed):
                continue  # the user said "not duplicates" and no new photo joined
            groups.append(g)
        for g in groups:
            g.paths = [rows[i]["path"] for i in g.image_ids]
            g.sizes = [int(rows[i]["size"]) for i in g.image_ids]
        return dupmod.order_groups(groups)

    def dismiss(self, image_ids: Iterable[int]) -> None:
        """Remember that these photos are not duplicates of each other."""
        self.store.add_decision(image_ids)

    def plan_removals(self, groups: list[dupmod.Group], rule: str = DEFAULT_RULE,
                      preferred: str | None = None) -> list[Plan]:
        """(keep id, remove ids) per group under a keep rule, each with `.reason`; protected
        folders are honoured. Similar shots are not copies: their plan removes nothing."""
        copies = [g for g in groups if g.kind != "similar"]
        rows = {r["id"]: r for r in self.store.images(ids={i for g in copies for i in g.image_ids})}
        protected = [r["path"] for r in self.store.roots() if r["protected"]]
        return [Plan(g.image_ids[0], [], SIMILAR_REASON) if g.kind == "similar"
                else choose_removals([rows[i] for i in g.image_ids if i in rows], rule, protected, preferred)
                for g in groups]
