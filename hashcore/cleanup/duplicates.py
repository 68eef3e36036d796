"""DuplicateService: which photos are copies of each other, and which copies to remove.

Exact copies (same bytes) come from the content hashes; near copies from the codes (every pair
within a Hamming radius, hashcore/search/dups.py) confirmed by their float features, in groups
where every two photos are copies of each other. On request, similar shots too (bursts, one scene
shot twice): a looser check, groups of their own, never marked for removal. Groups a person
dismissed ("not duplicates") stay hidden until a new photo joins them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from hashcore.cleanup.keep import DEFAULT_RULE, Plan, choose_removals
from hashcore.search import dups as dupmod
from hashcore.store.db import Store

DEFAULT_DUP_RADIUS = {32: 3, 64: 6, 128: 12}
DEFAULT_MIN_COSINE = 0.80
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
    def __init__(self, store: Store, model_id: int, bits: int) -> None:
        self.store, self.model_id, self.bits = store, model_id, bits

    def duplicates(self, radius: int | None = None, min_cosine: float = DEFAULT_MIN_COSINE,
                   include_dismissed: bool = False, similar: bool = False) -> list[dupmod.Group]:
        """Exact and near copies ("exact", "near"); with `similar`, also similar shots ("similar")."""
        radius = DEFAULT_DUP_RADIUS.get(self.bits, 6) if radius is None else radius
        shots = similar_check(self.bits, radius, min_cosine) if similar else None
        rows = {r["id"]: r for r in self.store.images()}
        ids, codes = self.store.codes(self.model_id)

        def features_of(rows: np.ndarray) -> np.ndarray:
            """Features of the photos in candidate pairs only (bounded memory at 1M photos)."""
            fids, feats = self.store.features(ids[rows])
            out = np.full((len(rows), feats.shape[1] if len(feats) else 1), np.nan, np.float32)
            out[np.searchsorted(ids[rows], fids)] = feats
            return out

        groups = dupmod.exact_groups(list(rows.values()))
        exact_sets = [set(g.image_ids) for g in groups]
        dismissed = self.store.decisions() if not include_dismissed else []
        for g in dupmod.near_groups(ids, codes, features_of, self.bits, radius, min_cosine, shots):
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
