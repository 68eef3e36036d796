"""The `hashcore` command as the end-to-end tests run it.

By default a command runs in the test's own process through `hashcore.cli.main(argv)`: the same
argument parsing, output, error messages and exit codes as the console script, with stdout and
stderr captured, but without starting a new Python, importing torch and loading the models for
every one of the suite's ~80 commands. `real_process=True` runs `python -m hashcore.cli` as a child
process instead, for what only a real process shows (the module entry point, a folder indexed by
a separate program); every test file keeps at least one such run.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@contextlib.contextmanager
def environment(env: Mapping[str, str] | None) -> Iterator[None]:
    """os.environ replaced by `env` for the duration (None: left as it is)."""
    if env is None:
        yield
        return
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def hashcore(*args: str | bytes | Path, db: Path | None = None, env: Mapping[str, str] | None = None,
             ok: bool = True, real_process: bool = False) -> Result:
    """Run `hashcore [--db db] args...`; with ok, assert it succeeded. Bytes arguments are file
    names as the file system has them (decoded the way Python decodes a real argv)."""
    argv = (["--db", str(db)] if db is not None else []) + [os.fsdecode(a) if isinstance(a, bytes) else str(a)
                                                            for a in args]
    if real_process:
        proc = subprocess.run([sys.executable, "-m", "hashcore.cli", *argv], env=env,
                              capture_output=True, text=True, timeout=900)
        result = Result(proc.returncode, proc.stdout, proc.stderr)
    else:
        from hashcore.cli import main

        out, err = io.StringIO(), io.StringIO()
        with environment(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse refusing an argument exits, as the script does
                code = exc.code if isinstance(exc.code, int) else 1
        result = Result(int(code), out.getvalue(), err.getvalue())
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)
