"""Shared fixtures. Tests that need the real corpora get them through `fetch`,
which finds them in the read-only mirror `$D2LMINI_DATA` when it is set."""

import os
import urllib.parse
import urllib.request

import pytest
import torch

import d2lmini


@pytest.fixture(autouse=True, scope="session")
def no_network_without_the_mirror():
    """Without `$D2LMINI_DATA`, a test that would download a data file is skipped, with the reason.

    Tests run without the network. Downloads from a local test server (127.0.0.1), and
    tests that replace `urlopen` themselves, are not affected.
    """
    if os.environ.get("D2LMINI_DATA"):
        yield
        return
    real = urllib.request.urlopen

    def local_only(url, *args, **kwargs):
        parts = urllib.parse.urlsplit(url if isinstance(url, str) else url.full_url)
        if parts.scheme in ("http", "https", "ftp") and parts.hostname not in ("127.0.0.1", "localhost"):
            pytest.skip(f"needs the data file at {url}: set D2LMINI_DATA to a folder holding the data files "
                        "(see the README); the tests do not download")
        return real(url, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:  # session-wide: module fixtures read data too
        patch.setattr(urllib.request, "urlopen", local_only)
        yield


@pytest.fixture(autouse=True)
def restore_torch_threads():
    """Tests may set torch's thread count, a process-wide setting: it is put back after each test."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


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
