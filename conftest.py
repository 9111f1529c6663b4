"""Run the chapter notebooks in the book's order (_toc.yml), after the unit tests, so that a
later chapter finds the models of earlier ones in the cache, as it does in the book build."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent


def pytest_collection_modifyitems(session, config, items):
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    order = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    rank = {str(ROOT / f"{name}.ipynb"): i for i, name in enumerate(order)}

    def key(item):
        path = str(item.path)
        return (1, rank.get(path, len(rank))) if path.endswith(".ipynb") else (0, 0)

    items.sort(key=key)  # stable: cells of one notebook keep their order
