"""One execution of each page, shared by `make test` and `make book`.

`make test` executes every page of the book (tests/test_pages.py) and stores the
executed notebook in Jupyter Book's execution cache, `_build/.jupyter_cache`, under
the key MyST-NB looks up: the page's code cells. `make book` runs with
`execute_notebooks: cache` and shows those outputs instead of executing the page
again; a page that is not in the cache is executed by the build as before.

The cache's key does not see what else the outputs depend on: `d2lmini`'s code,
the recorded results a page reads (`benchmarks/results/`), the versions of the
packages that compute them (PACKAGES) and the machine's CPU count. So a stamp of
these is kept beside the cache, and a test session or a build that finds a
different stamp empties the cache first (this module is also a Sphinx extension,
for the build's side). If a build stops while reading a damaged cache (a test
killed while storing a page), remove `_build/.jupyter_cache`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# What the pages' outputs depend on among the installed packages. Not every package: the set
# of all of them, as importlib.metadata lists it, changed within one `make test` in CI
# (cause not found), and a stamp must not change unless the outputs can.
PACKAGES = ("torch", "numpy", "scipy", "matplotlib", "scikit-learn", "gensim", "ipykernel", "nbclient", "myst-nb",
            "jupyter-cache")


def stamp() -> str:
    """A hash of d2lmini's sources, the recorded results, the requirements, the installed versions
    of the packages the pages' outputs depend on, the Python version and the CPU count."""
    digest = hashlib.sha256(f"{sys.version}\0{os.cpu_count()}\0".encode())
    files = (sorted((ROOT / "d2lmini").rglob("*.py")) + sorted((ROOT / "benchmarks" / "results").glob("*"))
             + [ROOT / "requirements.txt", ROOT / "pyproject.toml"])
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    for name in PACKAGES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{name}=={version}\0".encode())
    return digest.hexdigest()


def prune(cache: Path) -> None:
    """Empty ``cache`` unless its stamp matches :func:`stamp`, then write the current stamp beside it."""
    marker = cache.with_name(cache.name + ".stamp")
    current = stamp()
    if marker.is_file() and marker.read_text() == current:
        return
    if cache.exists():
        shutil.rmtree(cache)  # a failure here must stop: a fresh stamp over old entries would hide them
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(current)


def _prune_before_reading(app) -> None:
    # MyST-NB's default cache path: _build/.jupyter_cache, beside the builder's output folder.
    configured = app.config["nb_execution_cache_path"]
    prune(Path(configured) if configured else Path(app.outdir).parent / ".jupyter_cache")


def setup(app):
    app.connect("builder-inited", _prune_before_reading)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
