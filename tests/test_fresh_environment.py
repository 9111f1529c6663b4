"""A Colab reader's environment: a fresh virtual environment holding what a chapter's install
cell asks for, `d2lmini[analysis]` (here from the working tree, not editable), plus the Jupyter
kernel that Colab already has, and nothing of the book's build or tests. One chapter's notebook
runs top to bottom with that environment's own kernel, so a chapter that imports a package the
install cell does not bring fails here. Slow (it installs packages): marked `slow`; CI runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "chapters" / "cooccurrence.ipynb"

RUNNER = textwrap.dedent("""
    import sys, nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(sys.argv[1], as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import d2lmini, sys; print('D2LMINI_FROM', d2lmini.__file__); print('PYTHON', sys.executable)"))
    NotebookClient(nb, timeout=900, kernel_name="python3").execute()
    print(nb.cells[-1].outputs[0]["text"])
""")


def run(args, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    command = " ".join(map(str, args))
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.mark.slow
def test_chapter_runs_in_a_fresh_environment(tmp_path):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    # torch first, at the version this environment already uses: requirements.txt's open
    # range would otherwise pull a multi-GB build from the index.
    import torch

    run([str(python), "-m", "pip", "install", "--quiet", f"torch=={torch.__version__.split('+')[0]}"], env=env)
    # What the chapter's install cell installs, and a kernel to run it with.
    install_cell = CHAPTER.with_suffix(".md").read_text()
    assert '"d2lmini[analysis] @ git+' in install_cell, "the chapter's install cell changed: update this test"
    run([str(python), "-m", "pip", "install", "--quiet", f"{ROOT}[analysis]", "ipykernel", "nbclient"], env=env)
    notebook = tmp_path / "work" / CHAPTER.name  # outside the repository: nothing imports from the source tree
    notebook.parent.mkdir()
    notebook.write_bytes(CHAPTER.read_bytes())
    (tmp_path / "runner.py").write_text(RUNNER)
    out = run([str(python), str(tmp_path / "runner.py"), str(notebook)], cwd=notebook.parent, env=env)
    installed = out.split("D2LMINI_FROM", 1)[1].split()[0]
    assert str(venv) in installed and "site-packages" in installed, f"d2lmini came from {installed}"
    assert str(ROOT) not in installed
    assert f"PYTHON {venv}" in out
