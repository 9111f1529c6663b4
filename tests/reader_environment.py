"""Build a Colab reader's environment: a fresh virtual environment holding what a chapter's
install cell asks for, ``d2lmini[analysis]`` (here from the working tree, not editable), and the
Jupyter kernel that Colab already has; nothing of the book's build or tests.

``tests/test_fresh_environment.py`` builds one in a temporary folder, or uses the one named by
``$D2LMINI_READER_VENV``. CI builds that one with this script while it installs its own
environment, so that the two installs overlap::

    python3 tests/reader_environment.py VENV_DIR --torch 2.13.0

It imports nothing outside the standard library: it runs before any environment exists.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def reader_env() -> dict[str, str]:
    """This process's environment without what would leak the caller's packages into the venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def run(args: list, **kwargs) -> str:
    """Run a command; fail with its output's tail when it fails."""
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        command = " ".join(map(str, args))
        raise RuntimeError(f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def build(venv: Path, torch_version: str) -> Path:
    """Create the environment in ``venv``; return its Python."""
    run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    env = reader_env()
    # torch first, at the given version: the package's open range would otherwise pull a
    # multi-GB build from the index.
    run([python, "-m", "pip", "install", "--quiet", f"torch=={torch_version}"], env=env)
    run([python, "-m", "pip", "install", "--quiet", f"{ROOT}[analysis]", "ipykernel", "nbclient"], env=env)
    return python


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("venv", type=Path, help="the folder to create (it must not exist)")
    parser.add_argument("--torch", required=True, help="the torch version to install, e.g. 2.13.0")
    args = parser.parse_args()
    if args.venv.exists():
        parser.error(f"venv: {args.venv} already exists; give a folder that does not")
    build(args.venv, args.torch)
