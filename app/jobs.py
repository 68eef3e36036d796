"""Job functions the GUI runs through `app.workers`: plain functions of (ctx, ...) with no Qt
widgets in them. Each opens its own Library via `ctx.library()` and closes it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtGui import QImage

from hashcore.errors import Cancelled
from hashcore.ingest.decode import open_full
from hashcore.ingest.paths import display_path

PHASE_SEP = "\x1f"  # progress text "phase<SEP>detail": the status bar shows the phase's name


def phased(ctx: Any, name: str) -> Any:
    """A progress callback that labels its reports with a phase name ("Reading keywords")."""
    return lambda done, total, text="": ctx.progress(done, total, f"{name}{PHASE_SEP}{text}")


@dataclass
class TagCounts:
    """What automatic tagging added: tags from the model, and keywords read from the files."""

    auto: int = 0
    keywords: int = 0

    def text(self) -> str:
        return (f"{self.auto:,} automatic tag{'s' if self.auto != 1 else ''}, {self.keywords:,} "
                f"keyword{'s' if self.keywords != 1 else ''} from the files")


@dataclass
class IndexOutcome:
    report: Any  # hashcore.ingest.indexer.IndexReport
    tags: TagCounts | None = None


def index_job(ctx: Any, roots: list[str], tag: bool = False) -> IndexOutcome:
    since = time.time()
    with ctx.library() as lib:
        report = lib.index(roots, progress=ctx.progress, cancel=ctx.cancelled)
        return IndexOutcome(report, tag_new_photos(ctx, lib, since, report) if tag else None)


def rescan_job(ctx: Any, tag: bool = False) -> IndexOutcome:
    since = time.time()
    with ctx.library() as lib:
        report = lib.rescan(progress=ctx.progress, cancel=ctx.cancelled)
        return IndexOutcome(report, tag_new_photos(ctx, lib, since, report) if tag else None)


def tag_new_photos(ctx: Any, lib: Any, since: float, report: Any) -> TagCounts:
    """After indexing (issue 5): keywords already in the files of the photos indexed in this run
    (new or changed: only their files are read again), then automatic tags for every photo that
    has none, the changed ones re-tagged. A cancel skips the file reading; the model's tags come
    from stored probabilities and take milliseconds, so they are always added."""
    fresh = lib.indexed_since(since)
    keywords = 0
    if fresh and not report.cancelled:
        try:
            keywords = lib.import_keywords(phased(ctx, "Reading keywords"), ids=fresh, cancel=ctx.cancelled)
        except Cancelled:
            pass
    return TagCounts(lib.auto_tag(retag=fresh), keywords)


def tag_photos_job(ctx: Any) -> TagCounts:
    """Library → Tag photos automatically: every file's keywords, then the model's tags."""
    with ctx.library() as lib:
        keywords = lib.import_keywords(phased(ctx, "Reading keywords"), cancel=ctx.cancelled)
        return TagCounts(lib.auto_tag(), keywords)


# -- the library's hashing head (issue 4) ----------------------------------------------------------
@dataclass(frozen=True)
class AdaptOptions:
    """How "Adapt to my library" trains; the defaults are `hashcore train --library`'s."""

    method: str = "itq"
    views: int = 8
    variants: int = 4
    max_photos: int = 500
    seed: int = 0

    @property
    def images_per_photo(self) -> int:
        return 1 + self.views + self.variants


@dataclass
class ModelChange:
    encoder: Any  # hashcore.models.manifest.Encoder with the head now in use
    adapted: bool  # True: a head fitted to this library; False: the shipped one
    samples: int  # training vectors (0 when going back to the shipped head)
    recoded: int
    seconds: float

    @property
    def name(self) -> str:
        return str(self.encoder.name)


def adapt_job(ctx: Any, opts: AdaptOptions) -> ModelChange:
    """Fit a head on the library's own photos (no labels), make it the library's, recode."""
    from hashcore.models.train import adapt_to_library

    t0 = time.perf_counter()
    with ctx.library() as lib:
        _, samples = adapt_to_library(lib, opts.method, opts.seed, opts.views, opts.variants, opts.max_photos,
                                      progress=phased(ctx, "Learning from your photos"), cancel=ctx.cancelled)
    return _recode(ctx, True, samples, t0)


def shipped_model_job(ctx: Any) -> ModelChange:
    from hashcore.models.manifest import forget_library_head

    t0 = time.perf_counter()
    forget_library_head(ctx.config)
    return _recode(ctx, False, 0, t0)


def _recode(ctx: Any, adapted: bool, samples: int, t0: float) -> ModelChange:
    """Every code again from the stored features under the head a restart would pick."""
    from hashcore.models.manifest import Encoder, library_head_info

    encoder = Encoder(library_head_info(ctx.config), backbone=ctx.encoder.backbone)
    with ctx.library(encoder) as lib:
        recoded = lib.recode(phased(ctx, "Recomputing codes"))
    return ModelChange(encoder, adapted, samples, recoded, time.perf_counter() - t0)


@dataclass
class LibrarySnapshot:
    """Everything the library panel shows, read in one go off the GUI thread."""

    images: list[dict[str, Any]]
    roots: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    tags: list[tuple[str, int, int]]  # (tag, photos a person gave it, photos the model gave it)
    stats: dict[str, Any]
    tag_filter: str | None = None
    filtered_ids: list[int] | None = None


def snapshot_job(ctx: Any, tag: str | None = None) -> LibrarySnapshot:
    with ctx.library() as lib:
        s = lib.store
        return LibrarySnapshot(s.images(), s.roots(), s.scan_errors(), lib.tag_counts(), s.stats(),
                               tag, s.ids_with_tag(tag) if tag else None)


@dataclass
class SearchResult:
    query_label: str
    query_path: str | None
    hits: list[Any]
    seconds: float
    query_id: int | None = None


def search_id_job(ctx: Any, image_id: int, k: int, radius: int | None) -> SearchResult:
    t0 = time.perf_counter()
    with ctx.library() as lib:
        row = lib.store.image(image_id)
        hits = lib.search_id(image_id, k, radius)
    return SearchResult(display_path(Path(row["path"]).name), row["path"], hits, time.perf_counter() - t0, image_id)


def search_file_job(ctx: Any, path: str, k: int, radius: int | None, label: str | None = None) -> SearchResult:
    t0 = time.perf_counter()
    with ctx.library() as lib:
        hits = lib.search_file(path, k, radius)
    return SearchResult(label or display_path(Path(path).name), path, hits, time.perf_counter() - t0)


@dataclass
class DupResult:
    groups: list[Any]
    rows: dict[int, dict[str, Any]]
    protected_roots: list[str]
    plans: list[tuple[int, list[int]]] = field(default_factory=list)
    seconds: float = 0.0
    level: tuple[int, float] | None = None  # (Hamming radius, minimum cosine) the groups were found at


def level_point(defaults: tuple[int, float], bits: int, radius_scale: float,
                cosine_shift: float) -> tuple[int, float]:
    """A level of the Duplicates panel as (radius, minimum cosine): the library's calibrated point
    with its radius scaled and its cosine shifted."""
    radius, cos = defaults
    return (max(0, min(bits // 2, round(radius * radius_scale))),
            round(min(0.995, max(0.3, cos + cosine_shift)), 4))


def duplicates_job(ctx: Any, radius_scale: float, cosine_shift: float, rule: str,
                   preferred: str | None, similar: bool = False, chunk: int = 16) -> DupResult:
    """Groups, their photos' facts and the keep rule's marks. On a large library the rule's
    part (the best-copy rule reads pixels) is what takes time: it reports per group and can be
    cancelled between chunks."""
    t0 = time.perf_counter()
    with ctx.library() as lib:
        ctx.progress(0, 0, f"Comparing photos{PHASE_SEP}")
        level = level_point(lib.duplicate_defaults(), lib.config.bits, radius_scale, cosine_shift)
        groups = lib.duplicates(*level, similar=similar, cancel=ctx.cancelled,
                                progress=lambda d, t, _w: ctx.progress(d, t, f"Checking doubtful pairs{PHASE_SEP}{PHASE_SEP}pairs"))
        ids = sorted({i for g in groups for i in g.image_ids})
        rows = {r["id"]: r for r in lib.store.images(ids=ids)}
        protected = [r["path"] for r in lib.store.roots() if r["protected"]]
        plans: list[Any] = []
        for start in range(0, len(groups), chunk):
            if ctx.cancelled():
                raise Cancelled("duplicate search cancelled")
            ctx.progress(start, len(groups), f"Choosing the copies to keep{PHASE_SEP}{PHASE_SEP}groups")
            plans += lib.plan_removals(groups[start:start + chunk], rule, preferred)
        ctx.progress(len(groups), len(groups), f"Choosing the copies to keep{PHASE_SEP}{PHASE_SEP}groups")
    return DupResult(groups, rows, protected, plans, time.perf_counter() - t0, level)


def trash_job(ctx: Any, ids: list[int]) -> Any:
    with ctx.library() as lib:
        return lib.trash(ids)


def undo_job(ctx: Any) -> list[str]:
    with ctx.library() as lib:
        return lib.undo_trash()


def dismiss_job(ctx: Any, ids: list[int]) -> list[int]:
    with ctx.library() as lib:
        lib.dismiss(ids)
    return ids


def preview_job(ctx: Any, path: str, edge: int) -> tuple[str, QImage, tuple[int, int]]:
    """An oriented image scaled to fit `edge` (0 = full size), as a QImage, and its full size.
    A request already replaced (the viewer moved on) is dropped before the decode, too."""
    if ctx.cancelled():
        raise Cancelled("preview no longer needed")
    img = open_full(path)
    size = img.size
    if edge and max(size) > edge:
        img.thumbnail((edge, edge))
    if ctx.cancelled():
        raise Cancelled("preview no longer needed")
    data = img.tobytes("raw", "RGB")
    q = QImage(data, img.width, img.height, img.width * 3, QImage.Format.Format_RGB888).copy()
    return path, q, size


def full_images_job(ctx: Any, paths: list[str]) -> list[tuple[str, QImage | None, str]]:
    """Full-size images for the compare view (the point is to see every pixel)."""
    out = []
    for p in paths:
        try:
            _, q, _ = preview_job(ctx, p, 0)
            out.append((p, q, ""))
        except Exception as exc:  # noqa: BLE001 - one unreadable photo must not cost the others
            out.append((p, None, str(exc)))
    return out


def tag_job(ctx: Any, action: str, ids: list[int], tags: list[str]) -> None:
    with ctx.library() as lib:
        if action == "add":
            lib.store.add_tags(ids, tags)
        else:
            lib.store.remove_tags(ids, tags)


def roots_job(ctx: Any, action: str, arg: Any, flag: bool = False) -> None:
    with ctx.library() as lib:
        if action == "add":
            lib.store.add_root(arg, protected=flag)
        elif action == "remove":
            lib.store.remove_root(arg)
        elif action == "protect":
            lib.store.set_protected(arg, flag)



def plan_job(ctx: Any, groups: list[Any], rule: str, preferred: str | None) -> list[tuple[int, list[int]]]:
    with ctx.library() as lib:
        return lib.plan_removals(groups, rule, preferred)


def copy_samples_job(ctx: Any, src: str, dest: str) -> str:
    """Copy the shipped sample photos into the data folder, so trying HashLens out (and even
    removing a 'duplicate' there) never touches the installation."""
    import shutil

    from hashcore.ingest.decode import is_photo_name

    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    for p in sorted(Path(src).iterdir()):
        if p.is_file() and is_photo_name(p.name) and not (out / p.name).exists():
            shutil.copy2(p, out / p.name)
    return str(out)


# -- tag search across modalities (issue 5) ------------------------------------------------------
@dataclass
class TagSearchResult:
    text: str
    hits: list[Any]
    seconds: float


def tag_search_job(ctx: Any, text: str, k: int = 200) -> TagSearchResult:
    """Photos for a tag text; several tags separated by commas count as 'any of them'."""
    t0 = time.perf_counter()
    tags = [t for t in text.split(",") if t.strip()] or [text]
    with ctx.library() as lib:
        hits = lib.find_tag(tags, k)
    return TagSearchResult(text, hits, time.perf_counter() - t0)


def suggest_tags_job(ctx: Any, image_id: int) -> tuple[int, list[tuple[str, int]]]:
    with ctx.library() as lib:
        return image_id, lib.suggest_tags(image_id, 6)


def tag_vocabulary_job(ctx: Any) -> list[str]:
    with ctx.library() as lib:
        return lib.tag_vocabulary()


def learn_tags_job(ctx: Any) -> dict[str, Any]:
    """Retrain tag search from the library's tags; its two phases count words, then steps."""
    def progress(done: int, total: int, text: str = "") -> None:
        phase, unit = ("Reading word meanings", "words") if text.startswith("reading word") else \
            ("Learning tags", "steps")
        ctx.progress(done, total, f"{phase}{PHASE_SEP}{text}{PHASE_SEP}{unit}")

    with ctx.library() as lib:
        return lib.learn_tags(progress=progress, cancel=ctx.cancelled)
