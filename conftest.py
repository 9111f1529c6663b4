"""Execute the book's pages (tests/test_pages.py, in the order of _toc.yml) after the unit
tests, so that a failing unit test is reported within minutes and a later page finds the
models of earlier ones in the cache, as it does in the book build."""


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: item.path.name == "test_pages.py")  # stable: the pages keep their order
