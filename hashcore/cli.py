"""`hashcore`: the command-line face of the engine. Errors become one line on stderr and exit 1."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hashcore import __version__
from hashcore.config import DEFAULT_BITS, SUPPORTED_BITS, Config, data_home
from hashcore.errors import HashLensError
from hashcore.ingest.paths import display_path

if TYPE_CHECKING:
    from hashcore.library import Library


class Bar:
    """A progress bar (tqdm: count, rate, time left) on a terminal; silent otherwise.

    Called as the engine's `progress(done, total, path)`. A job that reports in phases (a new
    total, or a count that starts again) gets a fresh bar per phase. tqdm is imported only when
    a bar is shown.
    """

    def __init__(self, label: str, enabled: bool) -> None:
        self.label, self.enabled = label, enabled
        self.bar: Any = None  # a tqdm bar while a phase runs

    def __call__(self, done: int, total: int, path: str) -> None:
        if not self.enabled:
            return
        if self.bar is None or self.bar.total != total or done < self.bar.n:
            self._close()
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=self.label, unit="", file=sys.stderr,
                            dynamic_ncols=True, mininterval=0.1)
        self.bar.update(done - self.bar.n)
        if done >= total:
            self._close()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _library(args: argparse.Namespace) -> Library:
    from hashcore.library import Library

    cfg = Config(home=data_home(), bits=args.bits)
    return Library(cfg, db_path=args.db)


def _readable(data: Any) -> Any:
    """Every str in `data` through display_path: a file name whose bytes are not UTF-8 appears
    with those bytes as \\xNN (valid UTF-8 JSON; the photo's id names it exactly)."""
    if isinstance(data, str):
        return display_path(data)
    if isinstance(data, dict):
        return {_readable(k): _readable(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_readable(v) for v in data]
    return data


def _out(args: argparse.Namespace, data: Any, text: str) -> None:
    out = json.dumps(_readable(data), indent=2, ensure_ascii=False) if args.json else display_path(text)
    sys.stdout.write(out + "\n")


def cmd_index(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        report = lib.index(args.dirs, progress=Bar("indexing", sys.stderr.isatty() and not args.json))
    r = report.as_json()
    lines = [f"indexed {r['indexed']}, skipped {r['skipped']} unchanged, moved {r['moved']}, "
             f"missing {r['missing']}, errors {len(r['errors'])} ({report.seconds:.1f}s)"]
    lines += [f"  error: {e['path']}: {e['error']}" for e in r["errors"]]
    _out(args, r, "\n".join(lines))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        if args.id is not None:
            hits = lib.search_id(args.id, args.k, args.radius)
        else:
            hits = lib.search_file(args.image, args.k, args.radius)
    text = "\n".join(f"{h.distance:4d}{'*' if h.exact_code else ' '} {h.path}{'  (copy)' if h.copy else '  (maybe a copy)' if h.maybe_copy else ''}"
                     for h in hits)
    _out(args, [h.as_json() for h in hits], text or "no matches")
    return 0


def cmd_dups(args: argparse.Namespace) -> int:
    if args.keep == "folder" and not args.prefer:
        raise HashLensError("--keep folder needs --prefer FOLDER")
    with _library(args) as lib:
        groups = lib.duplicates(args.radius, args.min_similarity, similar=args.similar,
                                progress=Bar("checking pairs", sys.stderr.isatty() and not args.json))
        plans = lib.plan_removals(groups, args.keep, args.prefer)
        unhashed = lib.dedupe.missing_dct()
        unreadable = lib.dedupe.unreadable
        unkept = lib.dedupe.unkept
    if unkept:
        sys.stderr.write(f"hashcore: {unkept}; the next run will match those pairs again\n")
    for line in unreadable[:10]:
        sys.stderr.write(f"hashcore: could not read {line} to check it as a copy; skipped\n")
    if len(unreadable) > 10:
        sys.stderr.write(f"hashcore: ... and {len(unreadable) - 10} more files could not be read\n")
    if unhashed:
        sys.stderr.write(f"hashcore: {unhashed} photos were indexed before HashLens kept their DCT hash, so some of "
                         "their copies may be missed; run `hashcore index` on their folders once (it reads them "
                         "again, without recomputing their features)\n")
    text, data = [], []
    for n, (g, plan) in enumerate(zip(groups, plans, strict=True), 1):
        text.append(f"group {n} ({g.kind}, score {g.score:.3f}, {len(g.paths)} photos, "
                    f"{g.reclaimable / 1e6:.1f} MB reclaimable)")
        text += [f"  {p}" for p in g.paths]
        text.append(f"  -> {plan.reason}")
        data.append(g.as_json() | {"keep": plan[0], "remove": plan[1], "reason": plan.reason})
    _out(args, data, "\n".join(text) or "no duplicates found")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        s = lib.store.stats()
        s["roots"] = lib.store.roots()
        s["database"] = lib.store.path
        s["model"] = lib.encoder.name
        s["copy_model"] = lib.copy.name if lib.copy is not None else None
    text = [f"database: {s['database']}", f"model: {s['model']}",
            f"copy model: {s['copy_model'] or 'none (duplicates from the model above)'}",
            f"photos: {s['photos']} (missing {s['missing']}, trashed {s['trashed']}, errors {s['errors']})",
            f"tags: {s['tags']}"]
    text += [f"  {r['path']}: {r['indexed']} photos, {r['missing']} missing, {r['errors']} errors, "
             f"{r['state']}{' (protected)' if r['protected'] else ''}" for r in s["roots"]]
    _out(args, s, "\n".join(text))
    return 0


def cmd_roots(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        if args.action == "add":
            lib.store.add_root(args.path, protected=args.protected)
        elif args.action in ("protect", "unprotect", "remove"):
            root = next((r for r in lib.store.roots() if r["path"] == str(Path(args.path).resolve())), None)
            if root is None:
                raise HashLensError(f"not a library folder: {args.path}")
            if args.action == "remove":
                lib.store.remove_root(root["id"])
            else:
                lib.store.set_protected(root["id"], args.action == "protect")
        roots = lib.store.roots()
    _out(args, roots, "\n".join(f"{r['path']}{' (protected)' if r['protected'] else ''}: "
                                f"{r['indexed']} photos" for r in roots) or "no library folders")
    return 0


def cmd_errors(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        errs = lib.store.scan_errors()
    _out(args, errs, "\n".join(f"{e['path']}: {e['error']}" for e in errs) or "no errors")
    return 0


def cmd_tag(args: argparse.Namespace) -> int:
    from hashcore.tags.search import tag_label

    with _library(args) as lib:
        for i in args.ids:
            lib.store.image(i)  # NotFoundError: "no photo with id N"
        if args.action == "add":
            lib.store.add_tags(args.ids, [args.tag])
        elif args.action == "remove":
            lib.store.remove_tags(args.ids, [args.tag])
        if args.action == "list" and args.ids:
            data: Any = {i: lib.store.tags_of(i) for i in args.ids}
            text = "\n".join(f"{i}: {', '.join(tag_label(t['tag'], t['source'], t['confidence']) for t in tags)}"
                             for i, tags in data.items())
        else:
            data = dict(lib.store.all_tags())
            text = "\n".join(f"{t} ({n})" if not auto else f"{t} ({n}, +{auto} auto)" if n else f"{t} (auto, {auto})"
                             for t, n, auto in lib.tag_counts()) or "no tags"
    _out(args, data, text)
    return 0


def cmd_find_tag(args: argparse.Namespace) -> int:
    like: Any = args.like
    if like is not None and like.isdigit() and not Path(like).exists():
        like = int(like)
    with _library(args) as lib:
        hits = lib.find_tag(args.text, args.k, "all" if args.all else "any", like, args.radius)
        weak = bool(hits) and like is None and lib.tag_query_is_weak(args.text)
    text = "\n".join(f"{h.distance:4d}{'*' if h.exact_code else ' '} {h.path}" for h in hits)
    if weak:  # the nearest photos, but nothing the models know is near the words
        from hashcore.tags.search import read_tags

        words = ", ".join(f'"{w}"' for w in read_tags(args.text))
        text = f"weak matches: no word the tag models know is close to {words}; nearest photos anyway\n{text}"
    _out(args, [{**h.as_json(), "weak": True} if weak else h.as_json() for h in hits], text or "nothing found")
    return 0


def cmd_suggest_tags(args: argparse.Namespace) -> int:
    image: Any = args.image
    if args.image.isdigit() and not Path(args.image).exists():
        image = int(args.image)
    with _library(args) as lib:
        tags = lib.suggest_tags(image, args.k)
    _out(args, [{"tag": t, "distance": d} for t, d in tags],
         "\n".join(f"{d:4d} {t}" for t, d in tags) or "no suggestions")
    return 0


def cmd_learn_tags(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        bar = Bar("learning", sys.stderr.isatty() and not args.json)
        info = lib.learn_tags(progress=lambda d, t, _s: bar(d, t, ""), min_photos=args.min_photos,
                              steps=args.steps)
    _out(args, info, f"learned {len(info['tags'])} tags from {info['photos']} tagged photos in "
         f"{info['seconds']:.0f}s: {', '.join(info['tags'][:20])}")
    return 0


def cmd_auto_tag(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        n = lib.auto_tag()
        m = lib.import_keywords() if args.keywords else 0
    _out(args, {"auto": n, "file": m}, f"added {n} automatic tags" +
         (f" and {m} keywords from the files" if args.keywords else ""))
    return 0


def cmd_dismiss(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        lib.dismiss(args.ids)
    _out(args, {"dismissed": args.ids}, f"photos {args.ids} will no longer be grouped as duplicates")
    return 0


def cmd_trash(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        if args.undo:
            restored = lib.undo_trash()
            _out(args, {"restored": restored}, f"restored {len(restored)} photos")
            return 0
        res = lib.trash(args.ids)
    _out(args, {"moved": res.moved, "bytes": res.bytes, "failed": res.failed},
         f"moved {len(res.moved)} photos ({res.bytes / 1e6:.1f} MB) to the trash"
         + "".join(f"\n  failed: {f['path']}: {f['error']}" for f in res.failed))
    return 0 if not res.failed else 1


def cmd_train(args: argparse.Namespace) -> int:
    import numpy as np

    from hashcore.models.backbone import Backbone
    from hashcore.models.train import (
        adapt_to_library,
        augmented_features,
        fit_and_save,
        make_head,
        photo_files,
    )

    if min(args.views or 0, args.variants or 0) < 0:
        raise HashLensError("--views and --variants count images per photo: 0 or more")
    if args.library or args.shipped:
        return _train_library(args, adapt_to_library)
    out_dir = Path(args.out)
    head = make_head(args.method, args.bits, seed=args.seed)
    if args.features:
        with np.load(args.features, allow_pickle=False) as z:
            x, y = z["x"].astype(np.float32), (z["y"] if "y" in z.files else None)
    elif args.photos:
        views, variants = _or(args.views, 24), _or(args.variants, 6)
        x, y = augmented_features(photo_files(args.photos), Backbone(), views, variants, args.seed,
                                  Bar("embedding", sys.stderr.isatty())), None
        if args.save_features:
            np.savez_compressed(args.save_features, x=x.astype(np.float16))
    else:
        raise HashLensError("say what to train on: --photos DIR, --features FILE, or --library")
    info = fit_and_save(head, x, y, out_dir, args.name or f"{args.method}-{args.bits}", args.default)
    _out(args, {"name": info.name, "path": str(info.path), "sha256": info.sha256, "samples": len(x)},
         f"trained {info.name} on {len(x)} feature vectors -> {info.path} (sha256 {info.sha256[:12]})")
    return 0


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def _train_library(args: argparse.Namespace, adapt: Any) -> int:
    from hashcore.models.manifest import forget_library_head
    from hashcore.models.train import LIBRARY_VARIANTS, LIBRARY_VIEWS

    cfg = Config(home=data_home(), bits=args.bits)
    if args.shipped:
        had = forget_library_head(cfg)
        with _library(args) as lib:
            lib.recode()
        _out(args, {"model": lib.encoder.name, "changed": had},
             f"using the shipped model {lib.encoder.name}" + ("" if had else " (it already was)"))
        return 0
    with _library(args) as lib:
        info, n = adapt(lib, args.method, args.seed, _or(args.views, LIBRARY_VIEWS),
                        _or(args.variants, LIBRARY_VARIANTS),
                        progress=Bar("learning", sys.stderr.isatty() and not args.json), copy_head=args.copy_head)
    with _library(args) as lib:  # reopened: the adapted head is now the library's default
        recoded = lib.recode()  # every code, not only missing ones: none may be left from an older head
        copy_model = lib.copy.name if lib.copy is not None else None
    _out(args, {"name": info.name, "path": str(info.path), "sha256": info.sha256, "samples": n, "recoded": recoded,
                "copy_model": copy_model},
         f"adapted {info.name} to this library's {n} photos; recomputed {recoded} codes from stored features"
         + (f"; copy head in use: {copy_model}" if copy_model else ""))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    try:  # the evaluation code (Fashion-MNIST, faiss) lives in bench/, beside the source, not in the wheel
        from bench.evaluate import main as evaluate
    except ImportError:
        raise HashLensError("the evaluation runs from a source checkout: python -m bench.evaluate ...") from None
    return evaluate(args.eval_args)


def build_parser() -> argparse.ArgumentParser:
    from hashcore.cleanup.keep import DEFAULT_RULE, RULES
    from hashcore.library import DEFAULT_MIN_COSINE

    p = argparse.ArgumentParser(prog="hashcore", description="HashLens engine: index, search and "
                                "deduplicate photo folders offline.")
    p.add_argument("--version", action="version", version=f"hashcore {__version__}")
    p.add_argument("--db", help="library database (default: the user data dir, or $HASHLENS_HOME)")
    p.add_argument("--bits", type=int, default=DEFAULT_BITS, choices=SUPPORTED_BITS, help="code length")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def cmd(name: str, fn: Any, help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.add_argument("--json", action="store_true", help="machine-readable output")
        sp.set_defaults(fn=fn)
        return sp

    sp = cmd("index", cmd_index, "index (or re-index) photo folders")
    sp.add_argument("dirs", nargs="+", help="folders to index")
    sp = cmd("search", cmd_search, "find photos similar to an image file or an indexed photo (its copies first, "
             "marked as copies, where a copy-detection head is in use)")
    sp.add_argument("image", nargs="?", help="an image file (indexed or not)")
    sp.add_argument("--id", type=int, help="an indexed photo's id instead of a file")
    sp.add_argument("-k", type=int, default=20, help="number of results (default 20)")
    sp.add_argument("--radius", type=int, help="only results within this Hamming distance")
    sp = cmd("dups", cmd_dups, "list groups of exact and near-duplicate photos (and similar shots with --similar)")
    sp.add_argument("--radius", type=int, help="Hamming radius for near-duplicates (default: the copy head's "
                    "operating point; without a copy head, by code length)")
    sp.add_argument("--min-similarity", type=float,
                    help="cosine a pair must reach to count (default: the copy head's operating point, on its "
                         f"embedding; without a copy head {DEFAULT_MIN_COSINE}, on the backbone features)")
    sp.add_argument("--keep", choices=RULES, default=DEFAULT_RULE,
                    help="which copy of each group to keep (default best: the original, not an upscaled, "
                         "re-compressed or EXIF-stripped copy); the others are listed under 'remove'")
    sp.add_argument("--prefer", metavar="FOLDER", help="with --keep folder: the folder whose copy to keep")
    sp.add_argument("--similar", action="store_true",
                    help="also list similar shots (bursts, one scene shot twice; kind 'similar'): "
                         "not copies, so nothing in them is proposed for removal")
    cmd("stats", cmd_stats, "what the library holds")
    sp = cmd("roots", cmd_roots, "list, add, protect or remove library folders")
    sp.add_argument("action", nargs="?", default="list", choices=("list", "add", "remove", "protect", "unprotect"))
    sp.add_argument("path", nargs="?")
    sp.add_argument("--protected", action="store_true", help="with add: never propose its photos for removal")
    cmd("errors", cmd_errors, "files the last scans could not index, and why")
    sp = sub.add_parser("tag", help="add, remove or list tags", description="add, remove or list tags")
    tag_sub = sp.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, help_ in (("add", "add a tag to photos"), ("remove", "remove a tag from photos")):
        tp = tag_sub.add_parser(action, help=help_)
        tp.add_argument("tag")
        tp.add_argument("ids", nargs="+", type=int)
        tp.add_argument("--json", action="store_true", help="machine-readable output")
        tp.set_defaults(fn=cmd_tag)
    tp = tag_sub.add_parser("list", help="all tags with counts, or the tags of the given photos")
    tp.add_argument("ids", nargs="*", type=int)
    tp.add_argument("--json", action="store_true", help="machine-readable output")
    tp.set_defaults(fn=cmd_tag, tag="")
    sp = cmd("find-tag", cmd_find_tag, "find photos by tag text, also photos nobody tagged")
    sp.add_argument("text", nargs="*", help="one or more tags (quote tags of several words)")
    sp.add_argument("-k", type=int, default=20, help="number of results (default 20)")
    how = sp.add_mutually_exclusive_group()
    how.add_argument("--any", action="store_true", help="photos of any of the tags (default)")
    how.add_argument("--all", action="store_true", help="photos of all of the tags")
    sp.add_argument("--like", help="and like this photo (an image file or an indexed photo's id)")
    sp.add_argument("--radius", type=int, help="only results within this Hamming distance")
    sp = cmd("suggest-tags", cmd_suggest_tags, "tags the model suggests for a photo (file or id)")
    sp.add_argument("image")
    sp.add_argument("-k", type=int, default=8, help="number of suggestions (default 8)")
    sp = cmd("learn-tags", cmd_learn_tags, "retrain tag search from the tags you gave photos")
    sp.add_argument("--min-photos", type=int, default=3, help="learn tags on at least this many photos")
    sp.add_argument("--steps", type=int, default=600, help="training steps (more is slower, often better)")
    sp = cmd("auto-tag", cmd_auto_tag, "add automatic tags (ImageNet classes) to photos that have none")
    sp.add_argument("--keywords", action="store_true", help="also import keywords stored in the files")
    sp = cmd("dismiss", cmd_dismiss, "mark photos as not duplicates of each other")
    sp.add_argument("ids", nargs="+", type=int)
    sp = cmd("trash", cmd_trash, "move photos to the system trash (or --undo the last move)")
    sp.add_argument("ids", nargs="*", type=int)
    sp.add_argument("--undo", action="store_true")
    sp = cmd("train", cmd_train, "train a hashing head and add it to a model folder")
    sp.add_argument("--method", default="itq")
    sp.add_argument("--photos", nargs="+", help="train on augmented views of these folders' photos")
    sp.add_argument("--features", help="train on an .npz with x (and y) arrays")
    sp.add_argument("--save-features", help="with --photos: also save the features to this .npz")
    sp.add_argument("--views", type=int, help="random views per training photo (default 24; with --library 8)")
    sp.add_argument("--variants", type=int,
                    help="near-duplicate variants per training photo (default 6; with --library 4)")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--copy-head", action="store_true",
                    help="with --library: also refit the copy-detection head on this library (experimental; "
                         "the shipped one is kept otherwise)")
    sp.add_argument("--name", help="model name (default METHOD-BITS)")
    sp.add_argument("--out", default=str(Config().models_dir), help="model folder to write into")
    sp.add_argument("--default", action="store_true", help="make it the default for its code length")
    sp.add_argument("--library", action="store_true",
                    help="adapt to this library: read up to 500 of its photos again, fit a head on their "
                         "features and those of their --views and --variants (no labels), keep it in "
                         "HASHLENS_HOME/models, then recompute every code from the stored features")
    sp.add_argument("--shipped", action="store_true", help="go back to the shipped head for this code length")
    sp = cmd("eval", cmd_eval, "the Fashion-MNIST evaluation of every hashing method (docs/results.md)")
    sp.add_argument("eval_args", nargs=argparse.REMAINDER, help="arguments for python -m bench.evaluate")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "search" and (args.image is None) == (args.id is None):
        sys.stderr.write("hashcore search: give an image file or --id N (not both)\n")
        return 2
    try:
        return int(args.fn(args))
    except HashLensError as exc:
        sys.stderr.write(f"hashcore: {display_path(str(exc))}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("hashcore: interrupted\n")
        return 130
    except OSError as exc:
        sys.stderr.write(display_path(f"hashcore: {exc.strerror or exc}: {os.fsdecode(exc.filename or '')}") + "\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
