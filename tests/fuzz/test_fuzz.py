"""Fuzzing the decode path and the store with Hypothesis. Not part of `make test`:
run `make fuzz` (FUZZ_EXAMPLES sets how hard to try). Anything it finds becomes a regression
test in tests/core or tests/reliability."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from hashcore.errors import DecodeError, HashLensError
from hashcore.ingest.decode import decode_bytes
from hashcore.search import bits as bitops
from hashcore.store.db import Store

pytestmark = pytest.mark.fuzz
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"


def seeds() -> list[bytes]:
    img = Image.open(SAMPLES / "chelsea-cat.jpg").convert("RGB").resize((96, 64))
    out = []
    for fmt in ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP"):
        buf = io.BytesIO()
        img.save(buf, fmt)
        out.append(buf.getvalue())
    return out


SEEDS = seeds()


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "cut", "splice", "poke"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "cut":
            del data[pos:pos + draw(st.integers(1, 4096))]
        elif op == "splice":
            data[pos:pos] = draw(st.binary(max_size=64))
        elif op == "poke" and len(data) > pos + 4:
            data[pos:pos + 4] = draw(st.sampled_from([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff"]))
    return bytes(data)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated())
def test_decode_returns_a_photo_or_a_decode_error(data):
    try:
        photo = decode_bytes(data)
    except DecodeError as exc:
        assert str(exc)
        return
    assert photo.image.mode == "RGB" and max(photo.image.size) <= 448 and photo.width > 0


ops = st.lists(st.tuples(st.sampled_from(["add", "tag", "untag", "code", "missing", "decide", "forget"]),
                         st.integers(0, 30), st.text(max_size=12)), max_size=60)


@settings(max_examples=max(EXAMPLES // 4, 20), deadline=None, suppress_health_check=list(HealthCheck))
@given(ops)
def test_store_invariants_hold_under_random_operations(sequence):
    s = Store()
    root = s.add_root("/lib")
    model = s.ensure_model("m", "itq", 64, "x")
    for op, n, text in sequence:
        path = f"/lib/{n}.jpg"
        row = s.image_by_path(path)
        try:
            if op == "add":
                with s.transaction() as c:
                    i = s.upsert_image(c, {"root_id": root, "path": path, "size": n, "mtime": 0.0,
                                           "content_hash": str(n % 7), "status": "ok", "indexed_at": 0.0})
                    s.put_features(c, i, np.full(1280, n, np.float32), None)
            elif op == "tag" and row:
                s.add_tags([row["id"]], [text])
            elif op == "untag" and row:
                s.remove_tags([row["id"]], [text])
            elif op == "code" and row:
                with s.transaction() as c:
                    s.put_codes(c, model, [row["id"]], bitops.pack(np.array([[n >> b & 1 for b in range(64)]])))
            elif op == "missing" and row:
                s.set_status([row["id"]], "missing")
            elif op == "decide" and row:
                s.add_decision([row["id"], n + 1000])
            elif op == "forget":
                s.forget_missing()
        except HashLensError:
            pass
        ids, codes = s.codes(model)
        assert len(ids) == len(codes) and all(s.image(int(i))["status"] == "ok" for i in ids)
        for i, code in zip(ids, codes, strict=True):
            assert int(i) in s.bucket(model, code)
        assert s.conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert s.conn.execute("SELECT count(*) FROM features WHERE image_id NOT IN "
                              "(SELECT id FROM images)").fetchone()[0] == 0
