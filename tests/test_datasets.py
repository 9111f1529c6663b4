"""fetch/extract never touch the network here: remote files are local `file://` URLs."""

import hashlib
import io
import os
import zipfile
from collections import Counter

import numpy as np
import pytest

import d2lmini
from d2lmini import datasets
from d2lmini.datasets import DownloadError, HashMismatchError, RemoteFile, extract, fetch

PAYLOAD = b"hello embeddings\n" * 100


def remote_for(path, name="file.txt", sha256=None):
    return RemoteFile(name=name, url=path.as_uri(), sha256=sha256 or hashlib.sha256(path.read_bytes()).hexdigest())


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "server" / "file.txt"
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path


def test_download_into_cache_then_reuse(isolated_data, source):
    remote = remote_for(source)
    path = fetch(remote)
    assert path == isolated_data / "file.txt" and path.read_bytes() == PAYLOAD
    source.unlink()  # the second call must not need the "network"
    assert fetch(remote) == path


def test_mirror_is_used_and_never_written(tmp_path, isolated_data, source, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "file.txt").write_bytes(PAYLOAD)
    os.chmod(mirror, 0o555)
    before = {p.name: p.stat().st_mtime_ns for p in mirror.iterdir()}
    monkeypatch.setenv("D2LMINI_DATA", str(mirror))
    try:
        remote = RemoteFile("file.txt", "file:///nonexistent/file.txt", hashlib.sha256(PAYLOAD).hexdigest())
        assert fetch(remote) == mirror / "file.txt"
        assert {p.name: p.stat().st_mtime_ns for p in mirror.iterdir()} == before
        assert not isolated_data.exists()  # nothing was downloaded or cached
    finally:
        os.chmod(mirror, 0o755)


def test_archive_from_mirror_is_extracted_into_the_cache(tmp_path, isolated_data, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    archive = mirror / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("bundle/a.txt", "A")
    remote = remote_for(archive, name="bundle.zip")
    monkeypatch.setenv("D2LMINI_DATA", str(mirror))
    folder = extract(remote)
    assert folder == isolated_data / "bundle"
    assert (folder / "bundle" / "a.txt").read_text() == "A"
    assert sorted(p.name for p in mirror.iterdir()) == ["bundle.zip"]


def test_corrupt_mirror_file_names_file_and_hashes(tmp_path, isolated_data, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "file.txt").write_bytes(b"tampered")
    monkeypatch.setenv("D2LMINI_DATA", str(mirror))
    expected = hashlib.sha256(PAYLOAD).hexdigest()
    actual = hashlib.sha256(b"tampered").hexdigest()
    with pytest.raises(HashMismatchError) as err:
        fetch(RemoteFile("file.txt", "file:///nowhere/file.txt", expected))
    message = str(err.value)
    assert str(mirror / "file.txt") in message and expected in message and actual in message


def test_corrupt_cached_file_says_what_to_do(isolated_data, source):
    isolated_data.mkdir(parents=True)
    (isolated_data / "file.txt").write_bytes(PAYLOAD[:10])  # a truncated earlier copy
    with pytest.raises(HashMismatchError, match="Delete it and call fetch again"):
        fetch(remote_for(source, sha256=hashlib.sha256(PAYLOAD).hexdigest()))


def test_corrupt_download_leaves_nothing_behind(isolated_data, source):
    remote = remote_for(source, sha256="0" * 64)
    with pytest.raises(DownloadError, match="is corrupt"):
        fetch(remote)
    assert not (isolated_data / "file.txt").exists()
    assert list(isolated_data.iterdir()) == []  # no partial or temporary file


def test_missing_file_without_network_names_url_and_destination(isolated_data, tmp_path):
    remote = RemoteFile("gone.txt", (tmp_path / "gone.txt").as_uri(), "0" * 64, mirrors=("file:///also/gone.txt",))
    with pytest.raises(DownloadError) as err:
        fetch(remote)
    message = str(err.value)
    assert remote.url in message and "file:///also/gone.txt" in message
    assert str(isolated_data / "gone.txt") in message and "D2LMINI_DATA" in message


def test_interrupted_download_is_atomic(isolated_data, source, monkeypatch):
    class Broken(io.BytesIO):
        def read(self, n=-1):
            chunk = super().read(10)
            if not chunk or self.tell() > 50:
                raise ConnectionResetError("connection reset mid-transfer")
            return chunk

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(datasets.urllib.request, "urlopen", lambda url, timeout: Broken(PAYLOAD))
    with pytest.raises(DownloadError, match="connection reset"):
        fetch(remote_for(source))
    assert list(isolated_data.iterdir()) == []


def test_mirror_url_is_tried_after_the_main_one(isolated_data, source, tmp_path):
    remote = RemoteFile("file.txt", (tmp_path / "missing").as_uri(), hashlib.sha256(PAYLOAD).hexdigest(),
                        mirrors=(source.as_uri(),))
    assert fetch(remote).read_bytes() == PAYLOAD


def test_zip_entry_escaping_the_cache_is_rejected(isolated_data, tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.txt", "fine")
        zf.writestr("../../escaped.txt", "gotcha")
    with pytest.raises(d2lmini.DataError, match="outside"):
        extract(remote_for(archive, name="evil.zip"))
    assert not (tmp_path / "escaped.txt").exists()
    assert not (isolated_data / "evil").exists()  # no half-extracted folder


def test_unknown_name_lists_registered_files():
    with pytest.raises(KeyError, match="ptb.zip"):
        fetch("no-such-file")


def test_registry_pins_urls_and_hashes():
    assert DATA_HUB_EXPECTED == {name: (r.url, r.sha256) for name, r in d2lmini.DATA_HUB.items()}


DATA_HUB_EXPECTED = {
    "ptb.zip": (
        "http://d2l-data.s3-accelerate.amazonaws.com/ptb.zip",
        "310d8f602882a5716613815ed75596e5764ea84ed04c5630eebaaf2b943ec5aa",
    ),
    "raw_sentences.txt": (
        "https://raw.githubusercontent.com/Tonyfy/NNML/5cb9748823d92fbccd4b14cdb6fafe7a83d44f00"
        "/lecture5/assignment2/raw_sentences.txt",
        "68f938bf5e07dd2a93ba94b8fe6e885d0e9c47bdd9288e4240392b01a516252f",
    ),
}


# --- the real corpora --------------------------------------------------------------


def test_ptb_counts(ptb_train):
    assert len(ptb_train) == 42_068
    assert sum(map(len, ptb_train)) == 887_521
    assert all(ptb_train)  # no empty sentences
    assert ptb_train[1][:3] == ["pierre", "<unk>", "N"]
    assert len(d2lmini.read_ptb("valid")) > 3000 and len(d2lmini.read_ptb("test")) > 3000


def test_ptb_bad_split():
    with pytest.raises(ValueError, match="split must be one of"):
        d2lmini.read_ptb("dev")


def test_sentence_corpus():
    sentences = d2lmini.read_sentences()
    assert len(sentences) == 97_162
    assert len({w for s in sentences for w in s}) == 250
    assert all(w == w.lower() for s in sentences[:1000] for w in s)


def test_fourgrams_layout_and_split():
    data = d2lmini.load_fourgrams()
    assert len(data.vocab) == 250
    assert data.train_inputs.shape == (372_550, 3) and data.train_targets.shape == (372_550,)
    assert data.valid_inputs.shape == (46_568, 3) and data.test_inputs.shape == (46_568, 3)
    # the three splits together are exactly the 4-word windows of the sentences
    windows = Counter(tuple(s[i:i + 4]) for s in d2lmini.read_sentences() for i in range(len(s) - 3))
    ids = np.vstack([
        np.column_stack([data.train_inputs, data.train_targets]),
        np.column_stack([data.valid_inputs, data.valid_targets]),
        np.column_stack([data.test_inputs, data.test_targets]),
    ])
    tokens = np.array(data.vocab.idx_to_token, dtype=object)[ids]
    assert Counter(map(tuple, tokens)) == windows
    again = d2lmini.load_fourgrams()
    assert np.array_equal(again.train_inputs, data.train_inputs)  # fixed seed
    assert not np.array_equal(d2lmini.load_fourgrams(seed=1).train_inputs, data.train_inputs)


def test_fourgrams_bad_fraction():
    with pytest.raises(ValueError, match="valid_fraction"):
        d2lmini.load_fourgrams(valid_fraction=0.7)
