"""Atomic file writes: a killed run never leaves a half-written result or cache entry."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError


def current_umask() -> int:
    """The process's umask (Linux: read from /proc, so no thread ever sees a changed one; else set and restored)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def as_umask_allows(path: str | Path, directory: bool = False) -> None:
    """Give a file or folder that tempfile made private (0600/0700) the mode a plain open()/mkdir() would have
    (0644/0755 under umask 022), so results in a shared folder are readable by colleagues as the user intends."""
    os.chmod(path, (0o777 if directory else 0o666) & ~current_umask())


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds. The file gets the
    mode the umask gives new files (not tempfile's 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    as_umask_allows(tmp)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except Exception as e:
        raise storage_error(e, path.parent) or e
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


@contextmanager
def atomic_dir(path: str | Path, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary directory beside `path`; rename it onto `path` only if the block succeeds.

    The temporary name carries this process's id and host (`.<name>.pid<PID>@<host>.<random>.tmp`), so a later run
    on the same host can tell a folder left by a killed process (see `remove_stale_temp`); folders of other hosts
    (Dask workers sharing the filesystem) are never touched. With `replace=False` an existing `path` is an error,
    before and after the block: a finished folder is never deleted or replaced.
    """
    path = Path(path)
    if not replace and path.exists():
        raise BenchError("folder already exists; it is never replaced", path, hint="choose another name")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.pid{os.getpid()}@{_HOST}.", suffix=".tmp", dir=path.parent))
    try:
        as_umask_allows(tmp, directory=True)  # mkdtemp makes it 0700
        yield tmp
        if path.exists():
            if not replace:
                raise BenchError("folder already exists; it is never replaced", path, hint="choose another name")
            shutil.rmtree(path)
        os.replace(tmp, path)
    except Exception as e:
        raise storage_error(e, path.parent) or e
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)

def storage_error(e: BaseException, folder: str | Path) -> BenchError | None:
    """One line for a write into `folder` that failed because its filesystem is full or read-only, else None.

    The cause may sit anywhere in the exception chain, and libraries word it their own way: Python's OSError carries
    errno 28, pyarrow's only says "No space left on device" (torch.save's C++ stream errors say nothing, so
    checkpoints are serialised in memory and written by Python). A failing file named by the error is named instead
    of `folder` when it lies elsewhere (a run's tracks cache entry, written while its run folder is being built)."""
    if isinstance(e, BenchError):
        return None
    chain, seen = [], set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        chain.append(e)
        e = e.__cause__ or e.__context__
    codes = {getattr(x, "errno", None) for x in chain}
    files = [Path(x.filename) for x in chain if isinstance(x, OSError) and x.filename]
    where = files[0].parent if files else Path(folder)
    text = " ".join(str(x) for x in chain)
    full = bool(codes & set(_DISK_FULL)) or "No space left on device" in text or "Disk quota exceeded" in text
    if full:
        return BenchError("no space left on device", where, hint="free space (or point the setting elsewhere) and "
                          "run the same command again; nothing half-written was kept")
    if errno.EROFS in codes or "Read-only file system" in text:
        return BenchError("cannot write here: read-only file system", where)
    return None


def ensure_writable(folder: str | Path, setting: str) -> None:
    """Fail before any work when `folder` (created if missing) cannot take a new file: a real write probe, not a
    look at mode bits, which say nothing for root, read-only mounts or ACLs."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe.", suffix=".tmp", dir=folder)
        try:
            os.write(fd, b"x")
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as e:
        reason = "no space left on device" if e.errno in _DISK_FULL else (e.strerror or str(e)).lower()
        raise BenchError(f"{setting} folder is not writable ({reason})", folder,
                         hint=f"make it writable or point {setting} elsewhere") from None


def _lock_fd(lock: Path, wait: bool) -> int | None:
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            if os.fstat(fd).st_ino == os.stat(lock).st_ino:  # not unlinked by its previous holder meanwhile
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


@contextmanager
def file_lock(lock: str | Path, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive flock on `lock` for the block (yields True), or yield False at once when another process
    holds it and `wait` is False. The kernel drops the lock when its holder dies, even by SIGKILL, so a killed run
    never blocks the next; the file is removed on release (holders check they locked the file still there)."""
    lock = Path(lock)
    fd = _lock_fd(lock, wait)
    try:
        yield fd is not None
    finally:
        if fd is not None:
            try:
                os.unlink(lock)
            except FileNotFoundError:
                pass
            os.close(fd)


def remove_temp_of(path: Path) -> None:
    """Delete `atomic_path` temp files of `path` left by a killed writer. Call only while holding `path`'s lock, so
    no live writer's temp file goes."""
    for tmp in path.parent.glob(f".{path.name}.*.tmp") if path.parent.is_dir() else []:
        tmp.unlink(missing_ok=True)


def lock_path(path: Path) -> Path:
    """The lock file guarding `path` (a cache entry or a run folder): hidden, beside it."""
    return path.parent / f".{path.name}.lock"


_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())
_TEMP_PID = re.compile(r"^\..*\.pid(\d+)(?:@([A-Za-z0-9-]*))?\.[^.]*\.tmp$")


def is_temp(path: Path) -> bool:
    """A folder `atomic_dir` is still building (or a killed process left): never a result."""
    return path.name.startswith(".") and path.name.endswith(".tmp")


def remove_stale_temp(parent: str | Path) -> list[Path]:
    """Delete temporary folders in `parent` whose owner process on this host is gone (left by a SIGKILLed run)."""
    import psutil

    removed = []
    parent = Path(parent)
    for p in parent.iterdir() if parent.is_dir() else []:
        m = _TEMP_PID.match(p.name)
        if m and p.is_dir() and m.group(2) in (None, _HOST) and not psutil.pid_exists(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def remove_stale_locks(parent: str | Path) -> None:
    """Delete lock files in `parent` that no live process holds (left by a process SIGKILLed while holding one)."""
    parent = Path(parent)
    for p in parent.glob(".*.lock") if parent.is_dir() else []:
        with file_lock(p, wait=False):  # acquired: nobody holds it, and it is removed on release
            pass


def stable_hash(obj: Any, length: int = 16) -> str:
    """Hash of a JSON-able object, independent of dict order: used for cache keys and config hashes."""
    blob = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


def sha256_file(path: str | Path) -> str:
    """Full sha256 hex digest of a file's content, read in 1 MiB chunks (checkpoints can be hundreds of MB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_digest(*paths: str | Path, length: int = 16) -> str:
    """Hash of the names and contents of one or more files (a sequence's or code's identity for cache keys)."""
    return stable_hash([(Path(p).name, sha256_file(p)) for p in paths], length)
