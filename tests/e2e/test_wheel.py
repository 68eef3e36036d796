"""The built wheel works on its own: it holds every shipped file the code opens, and its installed
`hashcore` indexes and searches the sample photos from a folder outside the source tree.

The wheel is built from a copy of the source tree (so a test run leaves no build/ in the checkout
and two runs never share one), installed with --no-deps into a fresh venv that reaches this test
environment's packages (torch, the backbone and text-model packages...) through a .pth file. That
.pth names plain folders only, so the editable install's import hook (itself started by a .pth
file) never runs there: `hashcore` comes from the wheel, which the test checks before using it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.packaging

# what a wheel build reads is the project's files, not a developer's venv, caches or builds
NOT_SOURCE = {".venv", ".git", "build", "dist", ".cache", ".pytest_cache", ".ruff_cache",
              ".hypothesis", ".import_linter_cache", "screenshots"}


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def copy_source(dest: Path) -> Path:
    def ignore(folder: str, names: list[str]) -> set[str]:
        top = Path(folder).resolve() == ROOT
        return {n for n in names if (top and n in NOT_SOURCE) or n == "__pycache__"
                or n.endswith((".egg-info", ".so", ".pyc"))}

    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


def shipped_files() -> set[str]:
    """Every file under resources/ the code opens, as wheel paths: the heads and the tag model the
    manifest names, the manifest, the tag vocabulary, the sample photos and the window icon."""
    res = ROOT / "resources"
    manifest = json.loads((res / "models" / "manifest.json").read_text())
    models = {h["file"] for h in manifest["heads"].values()} | {manifest["multimodal"]["file"]}
    files = {f"models/{m}" for m in models} | {"models/manifest.json", "tags/imagenet_vocab.json",
                                               "icons/hashlens.svg"}
    files |= {f"samples/{p.name}" for p in res.glob("samples/*.jpg")}
    assert {"models/itq-32.npz", "models/itq-64.npz", "models/itq-128.npz",
            "models/multimodal-384.npz", "samples/astronaut.jpg"} <= files
    return {f"hashcore/resources/{f}" for f in files}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = copy_source(tmp / "src")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"),
         "."], cwd=src)
    (whl,) = (tmp / "dist").glob("hashlens-*.whl")
    return whl


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A venv holding the wheel alone, reaching this environment's packages as plain folders."""
    tmp = tmp_path_factory.mktemp("installed")
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp)
    py = venv / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", str(wheel)], cwd=tmp)
    path, site_dir = json.loads(run([str(py), "-c", "import json, sys, sysconfig; "
                                     "print(json.dumps([sys.path, sysconfig.get_path('purelib')]))"], cwd=tmp))
    theirs = [p for p in sys.path if p and Path(p).is_dir() and p not in path and Path(p).resolve() != ROOT]
    Path(site_dir, "zz_test_environment.pth").write_text("\n".join(theirs) + "\n")
    return venv


def test_wheel_holds_every_file_the_code_opens(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = shipped_files() - names
    assert not missing, f"the wheel lacks {sorted(missing)}"
    code = {p.relative_to(ROOT).as_posix() for d in ("hashcore", "app") for p in (ROOT / d).rglob("*.py")
            if "__pycache__" not in p.parts}
    assert not code - names, f"modules left out of the wheel (pyproject.toml packages): {sorted(code - names)}"
    assert "hashcore/resources/tags/build_vocab.py" not in names  # a by-hand dev script, not shipped


def test_installed_wheel_indexes_and_searches_outside_the_source_tree(installed, tmp_path):
    from hashcore.search import kernels

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    py, cli = installed / "bin" / "python", installed / "bin" / "hashcore"
    where = json.loads(run([str(py), "-c",
                            "import json, hashcore, hashcore.config as c, app.window as w; "
                            "from hashcore.search import kernels as k; print(json.dumps([hashcore.__file__, "
                            "str(c.RESOURCES), str(w.ICON_PATH), w.ICON_PATH.is_file(), k.available()]))"],
                           cwd=tmp_path, env=env))
    code_file, resources, icon, icon_found, compiled = where
    assert Path(code_file).is_relative_to(installed) and Path(resources).is_relative_to(installed), where
    assert icon_found and Path(icon).is_relative_to(installed)
    assert compiled == kernels.available()  # the compiled search loops ship where they build

    photos = tmp_path / "photos"
    shutil.copytree(Path(resources) / "samples", photos, ignore=shutil.ignore_patterns("*.md"))
    db = tmp_path / "lib.db"
    report = json.loads(run([str(cli), "--db", str(db), "index", str(photos), "--json"], cwd=tmp_path, env=env))
    assert report["indexed"] == len(list(photos.glob("*.jpg"))) == 8 and report["errors"] == []
    hits = json.loads(run([str(cli), "--db", str(db), "search", str(photos / "astronaut.jpg"), "-k", "3", "--json"],
                          cwd=tmp_path, env=env))
    assert Path(hits[0]["path"]) == photos / "astronaut.jpg" and hits[0]["distance"] == 0
    assert len(hits) == 3 and all(h["distance"] > 0 for h in hits[1:])
    cat = next(h["id"] for h in json.loads(run([str(cli), "--db", str(db), "search", str(photos / "chelsea-cat.jpg"),
                                                "-k", "1", "--json"], cwd=tmp_path, env=env)))
    tags = json.loads(run([str(cli), "--db", str(db), "suggest-tags", str(cat), "--json"], cwd=tmp_path, env=env))
    assert any("cat" in t["tag"] for t in tags[:5]), tags  # the tag model and vocabulary from the wheel
