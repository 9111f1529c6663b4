"""Remote files, a verified local cache, and the two corpora of the book.

Every file the book uses is registered in :data:`DATA_HUB` with its download
URL, byte-identical mirrors and SHA-256. :func:`fetch` finds a file in this
order, verifying its hash before it is used:

1. the **mirror directory** ``$D2LMINI_DATA`` (read-only: never written),
2. the **cache directory** ``$D2LMINI_CACHE`` (default ``~/.cache/d2lmini``),
3. the network: the URL, then each mirror, written atomically into the cache.

Archives are extracted into the cache by :func:`extract`, which records the
size and SHA-256 of every extracted file and checks them on every call, so a
truncated, altered or deleted file is extracted again. Any number of processes
may fetch and extract the same files at once; what a killed process left
half-written is cleaned up by the next call. Entries whose path would escape
the target folder are rejected.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.request
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import _checks, _files
from ._checks import Choice, Integer, Positive, rules
from ._files import sha256sum
from .vocab import Vocab

__all__ = [
    "RemoteFile",
    "DATA_HUB",
    "DataError",
    "HashMismatchError",
    "DownloadError",
    "cache_dir",
    "mirror_dir",
    "sha256sum",
    "fetch",
    "extract",
    "read_ptb",
    "read_sentences",
    "FourGrams",
    "load_fourgrams",
]

MIRROR_ENV = "D2LMINI_DATA"
CACHE_ENV = "D2LMINI_CACHE"
MANIFEST = ".d2lmini-extracted.json"  # inside an extracted folder: size and sha256 of each file


@dataclass(frozen=True)
class RemoteFile:
    """A file the book downloads: where from, and what its bytes must hash to."""

    name: str
    url: str
    sha256: str
    mirrors: tuple[str, ...] = field(default=())

    @property
    def urls(self) -> tuple[str, ...]:
        return (self.url, *self.mirrors)


DATA_HUB: dict[str, RemoteFile] = {
    # Penn Treebank, Mikolov's language-modelling split, as packaged by d2l.ai.
    "ptb.zip": RemoteFile(
        name="ptb.zip",
        url="http://d2l-data.s3-accelerate.amazonaws.com/ptb.zip",
        sha256="310d8f602882a5716613815ed75596e5764ea84ed04c5630eebaaf2b943ec5aa",
    ),
    # The 250-word sentence corpus of Hinton's NNML / Toronto CSC321 assignment.
    "raw_sentences.txt": RemoteFile(
        name="raw_sentences.txt",
        url="https://raw.githubusercontent.com/Tonyfy/NNML/"
        "5cb9748823d92fbccd4b14cdb6fafe7a83d44f00/lecture5/assignment2/raw_sentences.txt",
        sha256="68f938bf5e07dd2a93ba94b8fe6e885d0e9c47bdd9288e4240392b01a516252f",
        mirrors=(
            "https://raw.githubusercontent.com/shenweichen/Coursera/"
            "d7dfbe91e347c9f6e1c987cb94da55133b46f188/"
            "Neural_Networks_for_Machine_Learning_University_of_Toronto/"
            "Assignment2/raw_sentences.txt",
        ),
    ),
}


class DataError(RuntimeError):
    """A data file could not be found, downloaded, verified or read."""


class HashMismatchError(DataError):
    """A file's SHA-256 is not the registered one (corrupt or wrong file)."""


class DownloadError(DataError):
    """No local copy exists and every download URL failed."""


def cache_dir() -> Path:
    """The writable cache: ``$D2LMINI_CACHE``, else ``$XDG_CACHE_HOME/d2lmini``, else ``~/.cache/d2lmini``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "d2lmini"


def mirror_dir() -> Path | None:
    """The read-only local mirror ``$D2LMINI_DATA``, or ``None`` when it is not set.

    Raises:
        DataError: the variable is set but names no existing folder.
    """
    value = os.environ.get(MIRROR_ENV)
    if not value:
        return None
    folder = Path(value).expanduser()
    if not folder.is_dir():
        raise DataError(f"{MIRROR_ENV}={value} is not an existing folder: point it at the folder that holds "
                        f"the data files ({', '.join(sorted(DATA_HUB))}), or unset it to use the cache "
                        "and the network")
    return folder


def _registered(name: str | RemoteFile) -> RemoteFile:
    if isinstance(name, RemoteFile):
        return name
    if not isinstance(name, str):
        raise TypeError(f"name must be a registered file name or a RemoteFile, got {type(name).__name__}")
    if name not in DATA_HUB:
        known = ", ".join(sorted(DATA_HUB))
        raise KeyError(f"unknown data file {name!r}: registered files are {known}")
    return DATA_HUB[name]


def _verify(path: Path, remote: RemoteFile, fix: str) -> Path:
    actual = sha256sum(path)
    if actual != remote.sha256:
        raise HashMismatchError(
            f"{path} is corrupt or not the expected file: its sha256 is {actual}, "
            f"expected {remote.sha256}. {fix}"
        )
    return path


def _download_one(url: str, tmp: Path, remote: RemoteFile, timeout: float) -> None:
    digest_of = hashlib.sha256()
    with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
        for chunk in iter(lambda: response.read(1 << 16), b""):
            digest_of.update(chunk)
            out.write(chunk)
    if digest_of.hexdigest() != remote.sha256:
        raise HashMismatchError(f"the download is corrupt: its sha256 is {digest_of.hexdigest()}, "
                                f"expected {remote.sha256}")


def _download(remote: RemoteFile, target: Path, timeout: float) -> None:
    """Try each URL in turn; write to a temporary file and rename it into place.

    Any failure of one URL (refused, timed out, cut short, corrupt) moves on to
    the next. Leftovers of downloads whose process was killed are removed first.
    """
    _files.make_folder(target.parent)
    _files.clean_stale(target.parent, target.name)
    failures = []
    for url in remote.urls:
        tmp = _files.temp_path(target.parent, target.name)
        try:
            _download_one(url, tmp, remote, timeout)
            _files.follow_umask(tmp)
            os.replace(tmp, target)  # atomic: the target is either absent or complete
            return
        except Exception as err:  # noqa: BLE001 - any failure of one URL means: try the next
            failures.append(f"  {url}: {type(err).__name__}: {err}")
        finally:
            tmp.unlink(missing_ok=True)
    raise DownloadError(
        f"could not download {remote.name!r}; tried:\n" + "\n".join(failures) + "\n"
        f"Download it by hand from {remote.url} and put it at {target}, "
        f"or set {MIRROR_ENV} to a folder that holds {remote.name}."
    )


@rules(timeout=Positive())
def fetch(name: str | RemoteFile, *, timeout: float = 60.0) -> Path:
    """Return the local path of a registered file, downloading it if needed.

    Looks in the mirror directory, then the cache, then downloads into the
    cache. The file's SHA-256 is checked before the path is returned.

    Raises:
        KeyError: ``name`` is not registered in :data:`DATA_HUB`.
        DataError: ``$D2LMINI_DATA`` is set but is not a folder.
        HashMismatchError: a local copy does not hash to the registered value.
        DownloadError: no local copy, and no URL could be downloaded.
        PermissionError: the cache folder is not writable (the message names it).
    """
    remote = _registered(name)
    mirror = mirror_dir()
    if mirror is not None and (mirror / remote.name).is_file():
        return _verify(
            mirror / remote.name,
            remote,
            f"Replace it with a fresh copy from {remote.url}, or unset {MIRROR_ENV}.",
        )
    cached = cache_dir() / remote.name
    if cached.is_file():
        return _verify(cached, remote, "Delete it and call fetch again to download it anew.")
    _download(remote, cached, timeout)
    return cached


def _safe_members(archive: zipfile.ZipFile, root: Path) -> list[zipfile.ZipInfo]:
    root = root.resolve()
    for info in archive.infolist():
        dest = (root / info.filename).resolve()
        if dest != root and root not in dest.parents:
            raise DataError(
                f"refusing to extract {archive.filename}: entry {info.filename!r} "
                f"would be written outside {root}"
            )
    return archive.infolist()


def _extraction_problem(target: Path) -> str | None:
    """Why ``target`` is not a complete extraction (``None`` when it is)."""
    if not target.is_dir():
        return "it does not exist"
    try:
        manifest = json.loads((target / MANIFEST).read_text())
    except (OSError, ValueError):
        return f"its list of extracted files ({MANIFEST}) is missing or unreadable"
    return _files.manifest_problem(target, manifest)


def extract(name: str | RemoteFile) -> Path:
    """Extract a registered zip archive into the cache and return its folder.

    The archive is unpacked into a temporary folder, the size and SHA-256 of
    every file are recorded in it, and it is renamed into place once complete.
    Every call checks the recorded sizes and hashes: a truncated, altered or
    deleted file is reported (a warning) and the archive extracted again.
    Processes extracting the same archive at once all succeed.
    """
    remote = _registered(name)
    archive_path = fetch(remote)
    target = cache_dir() / Path(remote.name).stem
    problem = _extraction_problem(target)
    if problem is None:
        return target
    folder = _files.make_folder(target.parent)
    with _files.locked(folder / f".{target.name}.lock"):
        problem = _extraction_problem(target)  # another process may have extracted it meanwhile
        if problem is None:
            return target
        if target.exists():
            warnings.warn(f"{target} is damaged ({problem}); extracting {archive_path.name} again", stacklevel=2)
        _files.clean_stale(folder, target.name)
        tmp = _files.temp_path(folder, target.name, suffix=".tmp")
        try:
            tmp.mkdir()
            with zipfile.ZipFile(archive_path) as archive:
                archive.extractall(tmp, members=_safe_members(archive, tmp))
            (tmp / MANIFEST).write_text(json.dumps(_files.manifest_of(tmp, skip=(MANIFEST,))))
            _files.follow_umask(tmp)
            _install_folder(tmp, target)
        finally:
            _files.remove(tmp)
    return target


def _install_folder(tmp: Path, target: Path) -> None:
    """Rename the complete folder ``tmp`` to ``target``, replacing a damaged ``target``."""
    if target.exists():
        trash = _files.temp_path(target.parent, target.name, suffix=".old")
        os.replace(target, trash)
        _files.remove(trash)
    try:
        os.replace(tmp, target)
    except OSError:
        if _extraction_problem(target) is not None:  # not a complete copy from a racing process
            raise


PTB_SPLITS = ("train", "valid", "test")


@rules(split=Choice(PTB_SPLITS))
def read_ptb(split: str = "train") -> list[list[str]]:
    """Penn Treebank sentences as lists of tokens (``<unk>`` and ``N`` as in the corpus).

    Train: 42,068 sentences, 887,521 tokens.
    """
    path = extract("ptb.zip") / "ptb" / f"ptb.{split}.txt"
    with open(path, encoding="utf-8") as f:
        return [tokens for tokens in (line.split() for line in f) if tokens]


def read_sentences() -> list[list[str]]:
    """The 250-word sentence corpus (CSC321), lower-cased, one token list per sentence."""
    with open(fetch("raw_sentences.txt"), encoding="utf-8") as f:
        return [tokens for tokens in (line.lower().split() for line in f) if tokens]


@dataclass
class FourGrams:
    """The CSC321 layout: ids of three context words and of the word that follows."""

    vocab: Vocab
    train_inputs: np.ndarray
    train_targets: np.ndarray
    valid_inputs: np.ndarray
    valid_targets: np.ndarray
    test_inputs: np.ndarray
    test_targets: np.ndarray


@rules(seed=Integer(0))
def load_fourgrams(seed: int = 0, valid_fraction: float = 0.1, test_fraction: float = 0.1) -> FourGrams:
    """Every 4-word window inside a sentence of :func:`read_sentences`, shuffled and split.

    With the defaults: 465,686 four-grams split 372,550 / 46,568 / 46,568 and a
    vocabulary of the corpus's 250 words (ordered by frequency, no ``<unk>``).
    Inputs are ``(N, 3)`` int64 arrays, targets ``(N,)``.
    """
    for arg, value in (("valid_fraction", valid_fraction), ("test_fraction", test_fraction)):
        if _checks.real(arg, value, 0.0, 0.5) == 0.5:
            raise ValueError(f"{arg} must be a number in [0, 0.5), got {value!r}")
    sentences = read_sentences()
    vocab = Vocab(sentences, unk_token=None)
    ids = np.fromiter((vocab.token_to_idx[t] for s in sentences for t in s), dtype=np.int64)
    lengths = np.fromiter((len(s) for s in sentences), dtype=np.int64)
    starts = np.repeat(np.cumsum(lengths) - lengths, np.maximum(lengths - 3, 0))
    # offset of each window inside its sentence: 0, 1, ..., len-4 for each sentence
    counts = np.maximum(lengths - 3, 0)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    windows = ids[(starts + offsets)[:, None] + np.arange(4)]
    windows = windows[np.random.default_rng(seed).permutation(len(windows))]
    n_valid, n_test = int(len(windows) * valid_fraction), int(len(windows) * test_fraction)
    n_train = len(windows) - n_valid - n_test
    train, valid, test = np.split(windows, [n_train, n_train + n_valid])
    return FourGrams(
        vocab,
        train[:, :3], train[:, 3],
        valid[:, :3], valid[:, 3],
        test[:, :3], test[:, 3],
    )
