"""Limits on building export files: N builds at once across every worker and node, one build per file,
and a cache of bounded size that forgets the least recently used files first.

The slots are PostgreSQL advisory locks on keys (SLOT_SPACE, 0..N-1), taken on the primary in a transaction of
their own: every gunicorn worker on every node and the job worker see the same locks, and a process that dies
releases its slot with its connection.
A build waits at most OPENDATA_EXPORT_WAIT seconds for a slot (or for another build of the same
file), then answers 503 with Retry-After.
"""
import hashlib
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from gisportal.env import env_int
from layers.errors import ServiceUnavailable

SLOT_SPACE = 0x67706578  # 'gpex': first key of the build slots' advisory locks
FILE_SPACE = 0x67706666  # 'gpff': first key of the per-file build locks
POLL_SECONDS = 0.2
STALE_WORK_SECONDS = 3600  # an export-* work folder this old belongs to a build that died


def _setting(name: str, default: int) -> int:
    value = getattr(settings, name, None)
    return int(value) if value is not None else env_int(name, default)


def max_builds() -> int:
    """How many export files may be built at once across all workers (OPENDATA_EXPORT_BUILDS, default 2)."""
    return max(1, _setting("OPENDATA_EXPORT_BUILDS", 2))


def wait_seconds() -> int:
    """How long a request waits for a build slot or a build of the same file (OPENDATA_EXPORT_WAIT, default 10)."""
    return max(0, _setting("OPENDATA_EXPORT_WAIT", 10))


def cache_max_bytes() -> int:
    """The cache's size cap (OPENDATA_CACHE_MAX_BYTES, default 2 GiB)."""
    return max(0, _setting("OPENDATA_CACHE_MAX_BYTES", 2 * 1024 ** 3))


def retry_after() -> int:
    return max(1, _setting("OPENDATA_EXPORT_RETRY_AFTER", 30))


def _busy() -> ServiceUnavailable:
    return ServiceUnavailable(
        "Máy chủ đang tạo nhiều tệp tải về cùng lúc. Vui lòng thử lại sau ít phút, "
        "hoặc tải cả lớp (không lọc theo bbox), tệp đó thường có sẵn.",
        "The server is busy building other downloads. Please try again in a few minutes, "
        "or download the whole layer (no bbox), which is usually ready.",
        retry_after=retry_after(),
    )


def _lock_session() -> BaseDatabaseWrapper:
    """A session of its own on the primary, in a transaction: the lock is transaction-level, so it is safe behind
    PgBouncer's transaction pooling (one server connection for the transaction's life), it is the same lock for
    every node and replica reader, and it ends with the transaction (closed, or the process dead)."""
    session = connections.create_connection(DEFAULT_DB_ALIAS)
    session.ensure_connection()
    session.set_autocommit(False)
    return session


def _try_lock(session: BaseDatabaseWrapper, space: int, key: int) -> bool:
    with session.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [space, key])
        return bool(cursor.fetchone()[0])


def _acquire(session: BaseDatabaseWrapper, space: int, keys: list[int]) -> int | None:
    """The first of keys locked within the wait, or None."""
    deadline = time.monotonic() + wait_seconds()
    while True:
        for key in keys:
            if _try_lock(session, space, key):
                return key
        if time.monotonic() >= deadline:
            return None
        time.sleep(POLL_SECONDS)


@contextmanager
def _held(space: int, keys: list[int]) -> Iterator[None]:
    session = _lock_session()
    try:
        if _acquire(session, space, keys) is None:
            raise _busy()
        yield
    finally:
        session.close()  # ends its transaction, and so the lock


def file_key(name: str) -> int:
    """The int4 advisory-lock key of a cache file."""
    return int.from_bytes(hashlib.sha1(name.encode()).digest()[:4], "big", signed=True)


def file_lock(path: Path):
    """Held while one request builds this file; another request for it waits, then finds it built."""
    return _held(FILE_SPACE, [file_key(str(path))])


def build_slot():
    """One of the max_builds() slots, held for the time of a build; 503 when none frees up in time."""
    return _held(SLOT_SPACE, list(range(max_builds())))


def touch(path: Path) -> None:
    """Marks a cached file as just used: its access time orders the eviction. The modification time stays the
    build's, so the file's ETag and Last-Modified (gisportal/ranges.py) hold while it is the same file."""
    try:
        os.utime(path, (time.time(), path.stat().st_mtime))
    except FileNotFoundError:  # evicted meanwhile: the caller already holds it open
        pass


def evict(root: Path) -> None:
    """Removes the least recently used files until the cache fits its cap, and work folders of dead builds."""
    cap, now = cache_max_bytes(), time.time()
    files = []
    for path in root.rglob("*"):
        try:
            info = path.stat()
        except FileNotFoundError:  # removed by another worker meanwhile
            continue
        in_work = any(part.startswith("export-") for part in path.relative_to(root).parts[:-1])
        if path.is_dir() and path.name.startswith("export-") and not in_work:
            if now - info.st_mtime > STALE_WORK_SECONDS:
                shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and not in_work:
            files.append((info.st_atime, info.st_size, path))
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files, key=lambda f: f[0]):
        if total <= cap:
            break
        path.unlink(missing_ok=True)  # a reader holding it open keeps reading: POSIX unlink
        total -= size
