"""Shared fixtures. Tests that need the real corpora get them through `fetch`,
which finds them in the read-only mirror `$D2LMINI_DATA` when it is set."""

import pytest

import d2lmini


@pytest.fixture
def isolated_data(tmp_path, monkeypatch):
    """An empty cache and no mirror: nothing outside tmp_path is read or written."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("D2LMINI_CACHE", str(cache))
    monkeypatch.delenv("D2LMINI_DATA", raising=False)
    return cache


@pytest.fixture(scope="session")
def ptb_train():
    return d2lmini.read_ptb("train")


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """An empty cache; the data mirror (if any) stays visible."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("D2LMINI_CACHE", str(cache))
    return cache
