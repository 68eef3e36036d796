"""`hashcore train --library --copy-head` adapts the copy-detection head too (issue 14 part 2): fitted on the
library's own photos' views with the head's objective (rows of one photo are copies), it becomes
the library's copy head, keeps the head's settings and operating point, and every photo's copy
code follows from its stored features; `--shipped` goes back."""

from __future__ import annotations

import json

import numpy as np

from hashcore.config import Config
from hashcore.library import Library
from hashcore.models.manifest import CopyEncoder, forget_library_head
from hashcore.models.train import adapt_to_library, augmented_views
from tests.core.test_store_copy import copy_head_in
from tests.photos import small_library


def test_adapting_fits_a_copy_head_on_the_librarys_views(tmp_path, private_home):
    photos = small_library(tmp_path / "photos", 16, 256)
    home = private_home / "hashlens"
    tiny = copy_head_in(home / "models", name="copy-64-tiny")
    config = Config(home=home)
    with Library(config, db_path=tmp_path / "lib.db") as lib:
        lib.index([photos])
        assert lib.copy is not None and lib.copy.name == tiny.name
        x, y = augmented_views(sorted(photos.glob("*.jpg"))[:3], lib.encoder.backbone, views=1, variants=1)
        assert len(x) == 9 and y.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]  # which photo each row shows
        info, samples = adapt_to_library(lib, views=2, variants=1, copy_head=True)
    assert samples == 16 * 4 and info.name == "itq-64-library"
    manifest = json.loads((home / "models" / "manifest.json").read_text())
    assert manifest["copy"] == {"64": "copy-64-library"}
    with Library(config, db_path=tmp_path / "lib.db") as lib:
        assert lib.copy is not None and lib.copy.name == "copy-64-library"
        assert lib.copy.info.sha256 != tiny.sha256
        head = lib.copy.head
        assert head.params["dim"] == 64 and head.params["steps"] == 30  # the head's own settings
        assert lib.copy.operating_point == (10, 0.5)  # and its operating point
        lib.recode()
        assert lib.copy_model_id is not None
        ids, codes = lib.store.codes(lib.copy_model_id)
        _, feats = lib.store.features()
        assert len(ids) == 16 and codes.tolist() == CopyEncoder(lib.copy.info).codes(feats).tolist()
        # the views of one photo are closer in the adapted embedding than different photos
        emb = lib.copy.embed(x)
        same = [float(emb[i] @ emb[j]) for i in range(9) for j in range(9) if i < j and y[i] == y[j]]
        other = [float(emb[i] @ emb[j]) for i in range(9) for j in range(9) if y[i] != y[j]]
        assert np.mean(same) > np.mean(other)
    assert forget_library_head(config)  # `train --shipped`: back to the copy head of before
    with Library(config, db_path=tmp_path / "lib.db") as lib:
        assert lib.copy is None or lib.copy.name != "copy-64-library"  # the shipped one, if any
