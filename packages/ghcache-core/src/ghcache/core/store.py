"""The disk store: one JSON file per entry in one directory, shared by processes.

Writes go to a temp file in the same directory and are renamed into place, so
readers never see a torn entry.  Anything unreadable is a miss and is removed.
Expired entries stay for stale use; only eviction (least recently used first,
by access time, which reads set explicitly) removes them.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from ghcache.core.entry import Entry
from ghcache.core.kernel.entries import (
    ENTRY_PREFIX,
    ENTRY_SUFFIX,
    CorruptEntry,
    EntryFields,
    is_safe_key,
)
from ghcache.core.kernel.settings import INT_SETTINGS
from ghcache.core.stats import Stats
from ghcache.core.verified import VerifiedReads

__all__ = ["ENTRY_PREFIX", "ENTRY_SUFFIX", "CacheDirError", "DiskStore", "ensure_cache_dir"]

DEFAULT_MAX_BYTES = int(INT_SETTINGS["CACHE_MAX_BYTES"][0])
EVICT_TO_FRACTION = 0.9


class CacheDirError(OSError):
    """The cache directory cannot be created or written."""


def ensure_cache_dir(directory: Path) -> Path:
    """Create ``directory`` (mode 0700), or tighten an existing one we own; it must be writable."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.stat()
        mode = stat.S_IMODE(info.st_mode)
        # Only take permissions away (a directory the owner made read-only stays so),
        # and never from a shared sticky directory such as CACHE_DIR=/tmp run as root.
        if info.st_uid == os.getuid() and mode & 0o077 and not mode & stat.S_ISVTX:
            directory.chmod(mode & 0o700)
    except OSError as exc:
        raise CacheDirError(f"cannot use cache directory {directory}: {exc.strerror}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise CacheDirError(f"cannot use cache directory {directory}: not writable")
    return directory


class DiskStore:
    def __init__(self, directory: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.stats = Stats(self.directory)
        self._directory = os.fspath(self.directory)
        self._reads = VerifiedReads(self._directory)

    def path_for(self, key: str) -> Path:
        return self.directory / f"{ENTRY_PREFIX}{key}{ENTRY_SUFFIX}"

    def read(self, key: str, *, touch: bool = True) -> Entry | None:
        """The verified entry for ``key``, or None (missing, or corrupt and now removed).

        ``touch`` marks the entry as just used for LRU eviction; scans over the
        whole store (``entries``, ``prune``) pass False so they keep the order.
        """
        fields = self.read_fields(key, touch=touch)
        return None if fields is None else Entry.from_fields(fields)

    def read_fields(self, key: str, *, touch: bool = True) -> EntryFields | None:
        """:meth:`read` without building an :class:`Entry` (a hit that only needs the data)."""
        try:
            return self._reads.read(key, touch=touch)
        except CorruptEntry:
            self._drop_corrupt(self.path_for(key))
            return None

    def write(self, entry: Entry) -> None:
        """Store ``entry`` atomically, then evict if the store is over budget."""
        if not is_safe_key(entry.key):
            raise CacheDirError(f"refusing to store an entry under the key {entry.key!r}")
        ensure_cache_dir(self.directory)
        path = self.path_for(entry.key)
        data = entry.to_bytes()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise CacheDirError(
                f"cannot write to cache directory {self.directory}: {exc.strerror}"
            ) from None
        if self._over_budget(len(data)):
            self.evict()

    def delete(self, key: str) -> bool:
        if not is_safe_key(key):
            return False
        try:
            self.path_for(key).unlink()
        except OSError:
            return False
        return True

    def paths(self) -> Iterator[Path]:
        try:
            with os.scandir(self.directory) as found:
                for item in found:
                    if item.name.startswith(ENTRY_PREFIX) and item.name.endswith(ENTRY_SUFFIX):
                        yield Path(item.path)
        except OSError:
            return

    def entries(self) -> Iterator[Entry]:
        """Every readable entry; corrupt files met on the way are removed."""
        for path in self.paths():
            key = path.name[len(ENTRY_PREFIX) : -len(ENTRY_SUFFIX)]
            entry = self.read(key, touch=False)
            if entry is not None:
                yield entry

    def disk_usage(self) -> tuple[int, int]:
        """(number of entry files, total bytes)."""
        count = total = 0
        for path in self.paths():
            with contextlib.suppress(OSError):
                total += path.stat().st_size
                count += 1
        return count, total

    def clear(self) -> int:
        removed = 0
        for path in self.paths():
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
        return removed

    def prune(self, *, now: float, max_stale: float) -> int:
        """Remove corrupt entries and those expired for longer than ``max_stale``."""
        removed = 0
        for path in list(self.paths()):
            key = path.name[len(ENTRY_PREFIX) : -len(ENTRY_SUFFIX)]
            entry = self.read(key, touch=False)
            if entry is None:
                removed += 1
            elif now - entry.stored_at > entry.ttl + max_stale:
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
        self._remove_orphan_temps(now)
        return removed

    def evict(self) -> int:
        """Remove least recently used entries until the store is under budget."""
        files: list[tuple[float, int, Path]] = []
        total = 0
        for path in self.paths():
            with contextlib.suppress(OSError):
                info = path.stat()
                files.append((info.st_atime, info.st_size, path))
                total += info.st_size
        if total <= self.max_bytes:
            return 0
        target = int(self.max_bytes * EVICT_TO_FRACTION)
        evicted = 0
        for _, size, path in sorted(files):
            if total <= target:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size
                evicted += 1
        self.stats.add(evictions=evicted)
        return evicted

    def _over_budget(self, written: int) -> bool:
        # A full scan per write would make puts O(entries).  Scanning with a
        # chance proportional to the bytes written scans about once per
        # max_bytes/64 written, whatever the entry sizes, so the store overshoots
        # its budget by ~1/64 on average (a fixed 1-in-64 chance let 64 writes of
        # just under max_bytes/64 go unchecked: twice the budget).
        chance = written * 64 / self.max_bytes
        return chance >= 1 or int.from_bytes(os.urandom(4), "big") < chance * 2**32

    def _drop_corrupt(self, path: Path) -> None:
        with contextlib.suppress(OSError):
            path.unlink()
        self.stats.add(corrupt_dropped=1)

    def _remove_orphan_temps(self, now: float) -> None:
        # Temp files left by killed writers: anything older than a minute.
        try:
            with os.scandir(self.directory) as found:
                for item in found:
                    if item.name.startswith(".") and item.name.endswith(".tmp"):
                        with contextlib.suppress(OSError):
                            if now - item.stat().st_mtime > 60:
                                os.unlink(item.path)
        except OSError:
            return
