"""fetch/extract never touch the network here: remote files are local `file://` URLs."""

import hashlib
import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

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


# --- faults: damaged extractions, racing processes, killed downloads ---------------------

WORKERS = Path(__file__).with_name("_workers.py")


def make_bundle(tmp_path, files=8, size=300_000):
    archive = tmp_path / "src" / "bundle.zip"
    archive.parent.mkdir()
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(files):
            zf.writestr(f"bundle/part{i}.txt", rng.integers(0, 255, size, dtype=np.uint8).tobytes())
    return archive, hashlib.sha256(archive.read_bytes()).hexdigest()


@pytest.mark.parametrize("damage", ["truncate", "alter", "delete"])
def test_damaged_extraction_is_detected_and_extracted_again(isolated_data, tmp_path, damage):
    archive, sha = make_bundle(tmp_path, files=2, size=1000)
    remote = RemoteFile("bundle.zip", archive.as_uri(), sha)
    folder = extract(remote)
    part = folder / "bundle" / "part1.txt"
    good = part.read_bytes()
    if damage == "truncate":
        part.write_bytes(good[:10])
    elif damage == "alter":
        part.write_bytes(bytes([good[0] ^ 1]) + good[1:])
    else:
        part.unlink()
    with pytest.warns(UserWarning, match=r"bundle is damaged \(bundle/part1.txt"):
        assert extract(remote) == folder
    assert part.read_bytes() == good
    assert sorted(p.name for p in isolated_data.iterdir() if not p.name.endswith(".lock")) == ["bundle", "bundle.zip"]


def test_processes_extracting_at_once_all_succeed(isolated_data, tmp_path):
    archive, sha = make_bundle(tmp_path)
    env = {**os.environ, "D2LMINI_CACHE": str(isolated_data)}
    env.pop("D2LMINI_DATA", None)
    isolated_data.mkdir(parents=True)
    (isolated_data / "bundle.zip").write_bytes(archive.read_bytes())  # as if fetched: the race is extraction
    workers = [subprocess.Popen([sys.executable, str(WORKERS), "extract", str(archive), sha], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0 and "ok extracted" in out, err
    assert sorted(p.name for p in isolated_data.iterdir() if not p.name.endswith(".lock")) == ["bundle", "bundle.zip"]
    assert len(list((isolated_data / "bundle" / "bundle").iterdir())) == 8


class SlowServer:
    """A local HTTP server on 127.0.0.1 that streams PAYLOAD slowly (or fast, once told)."""

    def __init__(self, payload):
        import http.server
        import threading

        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                step = 1000
                for start in range(0, len(payload), step):
                    try:
                        self.wfile.write(payload[start:start + step])
                        self.wfile.flush()
                    except (BrokenPipeError, ConnectionResetError):
                        return
                    if server.slow:
                        time.sleep(0.05)

            def log_message(self, *args):
                pass

        self.slow = True
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/big.bin"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_download_killed_midway_leaves_no_file_and_its_leftover_is_cleaned(isolated_data):
    payload = bytes(range(256)) * 2000  # 512,000 bytes: about 25 s at the slow pace
    sha = hashlib.sha256(payload).hexdigest()
    server = SlowServer(payload)
    try:
        env = {**os.environ, "D2LMINI_CACHE": str(isolated_data)}
        env.pop("D2LMINI_DATA", None)
        worker = subprocess.Popen([sys.executable, str(WORKERS), "fetch", server.url, sha, "big.bin"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        partial = []
        while time.time() < deadline and not partial:
            partial = [p for p in isolated_data.glob(".big.bin.*.part") if p.stat().st_size > 5000]
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        assert partial, "the download never started"
        assert not (isolated_data / "big.bin").exists()  # nothing half-written under the real name
        assert partial[0].exists()  # what the killed process left
        server.slow = False
        path = fetch(RemoteFile("big.bin", server.url, sha))
        assert path.read_bytes() == payload
        assert [p.name for p in isolated_data.iterdir()] == ["big.bin"]  # the leftover was removed
    finally:
        server.close()


def test_any_failure_of_one_url_moves_on_to_the_next(isolated_data, source):
    remote = RemoteFile("file.txt", "notascheme://nowhere/file.txt", hashlib.sha256(PAYLOAD).hexdigest(),
                        mirrors=("http://127.0.0.1:9/closed-port", source.as_uri()))
    assert fetch(remote).read_bytes() == PAYLOAD


def test_downloaded_and_extracted_files_follow_the_umask(isolated_data, tmp_path):
    archive, sha = make_bundle(tmp_path, files=1, size=100)
    old = os.umask(0o002)  # group-writable: neither mkstemp's 0600 nor a fixed 0644 would match
    try:
        folder = extract(RemoteFile("bundle.zip", archive.as_uri(), sha))
        umask_after = os.umask(0o002)
    finally:
        os.umask(old)
    assert umask_after == 0o002  # reading the umask did not change it
    assert (isolated_data / "bundle.zip").stat().st_mode & 0o777 == 0o664
    assert folder.stat().st_mode & 0o777 == 0o775
    assert (folder / "bundle" / "part0.txt").stat().st_mode & 0o777 == 0o664


def test_missing_mirror_folder_is_reported(isolated_data, monkeypatch, tmp_path):
    monkeypatch.setenv("D2LMINI_DATA", str(tmp_path / "no-such-folder"))
    with pytest.raises(d2lmini.DataError, match=r"D2LMINI_DATA=.*no-such-folder is not an existing folder"):
        fetch("ptb.zip")


def test_unwritable_cache_names_the_folder(isolated_data, source, monkeypatch):
    real_mkdir = Path.mkdir

    def refuse(self, *args, **kwargs):
        if self == isolated_data:
            raise PermissionError(13, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(PermissionError, match=rf"cannot write to {isolated_data} .*D2LMINI_CACHE"):
        fetch(remote_for(source))


@pytest.mark.parametrize("manifest", ["[]", "null", "{}", '{"bundle/part0.txt": 5}'])
def test_malformed_extraction_manifest_means_extract_again(isolated_data, tmp_path, manifest):
    archive, sha = make_bundle(tmp_path, files=1, size=100)
    remote = RemoteFile("bundle.zip", archive.as_uri(), sha)
    folder = extract(remote)
    (folder / datasets.MANIFEST).write_text(manifest)
    with pytest.warns(UserWarning, match="damaged"):
        extract(remote)
    assert datasets._extraction_problem(folder) is None
