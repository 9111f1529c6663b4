"""Invariants of the book's sources: the table of contents, the paired notebooks and
the Colab install cell. (The pages themselves are executed by tests/test_pages.py.)"""

import re
from pathlib import Path

import jupytext
import nbformat
import pytest
import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
CHAPTERS = sorted((ROOT / "chapters").glob("*.md"))


def toc_files():
    return [entry["file"] for part in TOC["parts"] for entry in part["chapters"]]


def test_toc_lists_exactly_the_chapters_that_exist():
    assert (ROOT / f"{TOC['root']}.md").is_file()
    listed = toc_files()
    assert len(listed) == len(set(listed))
    for name in listed:
        assert (ROOT / f"{name}.md").is_file(), f"_toc.yml lists {name}, which does not exist"
    assert sorted(f"chapters/{p.stem}" for p in CHAPTERS) == sorted(n for n in listed if n.startswith("chapters/"))


def test_sphinx_reads_only_the_markdown_of_a_pair():
    assert "chapters/*.ipynb" in CONFIG["exclude_patterns"]


def test_failing_cells_fail_the_build():
    assert CONFIG["execute"]["allow_errors"] is False
    assert CONFIG["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    assert CONFIG["execute"]["timeout"] > 0


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_notebook_is_paired_in_sync_and_stripped(md):
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.is_file(), f"{md.name} has no paired {ipynb.name}: run `make sync`"
    from_md = jupytext.read(md)
    committed = nbformat.read(ipynb, as_version=4)
    sources = lambda nb: [(c.cell_type, c.source.strip()) for c in nb.cells]
    assert sources(committed) == sources(from_md), f"{ipynb.name} is out of sync with {md.name}: run `make sync`"
    for cell in committed.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{ipynb.name} carries outputs"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_first_code_cell_installs_the_package_only_in_colab(md):
    notebook = jupytext.read(md)
    code = [c.source for c in notebook.cells if c.cell_type == "code"]
    setup = code[0]
    assert 'if "google.colab" in sys.modules:' in setup
    url = re.search(r'repository = "(https://github\.com/[\w.-]+/[\w.-]+)"', setup)
    package = re.search(r'f"(\w+)\[(\w+)\] @ git\+\{repository\}"', setup)
    assert url and package, "the Colab cell must pip-install '<package>[<extra>] @ git+<repository URL>'"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert package.group(1) == project["name"]
    assert package.group(2) == "analysis" and "analysis" in project["optional-dependencies"], (
        "the Colab cell installs the analysis extra (gensim, scikit-learn), which the chapters import")
    assert url.group(1) == CONFIG["repository"]["url"], "the install line must use the repository URL of _config.yml"
    assert compile(setup, md.name, "exec")  # well-formed Python


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_code_lines_fit_the_page(md):
    """88 columns, the page's width: `make format` (ruff format) wraps what it can."""
    notebook = jupytext.read(md)
    long = [(i, line) for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"
            for line in cell.source.splitlines() if len(line) > 88]
    assert not long, f"{md.name}: code lines over 88 characters (cell, line): {long}"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_ends_with_summary_and_exercises(md):
    headings = re.findall(r"^## (.+)$", md.read_text(), flags=re.M)
    assert headings[-2:] == ["Summary", "Exercises"]
