"""Real base photographs for the near-duplicate benchmark and for training copy-detection codes.

Every real photograph that installs offline here, one file per distinct photo:

* Debian `mate-backgrounds` (the nature set; the abstract and desktop sets are drawings),
* Debian `plasma-workspace-wallpapers` (one size per wallpaper, photos only: most are renders),
* Debian `palapeli-data` (the puzzle collection; its backgrounds are generated textures),
* Debian `gcompris-qt-data` (photos inside Qt resource files, read once through PySide6's
  QResource into .cache/gcompris/; the sets below were checked on a contact sheet, and the lang
  words, paintings, details, planets and hands were left out as drawings, artworks or cut-outs),
* scikit-image's and scikit-learn's bundled sample photos (no microscopy, scans or synthetic
  images).

Each base photo has a stable id ("gcompris/erase/giraffe"), a *scene* (the same place or thing,
shot again: skimage's stereo motorcycle pair, one monument in two gcompris sets) and a *subject*
(one kind of thing: four pairs of scissors, 28 fishes). Pairs that share a scene or a subject
are hard negatives: similar photos that are not copies.

The split into a training pool and a held-out pool is by scene (a scene's photos stay on one
side), from a keyed hash of the scene with a fixed seed, so a photo's side never depends on which
other photos a package version ships. bench/dup_split.json records it; `python -m bench.photos
--check` compares the two. Training code imports `training_pool()` only; it never sees the
held-out pool.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
SPLIT_FILE = Path(__file__).resolve().parent / "dup_split.json"
SPLIT_SEED = "hashlens-issue-14"
HELDOUT_SHARE = 0.4  # of scenes; gives ~130 held-out photos from ~320
MIN_HELDOUT = 100
MAX_SIDE = 1600  # bases are reduced to this long side once: larger adds decode time, not content

MATE_NATURE = Path("/usr/share/backgrounds/mate/nature")
PLASMA = Path("/usr/share/wallpapers")
PLASMA_PHOTOS = ("BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow",
                 "FallenLeaf", "Grey", "Kite", "OneStandsOut", "Path", "summer_1am")
PALAPELI = Path("/usr/share/palapeli/collection")
GCOMPRIS_RCC = Path("/usr/share/gcompris-qt/rcc")
# resource set -> which of its files are photos (a regex on the path under resource/)
GCOMPRIS_SETS = {
    "categorization": r"images/",
    "erase": r"[^/]+\.webp$",
    "explore_monuments": r"[^/]+/[^/]+\.webp$",
    "explore_world_animals": r"animals/",
    "explore_farm_animals": r"animals/",
    "explore_world_music": r"music/",
    "louis-braille": r"(braille|braille_ball|fireplace|rnib|statue|teach|workshop)\.webp$",
    "clickgame": r"sea\d\.webp$",
}
SKIMAGE_PHOTOS = ("astronaut", "camera", "chelsea", "coffee", "coins", "hubble_deep_field", "moon",
                  "motorcycle_left", "motorcycle_right", "rocket")
SKLEARN_PHOTOS = ("china", "flower")

# The same photograph shipped twice (another size or crop in another gcompris set): the first id
# is kept. Found by backbone cosine >= 0.85 over all pairs and confirmed by eye.
_CAT, _MON = "gcompris/categorization/", "gcompris/explore_monuments/"
SAME_PHOTO = {_CAT + "greatPyramid": _MON + "greatPyramidOfGiza", _CAT + "colosseum": _MON + "colosseum",
              _CAT + "brandenburgGate": _MON + "brandenburgGate"}
# One place or thing shot twice (not the same photo; checked by eye): scene keys. These few
# pairs all go to the held-out pool, so that its count of "similar shots grouped" means something.
SCENES = {
    "skimage/motorcycle_left": "motorcycle", "skimage/motorcycle_right": "motorcycle",
    _CAT + "alphabets": "toy-blocks", _CAT + "numbers": "toy-blocks",
    **{_CAT + a: a for a in ("christTheRedeemer", "eiffelTower", "mountRushmore", "tajMahal")},
    **{_MON + a: a for a in ("christTheRedeemer", "eiffelTower", "mountRushmore", "tajMahal")},
    _CAT + "statueOfLiberty": "statueOfLiberty", _MON + "statueofLiberty": "statueOfLiberty",
    _CAT + "kutubMinar": "qutubMinar", _MON + "qutubMinar": "qutubMinar",
    _CAT + "greatWall": "greatWall", _MON + "greatWallofChina": "greatWall",
}
# Extra subject words for names that do not end in a counter ("bentPyramid" is a pyramid).
SUBJECT_ALIASES = {
    "bentPyramid": "pyramid", "meidumPyramid": "pyramid", "redPyramid": "pyramid",
    "greatPyramid": "pyramid", "greatPyramidOfGiza": "pyramid",
    "chamaeleon": "chameleon", "panther-chameleon-female": "chameleon",
    "european-honey-bee": "bee", "kitten": "cat", "gosling": "duck", "cuttingTool": "plier",
    "sideCutter": "plier", "calf": "cow", "screwDriver": "screwDriver",
}


@dataclass(frozen=True)
class Base:
    """One distinct base photograph."""

    id: str  # "<source>/<set>/<name>": stable across runs and machines
    path: Path  # a file Pillow opens (for gcompris: the extracted copy in .cache/gcompris/)
    scene: str  # the same place or thing; equals id when nothing else shows it
    subject: str  # the kind of thing (hard negatives); "" when no other photo shares it

    def load(self, max_side: int = MAX_SIDE) -> Image.Image:
        """The photo as RGB, EXIF-oriented, reduced to `max_side` on its long side."""
        with Image.open(self.path) as img:
            img.draft("RGB", (max_side, max_side))
            img = ImageOps.exif_transpose(img)
            rgb = img.convert("RGBA").convert("RGB") if img.mode in ("P", "LA") else img.convert("RGB")
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        return rgb


def _stem_subject(name: str) -> str:
    stem = SUBJECT_ALIASES.get(name, name)
    stem = re.sub(r"\d+$", "", stem)
    return SUBJECT_ALIASES.get(stem, stem).lower().replace("_", "")


def extract_gcompris(dest: Path = CACHE / "gcompris") -> list[Path]:
    """Copy the photo files out of gcompris's Qt resource files once (Qt reads .rcc; Pillow
    cannot). Returns the extracted files, sorted; [] when gcompris-qt-data is not installed."""
    done, stamp = dest / ".complete", json.dumps(GCOMPRIS_SETS, sort_keys=True)
    if (not done.exists() or done.read_text() != stamp) and GCOMPRIS_RCC.is_dir():
        from PySide6.QtCore import QDirIterator, QFile, QIODevice, QResource

        for name, pattern in GCOMPRIS_SETS.items():
            rcc = GCOMPRIS_RCC / f"{name}.rcc"
            if not rcc.exists():
                continue
            if not QResource.registerResource(str(rcc)):
                raise OSError(f"Qt could not read the resource file {rcc}")
            try:
                it = QDirIterator(f":/gcompris/src/activities/{name}", QDirIterator.IteratorFlag.Subdirectories)
                while it.hasNext():
                    res = it.next()
                    rel = res.split("/resource/", 1)[-1]
                    if not re.match(pattern, rel) or not rel.endswith(".webp"):
                        continue
                    f = QFile(res)
                    if not f.open(QIODevice.OpenModeFlag.ReadOnly):
                        raise OSError(f"Qt could not open {res} in {rcc}")
                    target = dest / name / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(bytes(f.readAll().data()))
                    f.close()
            finally:
                QResource.unregisterResource(str(rcc))
        dest.mkdir(parents=True, exist_ok=True)
        done.write_text(stamp)  # which sets were extracted: a change re-extracts
    return sorted(p for p in dest.rglob("*.webp")) if dest.is_dir() else []


def _skimage_files() -> list[tuple[str, Path]]:
    try:
        import skimage
    except ImportError:
        return []
    data = Path(skimage.__file__).parent / "data"
    out = []
    for name in SKIMAGE_PHOTOS:
        hits = sorted(data.glob(f"{name}.*"))
        if hits:
            out.append((name, hits[0]))
    return out


def _sklearn_files() -> list[tuple[str, Path]]:
    try:
        import sklearn.datasets
    except ImportError:
        return []
    folder = Path(sklearn.datasets.__file__).parent / "images"
    return [(n, folder / f"{n}.jpg") for n in SKLEARN_PHOTOS if (folder / f"{n}.jpg").exists()]


def _candidates(gcompris_dir: Path) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    found += [(f"mate/{p.stem}", p) for p in sorted(MATE_NATURE.glob("*.jpg"))]
    for theme in PLASMA_PHOTOS:  # one file per wallpaper: the largest of its sizes
        sizes = sorted((PLASMA / theme / "contents" / "images").glob("*.*"), key=lambda p: p.stat().st_size)
        found += [(f"plasma/{theme}", sizes[-1])] if sizes else []
    found += [(f"palapeli/{p.stem}", p) for p in sorted(PALAPELI.glob("*.jpg"))]
    for p in extract_gcompris(gcompris_dir):
        rel = p.relative_to(gcompris_dir)
        found.append((f"gcompris/{rel.parts[0]}/{p.stem}", p))
    found += [(f"skimage/{n}", p) for n, p in _skimage_files()]
    found += [(f"sklearn/{n}", p) for n, p in _sklearn_files()]
    return found


def all_bases(gcompris_dir: Path = CACHE / "gcompris") -> list[Base]:
    """Every distinct base photo found on this machine, sorted by id."""
    seen_bytes: dict[str, str] = {}
    kept: list[tuple[str, Path]] = []
    for bid, path in sorted(_candidates(gcompris_dir)):
        digest = hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
        if bid in SAME_PHOTO or digest in seen_bytes:
            continue
        seen_bytes[digest] = bid
        kept.append((bid, path))
    subjects = Counter(_stem_subject(bid.rsplit("/", 1)[1]) for bid, _ in kept)
    out = []
    for bid, path in kept:
        subject = _stem_subject(bid.rsplit("/", 1)[1])
        out.append(Base(bid, path, SCENES.get(bid, bid), subject if subjects[subject] > 1 else ""))
    return out


def is_heldout(base: Base, seed: str = SPLIT_SEED, share: float = HELDOUT_SHARE) -> bool:
    """A keyed hash of the photo's scene: stable, and independent of the other photos. Scenes
    shot more than once are always held out (the benchmark's similar-shot negatives)."""
    if base.scene in SCENES.values():
        return True
    h = hashlib.blake2b(base.scene.encode(), key=seed.encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2.0**64 < share


def split(bases: list[Base] | None = None) -> tuple[list[Base], list[Base]]:
    """(training pool, held-out pool), each sorted by id."""
    bases = all_bases() if bases is None else bases
    train = [b for b in bases if not is_heldout(b)]
    held = [b for b in bases if is_heldout(b)]
    assert not {b.scene for b in train} & {b.scene for b in held}, "a scene on both sides of the split"
    return train, held


def training_pool() -> list[Base]:
    """The base photos a model may train on (never a held-out photo, nor one of its scenes)."""
    train, held = split()
    recorded = recorded_split()
    if recorded:
        banned = set(recorded["heldout"])
        leaked = [b.id for b in train if b.id in banned]
        if leaked:
            raise RuntimeError(f"recorded held-out photos in the training pool: {leaked[:5]}")
    return train


def heldout_pool() -> list[Base]:
    """The base photos no model trains on: benchmarks only."""
    return split()[1]


def recorded_split() -> dict[str, list[str]] | None:
    return json.loads(SPLIT_FILE.read_text()) if SPLIT_FILE.exists() else None


def split_record(train: list[Base], held: list[Base]) -> dict[str, object]:
    return {"seed": SPLIT_SEED, "heldout_share_of_scenes": HELDOUT_SHARE,
            "train": [b.id for b in train], "heldout": [b.id for b in held]}


def check_split(train: list[Base], held: list[Base]) -> list[str]:
    """Differences between this machine's split and the recorded one (empty when equal)."""
    rec = recorded_split()
    if rec is None:
        return [f"no recorded split at {SPLIT_FILE}"]
    problems = []
    for pool, bases in (("train", train), ("heldout", held)):
        have, want = {b.id for b in bases}, set(rec[pool])
        if have - want:
            problems.append(f"{pool}: {len(have - want)} photos not recorded, e.g. {sorted(have - want)[:3]}")
        if want - have:
            problems.append(f"{pool}: {len(want - have)} recorded photos missing here, e.g. {sorted(want - have)[:3]}")
    return problems


def hard_negative_pairs(bases: list[Base]) -> dict[str, list[tuple[str, str]]]:
    """Pairs of distinct photos that are not copies: {"scene": [...], "subject": [...]}."""
    out: dict[str, list[tuple[str, str]]] = {"scene": [], "subject": []}
    for i, a in enumerate(bases):
        for b in bases[i + 1:]:
            if a.scene == b.scene:
                out["scene"].append((a.id, b.id))
            elif a.subject and a.subject == b.subject:
                out["subject"].append((a.id, b.id))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write-split", action="store_true", help=f"(re)write {SPLIT_FILE.name}")
    ap.add_argument("--check", action="store_true", help="fail when this machine's split differs")
    args = ap.parse_args(argv)
    bases = all_bases()
    train, held = split(bases)
    neg = hard_negative_pairs(held)
    sources = Counter(b.id.split("/")[0] for b in bases)
    print(f"{len(bases)} base photos ({', '.join(f'{k} {v}' for k, v in sorted(sources.items()))}); "
          f"training pool {len(train)}, held-out pool {len(held)}; held-out hard negatives: "
          f"{len(neg['scene'])} same-scene pairs, {len(neg['subject'])} same-subject pairs")
    if len(held) < MIN_HELDOUT:
        print(f"held-out pool has fewer than {MIN_HELDOUT} photos: install the Debian photo packages")
        return 1
    if args.write_split:
        SPLIT_FILE.write_text(json.dumps(split_record(train, held), indent=1) + "\n")
        print(f"wrote {SPLIT_FILE}")
    if args.check:
        problems = check_split(train, held)
        for p in problems:
            print(p)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
