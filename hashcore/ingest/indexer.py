"""Incremental indexing of library folders.

One pass: list files (no symlink following), skip unchanged ones (size + mtime), decode the rest
in worker threads while the backbone embeds the previous batch, and write each batch in one
transaction. A file whose bytes match a row that vanished from its old place is a move: the row
keeps its id, tags and decisions. Rows whose file is gone are marked missing, never deleted;
a folder that cannot be read, or that suddenly lists no photos at all, is reported as
unreachable and its rows are left untouched. File names whose bytes are not UTF-8 are indexed like
any other: paths are os.fsdecode'd str throughout (see hashcore/ingest/paths.py).
"""

from __future__ import annotations

import os
import stat
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from hashcore.errors import Cancelled, DecodeError, HashLensError
from hashcore.ingest import frame
from hashcore.ingest.decode import Photo, decode_file, is_photo_name
from hashcore.models.manifest import (
    DCT_BITS,
    DCT_METHOD,
    DCT_NAME,
    CopyEncoder,
    Encoder,
    dct_codes,
    dct_version,
)
from hashcore.store.db import Store

Progress = Callable[[int, int, str], None]


def recode_all(store: Store, model_id: int, codes: Callable[[np.ndarray], np.ndarray],
               progress: Progress | None = None, chunk: int = 4096) -> int:
    """Rewrite every photo's code under `model_id` as `codes(stored features)`, `chunk` photos per
    transaction, no photo decoded; existing codes are rewritten too. Returns the photos coded."""
    ids = [r["id"] for r in store.images()]
    done = 0
    for start in range(0, len(ids), chunk):
        got, feats = store.features(ids[start:start + chunk])
        if len(got):
            with store.transaction() as c:
                store.put_codes(c, model_id, got, codes(feats))
        done += len(got)
        if progress is not None:
            progress(min(start + chunk, len(ids)), len(ids), "")
    return done
BATCH_SIZE = 16  # photos embedded and written per transaction, unless HASHLENS_INDEX_BATCH says


def batch_size_setting() -> int:
    """Photos per write transaction: BATCH_SIZE, or HASHLENS_INDEX_BATCH where set. The crash
    tests set it small, so that a run commits several times and can be killed between commits."""
    raw = os.environ.get("HASHLENS_INDEX_BATCH", "")
    if not raw:
        return BATCH_SIZE
    if not raw.isdigit() or int(raw) < 1:
        raise HashLensError(f"HASHLENS_INDEX_BATCH must be a whole number of photos, at least 1 (not {raw!r})")
    return int(raw)


@dataclass
class IndexReport:
    indexed: int = 0
    skipped: int = 0
    moved: int = 0
    missing: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0

    def as_json(self) -> dict:
        return {"indexed": self.indexed, "skipped": self.skipped, "moved": self.moved,
                "missing": self.missing, "errors": self.errors, "unreachable": self.unreachable,
                "cancelled": self.cancelled}


@dataclass
class _Work:
    path: str
    root_id: int
    size: int
    mtime: float


def _list_root(root: str, errors: list[tuple[str, str]]) -> Iterator[tuple[str, os.stat_result]]:
    """Photo files under root with their stat; problems go to `errors`, links are not followed."""
    def onerror(exc: OSError) -> None:
        errors.append((os.fsdecode(exc.filename or root), f"cannot list folder: {exc.strerror}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            if not is_photo_name(name):
                continue
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
                if stat.S_ISLNK(st.st_mode):
                    os.stat(path)  # raises for loops and dangling links
                    continue  # real files only: a link would show up as a duplicate of its target
            except OSError as exc:
                reason = "symbolic link loop" if exc.errno == 40 else f"broken link or unreadable: {exc.strerror}"
                errors.append((path, reason))
                continue
            if stat.S_ISREG(st.st_mode):
                yield path, st


def _reachable(root: str) -> str | None:
    """None if the folder can be read, else why not."""
    if not os.path.exists(root):
        return "folder not found (removed, renamed, or its disk is not mounted)"
    if not os.path.isdir(root):
        return "not a folder"
    try:
        with os.scandir(root):
            return None
    except OSError as exc:
        return f"cannot open folder: {exc.strerror}"


class Indexer:
    """Index folders into a store with an encoder. `run` is a plain function: progress via a
    callback, cancellation via a callable, so a GUI worker or the CLI can drive it."""

    def __init__(self, store: Store, encoder: Encoder, batch_size: int | None = None, workers: int = 2,
                 copy: CopyEncoder | None = None) -> None:
        self.store = store
        self.encoder = encoder
        self.batch_size = batch_size or batch_size_setting()
        self.workers = workers
        self.model_id = store.ensure_model(encoder.name, encoder.info.method, encoder.bits,
                                           encoder.info.sha256)
        self.copy: CopyEncoder | None = None
        self.copy_model_id: int | None = None
        self.dct_model_id: int | None = None
        self._needs_pixels: set[int] = set()
        self.use_copy_head(copy)

    def use_copy_head(self, copy: CopyEncoder | None) -> None:
        """Also give every photo a copy code (the second code, for duplicates), computed from the
        same backbone features as its semantic code: no second pass over the photo; where the
        head was tuned with one, the DCT hash of the decoded photo (its second signal); and the
        photo box of a framed file (a screenshot), with that box's own backbone features
        (hashcore/ingest/frame.py): a second backbone pass for framed files only."""
        self.copy = copy
        self.copy_model_id = None if copy is None else self.store.ensure_model(
            copy.name, copy.info.method, copy.bits, copy.info.sha256, role="copy")
        self.dct_model_id = None if copy is None or copy.dct_point is None else self.store.ensure_model(
            DCT_NAME, DCT_METHOD, DCT_BITS, dct_version(), role="dct")

    def run(self, roots: list[str | Path], progress: Progress | None = None,
            cancel: Callable[[], bool] | None = None) -> IndexReport:
        t0 = time.perf_counter()
        report = IndexReport()
        # photos indexed before the DCT hash or the frame detector (of this version) was run on
        # them: read again (their features are reused)
        self._needs_pixels = set() if self.dct_model_id is None else set(self.store.ids_without_code(self.dct_model_id))
        if self.copy is not None:
            self._needs_pixels.update(self.store.ids_without_frame(frame.VERSION))
        todo: list[_Work] = []
        unseen: dict[int, str] = {}
        scanned_roots: list[int] = []
        for root in roots:
            root = str(Path(root).expanduser().absolute())
            root_id = self.store.add_root(root)
            why = _reachable(root)
            if why is None:
                why = self._scan_root(root, root_id, todo, unseen, report)
            if why is not None:
                report.unreachable.append(root)
                report.errors.append({"path": root, "error": why})
                self.store.set_root_state(root_id, "unreachable")
                continue
            scanned_roots.append(root_id)
        try:
            self._process(todo, unseen, report, progress, cancel)
        except Cancelled:
            report.cancelled = True
        if not report.cancelled:
            self._settle_missing(scanned_roots, unseen, report)
        self.refresh_codes()
        report.seconds = time.perf_counter() - t0
        return report

    def _settle_missing(self, scanned_roots: list[int], unseen: dict[int, str], report: IndexReport) -> None:
        """Mark vanished files missing, unless their folder itself vanished during the scan."""
        roots = {r["id"]: r["path"] for r in self.store.roots()}
        for root_id in scanned_roots:
            why = _reachable(roots[root_id])
            if why is None:
                self.store.set_root_state(root_id, "ok")
                continue
            report.unreachable.append(roots[root_id])
            report.errors.append({"path": roots[root_id], "error": f"{why} (during the scan); nothing was changed"})
            self.store.set_root_state(root_id, "unreachable")
            prefix = os.path.join(roots[root_id], "")
            for image_id in [i for i, p in unseen.items() if p.startswith(prefix)]:
                del unseen[image_id]
        with self.store.transaction() as c:
            self.store.mark_missing(c, unseen)
        report.missing = len(unseen)

    def _scan_root(self, root: str, root_id: int, todo: list[_Work], unseen: dict[int, str],
                   report: IndexReport) -> str | None:
        known = self.store.images_under(root_id)
        errors: list[tuple[str, str]] = []
        listed = list(_list_root(root, errors))
        if not listed and any(r["status"] == "ok" for r in known.values()):
            return "folder lists no photos although it had some; is its disk mounted? Nothing was changed"
        seen = set()
        for path, st in listed:
            seen.add(path)
            row = known.get(path)
            if row and row["size"] == st.st_size and row["mtime"] == st.st_mtime and row["status"] == "ok" \
                    and row["id"] not in self._needs_pixels:
                report.skipped += 1
                continue
            todo.append(_Work(path, root_id, st.st_size, st.st_mtime))
        for path, row in known.items():
            if path not in seen and row["status"] == "ok":
                unseen[row["id"]] = path
        self._record_errors(root_id, errors, report)
        return None

    def _record_errors(self, root_id: int | None, errors: list[tuple[str, str]], report: IndexReport) -> None:
        if not errors:
            return
        with self.store.transaction() as c:
            self.store.put_errors(c, root_id, errors)
        report.errors.extend({"path": p, "error": e} for p, e in errors)

    def _decoded(self, todo: list[_Work]) -> Iterator[tuple[_Work, Photo | DecodeError]]:
        """Decode ahead on worker threads, at most a few batches in flight (bounded memory); the
        frame detector runs there too, where a copy head will use its boxes."""
        look = self.copy is not None

        def job(w: _Work) -> Photo | DecodeError:
            try:
                p = decode_file(w.path)
            except DecodeError as exc:
                return exc
            return replace(p, box=frame.photo_box(p.image)) if look else p

        with ThreadPoolExecutor(self.workers, thread_name_prefix="decode") as pool:
            pending: deque[tuple[_Work, Future]] = deque()
            it = iter(todo)
            for w in it:
                pending.append((w, pool.submit(job, w)))
                if len(pending) >= 2 * self.batch_size:
                    break
            while pending:
                w, fut = pending.popleft()
                nxt = next(it, None)
                if nxt is not None:
                    pending.append((nxt, pool.submit(job, nxt)))
                yield w, fut.result()

    def _process(self, todo: list[_Work], unseen: dict[int, str], report: IndexReport,
                 progress: Progress | None, cancel: Callable[[], bool] | None) -> None:
        batch: list[tuple[_Work, Photo]] = []
        done = 0
        for w, result in self._decoded(todo):
            if cancel is not None and cancel():
                self._flush(batch, unseen, report)
                raise Cancelled("indexing cancelled")
            done += 1
            if isinstance(result, DecodeError):
                self._record_errors(w.root_id, [(w.path, str(result))], report)
            else:
                batch.append((w, result))
            if len(batch) >= self.batch_size:
                self._flush(batch, unseen, report)
                batch = []
            if progress is not None:
                progress(done, len(todo), w.path)
        self._flush(batch, unseen, report)

    def _flush(self, batch: list[tuple[_Work, Photo]], unseen: dict[int, str], report: IndexReport) -> None:
        if not batch:
            return
        moves, fresh = self._split_moves(batch, unseen)
        reuse = {w.path: self._known_features(p.content_hash) for w, p in fresh}
        need = [(w, p) for w, p in fresh if reuse[w.path] is None]
        feats, probs = self.encoder.embed([p.image for _, p in need])
        computed = {w.path: (feats[i], probs[i]) for i, (w, _) in enumerate(need)}
        dcts = dct_codes([p.image for _, p in fresh]) if self.dct_model_id is not None else None
        framed = [(w, p, p.box) for w, p in fresh if p.box is not None] if self.copy is not None else []
        boxed = {}
        if framed:  # the photo inside each framed file, through the backbone again
            box_feats, _ = self.encoder.embed([frame.crop_box(p.image, box) for _, p, box in framed])
            boxed = {w.path: (box, box_feats[i]) for i, (w, _, box) in enumerate(framed)}
        now = time.time()
        with self.store.transaction() as c:
            for image_id, w in moves:
                self.store.move_image(c, image_id, w.path, w.root_id, w.size, w.mtime)
                self.store.clear_error(c, w.path)
            ids, rows = [], []
            for w, p in fresh:
                image_id = self.store.upsert_image(c, {
                    "root_id": w.root_id, "path": w.path, "size": w.size, "mtime": w.mtime,
                    "content_hash": p.content_hash, "width": p.width, "height": p.height,
                    "format": p.format, "taken_at": p.taken_at, "camera": p.camera,
                    "status": "ok", "indexed_at": now})
                unseen.pop(image_id, None)
                known = computed.get(w.path) or reuse[w.path]
                assert known is not None  # every photo was either computed or reused
                f, pr = known
                self.store.put_features(c, image_id, f, pr)
                if self.copy is not None:
                    self.store.put_frame(c, image_id, frame.VERSION, *boxed.get(w.path, (None, None)))
                self.store.clear_error(c, w.path)
                ids.append(image_id)
                rows.append(np.asarray(f, np.float32))
            if ids:
                feats = np.stack(rows)
                self.store.put_codes(c, self.model_id, ids, self.encoder.codes(feats))
                if self.copy is not None and self.copy_model_id is not None:
                    self.store.put_codes(c, self.copy_model_id, ids, self.copy.codes(feats))
                if dcts is not None and self.dct_model_id is not None:
                    self.store.put_codes(c, self.dct_model_id, ids, dcts)
        report.indexed += len(fresh)
        report.moved += len(moves)

    def _split_moves(self, batch: list[tuple[_Work, Photo]],
                     unseen: dict[int, str]) -> tuple[list[tuple[int, _Work]], list[tuple[_Work, Photo]]]:
        """Files whose bytes belong to a row whose file vanished are moves, not new photos."""
        moves, fresh = [], []
        for w, p in batch:
            if self.store.image_by_path(w.path) is None:
                gone = [r for r in self.store.images_by_hash(p.content_hash)
                        if (r["id"] in unseen or r["status"] == "missing") and not os.path.exists(r["path"])]
                if gone:
                    moves.append((gone[0]["id"], w))
                    unseen.pop(gone[0]["id"], None)
                    continue
            fresh.append((w, p))
        return moves, fresh

    def _known_features(self, content_hash: str) -> tuple[np.ndarray, np.ndarray | None] | None:
        """Features of an already indexed file with the same bytes: no need to run the model."""
        for r in self.store.images_by_hash(content_hash):
            ids, feats = self.store.features([r["id"]], status=r["status"])
            if len(ids):
                return feats[0], self.store.probs(r["id"])
        return None

    def refresh_codes(self) -> int:
        """Compute codes for this model from stored features (after a model change); no decoding.
        Copy codes too, where a copy head is in use (a library made before there was one)."""
        done = self._fill(self.model_id, self.encoder.codes)
        return done + self.refresh_copy_codes()

    def refresh_copy_codes(self) -> int:
        """Copy codes for the photos that have none yet, from their stored features."""
        if self.copy is None or self.copy_model_id is None:
            return 0
        return self._fill(self.copy_model_id, self.copy.codes)

    def _fill(self, model_id: int, codes: Callable[[np.ndarray], np.ndarray], chunk: int = 4096) -> int:
        missing = self.store.ids_without_code(model_id)
        for start in range(0, len(missing), chunk):
            ids, feats = self.store.features(missing[start:start + chunk])
            with self.store.transaction() as c:
                self.store.put_codes(c, model_id, ids, codes(feats))
        return len(missing)

    def recode_copies(self, progress: Progress | None = None, chunk: int = 4096) -> int:
        """Recompute every photo's copy code from the stored features (after the copy head
        changed), like IndexingService.recode does for the semantic code."""
        if self.copy is None or self.copy_model_id is None:
            return 0
        return recode_all(self.store, self.copy_model_id, self.copy.codes, progress, chunk)
