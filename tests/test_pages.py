"""Every page of the book executes without an error, read as the book build reads it.

Each executed page is stored in the book's execution cache, so that `make book`
after `make test` shows these outputs instead of executing every page again
(see `_ext/execution_cache.py`, which also empties a cache made with other code).
"""

import sys
from pathlib import Path

import pytest
import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution
from myst_nb.core.read import is_myst_markdown_notebook, read_myst_markdown_notebook
from myst_parser.config.main import MdParserConfig

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
import execution_cache  # noqa: E402

from d2lmini import datasets  # noqa: E402

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
LISTED = [ROOT / f"{entry['file']}.md" for part in TOC["parts"] for entry in part["chapters"]]
PAGES = [page for page in LISTED if is_myst_markdown_notebook(page.read_text())]
CACHE = ROOT / "_build" / ".jupyter_cache"  # MyST-NB's default, which _config.yml keeps


def test_every_page_of_the_toc_is_a_notebook_and_the_build_uses_this_cache():
    assert PAGES == LISTED
    execute = CONFIG["execute"]
    assert execute["execute_notebooks"] == "cache" and not execute.get("cache")
    # Executed here as the build executes them: in the page's folder, stopping at the first error.
    assert execute["run_in_temp"] is False and execute["allow_errors"] is False
    assert "execution_cache" in CONFIG["sphinx"]["local_extensions"]


@pytest.fixture(scope="module")
def cache():
    execution_cache.prune(CACHE)
    return get_cache(CACHE), execution_cache.stamp()


def missing_data_files() -> list[str]:
    """The registered data files found neither in `$D2LMINI_DATA` nor in the cache."""
    mirror = datasets.mirror_dir()
    return [remote.name for remote in datasets.DATA_HUB.values()
            if not (mirror is not None and (mirror / remote.name).is_file())
            and not (datasets.cache_dir() / remote.name).is_file()]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT).with_suffix("")))
def test_page_executes_without_error(page, cache):
    missing = missing_data_files()
    if missing:  # the pages would download them: tests do not use the network
        pytest.skip(f"the pages need {', '.join(missing)}: set D2LMINI_DATA to a folder holding the data "
                    "files (see the README), or fetch them into the cache first")
    md_config = MdParserConfig(enable_extensions=set(CONFIG["parse"]["myst_enable_extensions"]))
    notebook = read_myst_markdown_notebook(page.read_text(), config=md_config, add_source_map=True, path=str(page))
    result = single_nb_execution(notebook, cwd=str(page.parent), allow_errors=False,
                                 timeout=CONFIG["execute"]["timeout"], meta_override=True)
    assert result.err is None, f"{page.relative_to(ROOT)} failed:\n{result.exc_string}"
    store, stamp = cache
    if execution_cache.stamp() == stamp:  # not if d2lmini or the results changed while the page ran
        store.cache_notebook_bundle(CacheBundleIn(notebook, str(page), data={"execution_seconds": result.time}),
                                    check_validity=False, overwrite=True)
