"""A Colab reader's environment (``tests/reader_environment.py``): the package and what a
chapter's install cell asks for, nothing of the book's build or tests. One chapter's notebook
runs top to bottom with that environment's own kernel, so a chapter that imports a package the
install cell does not bring fails here. Slow (it installs packages): marked `slow`; CI runs it,
with the environment it built beforehand (``$D2LMINI_READER_VENV``)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
import reader_environment

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


INSTALL_LINE = 'install = ["pip", "install", "-q", f"d2lmini[analysis] @ git+{repository}"]'


@pytest.mark.parametrize("chapter", sorted((ROOT / "chapters").glob("*.md")), ids=lambda p: p.stem)
def test_the_environment_installs_what_the_install_cell_asks_for(chapter):
    assert INSTALL_LINE in chapter.read_text(), \
        f"{chapter.name}: its install cell changed; change tests/reader_environment.py with it"


@pytest.mark.slow
def test_chapter_runs_in_a_fresh_environment(tmp_path):
    prebuilt = os.environ.get("D2LMINI_READER_VENV")
    if prebuilt:
        venv = Path(prebuilt)
        python = venv / "bin" / "python"
        assert python.is_file(), f"$D2LMINI_READER_VENV={prebuilt} holds no virtual environment"
    else:
        import torch

        venv = tmp_path / "venv"
        python = reader_environment.build(venv, torch.__version__.split("+")[0])
    notebook = tmp_path / "work" / CHAPTER.name  # outside the repository: nothing imports from the source tree
    notebook.parent.mkdir()
    notebook.write_bytes(CHAPTER.read_bytes())
    (tmp_path / "runner.py").write_text(RUNNER)
    out = reader_environment.run([python, tmp_path / "runner.py", notebook], cwd=notebook.parent,
                                 env=reader_environment.reader_env())
    installed = out.split("D2LMINI_FROM", 1)[1].split()[0]
    assert str(venv) in installed and "site-packages" in installed, f"d2lmini came from {installed}"
    assert str(ROOT) not in installed
    assert f"PYTHON {venv}" in out
