"""Writing into the cache safely (private): temporary names, stale leftovers, permissions, locks.

Every file or folder d2lmini writes (downloads, extractions, cached models,
exported vectors) is first written under a temporary name
``.<name>.<host>.<pid>.<random><suffix>`` in the same folder, then renamed into
place, so readers never see half of it. The host and process id in the name
let a later call remove what a killed process left behind, without touching
the temporary files of a process that is still writing. Files and folders end
with the permissions the user's umask gives (readable by others where the
umask allows, as pip's cache is), not ``mkstemp``'s private 0600.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

try:  # POSIX advisory locks; elsewhere writers rely on atomic renames alone
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

STALE_SECONDS = 24 * 3600  # any leftover older than this is removed, whoever wrote it
_HOST = socket.gethostname().replace(".", "-") or "host"


_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux's /proc)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:  # elsewhere: set and restore at once, serialised between our threads
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def follow_umask(path: Path) -> None:
    """Give ``path`` (a file, or a folder and everything in it) the permissions the umask allows."""
    mask = current_umask()
    if path.is_dir():
        for root, _dirs, files in os.walk(path):
            os.chmod(root, 0o777 & ~mask)
            for name in files:
                os.chmod(os.path.join(root, name), 0o666 & ~mask)
    else:
        os.chmod(path, 0o666 & ~mask)


def make_folder(folder: Path) -> Path:
    """``mkdir -p`` with a message that names the folder to fix when it is not writable."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(f"[Errno 13] Permission denied: '{folder}'")
    except PermissionError as err:
        raise PermissionError(
            f"cannot write to {folder} ({err.strerror or err}): make that folder writable "
            "(e.g. chmod u+w), or set D2LMINI_CACHE to a folder you can write to"
        ) from None
    return folder


def temp_path(folder: Path, name: str, suffix: str = ".part") -> Path:
    """A fresh temporary path beside ``folder / name``, naming this host and process."""
    return folder / f".{name}.{_HOST}.{os.getpid()}.{uuid.uuid4().hex[:12]}{suffix}"


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8) under a temporary name, then rename it into place."""
    tmp = temp_path(path.parent, path.name)
    try:
        tmp.write_text(text, encoding="utf-8")
        follow_umask(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    return True


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def clean_stale(folder: Path, name: str) -> list[Path]:
    """Remove the temporary leftovers for ``name`` of processes that no longer run.

    A leftover is removed when its process (on this host) is dead, or when it
    is older than a day. Returns what was removed.
    """
    removed = []
    if not folder.is_dir():
        return removed
    prefix = f".{name}."
    now = time.time()
    for path in folder.iterdir():
        if not path.name.startswith(prefix):
            continue
        parts = path.name[len(prefix):].split(".")
        if len(parts) < 3 or not parts[1].isdigit():
            continue
        host, pid = parts[0], int(parts[1])
        try:
            age = now - path.lstat().st_mtime
        except FileNotFoundError:
            continue
        if (host == _HOST and not _pid_alive(pid)) or age > STALE_SECONDS:
            remove(path)
            removed.append(path)
    return removed


@contextlib.contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``lock_file`` (created if needed) while in the block.

    Where the platform has no ``fcntl`` the block runs unlocked; callers still
    write with atomic renames, so readers stay safe.
    """
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    make_folder(lock_file.parent)
    with open(lock_file, "a+b") as handle:
        with contextlib.suppress(OSError):
            os.chmod(lock_file, 0o666 & ~current_umask())
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def sha256sum(path: Path, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_of(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, list]:
    """``{relative path: [size, sha256]}`` of every file below ``folder``."""
    return {p.relative_to(folder).as_posix(): [p.stat().st_size, sha256sum(p)]
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in skip}


def manifest_problem(folder: Path, manifest) -> str | None:
    """What is wrong with ``folder`` against ``manifest`` (first problem found), or ``None``.

    A manifest that lists no file, or is not a ``{path: [size, sha256]}`` mapping, is a problem too.
    """
    if not isinstance(manifest, dict) or not manifest:
        return "its list of files is empty or malformed"
    if not all(isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], int)
               and isinstance(entry[1], str) for entry in manifest.values()):
        return "its list of files is malformed"
    for relative, (size, digest) in manifest.items():
        path = folder / relative
        if not path.is_file():
            return f"{relative} is missing"
        if path.stat().st_size != size:
            return f"{relative} has {path.stat().st_size:,} bytes instead of {size:,} (truncated or altered)"
        if sha256sum(path) != digest:
            return f"{relative} was altered (its sha256 differs from the one recorded when it was written)"
    return None
