"""The disk store: one JSON file per entry in one directory, shared by processes.

Writes go to a temp file in the same directory and are renamed into place, so
readers never see a torn entry.  Anything unreadable is a miss and is removed.
Expired entries stay for stale use; only eviction (least recently used first,
by access time, which reads set explicitly) removes them.

Every change of an entry file is recorded in the entry index
(:mod:`ghcache.core.index`) in the same transaction, so sizes, listings, expiry
and eviction never scan the directory.  Where no index can be kept (a read-only
or lock-less filesystem) the store falls back to scanning, as it did before.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from ghcache.core.entry import Entry
from ghcache.core.index import EntryIndex, IndexUnavailable, Row
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

__all__ = [
    "ENTRY_PREFIX",
    "ENTRY_SUFFIX",
    "CacheDirError",
    "DiskStore",
    "Row",
    "ensure_cache_dir",
]

DEFAULT_MAX_BYTES = int(INT_SETTINGS["CACHE_MAX_BYTES"][0])


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
        self.index = EntryIndex(self._directory)

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
        """:meth:`read` without building an :class:`Entry`."""
        try:
            return self._reads.read(key, touch=touch)
        except CorruptEntry:
            self._drop_corrupt(key)
            return None

    def read_body(self, key: str) -> tuple[EntryFields, bytes] | None:
        """(header, body) of a verified entry, marked as used; the header may be shared with
        later reads, so it is only to be looked at (a hit that needs the data alone)."""
        try:
            return self._reads.read_body(key, touch=True)
        except CorruptEntry:
            self._drop_corrupt(key)
            return None

    def write(self, entry: Entry) -> None:
        """Store ``entry`` atomically; over budget, the least recently used entries go."""
        if not is_safe_key(entry.key):
            raise CacheDirError(f"refusing to store an entry under the key {entry.key!r}")
        ensure_cache_dir(self.directory)
        path = self.path_for(entry.key)
        data = entry.to_bytes()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
        evicted: list[str] = []
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                info = os.fstat(fd)  # the inode, size and first use the index records
            with self.index.writing() as index:
                os.replace(tmp, path)
                index.put(entry.key, info, entry)
                evicted = index.evict(self.max_bytes, prepare=self._reads.record_uses)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise CacheDirError(
                f"cannot write to cache directory {self.directory}: {exc.strerror}"
            ) from None
        if evicted:  # at a full cache nearly every write evicts: counted like hits are
            self.stats.add_soon(evictions=len(evicted))
        elif index.conn is None and self._over_budget(len(data)):
            self._scan_evict()

    def delete(self, key: str) -> bool:
        if not is_safe_key(key):
            return False
        removed = True
        with self.index.writing() as index:
            try:
                self.path_for(key).unlink()
            except OSError:
                removed = False
            index.remove(key)
        return removed

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

    def listing(self, *, detail: bool = True) -> tuple[list[Row], int]:
        """(a row for each valid entry file, newest first; how many files are not valid entries).

        From the index, brought up to date with the directory's names first; nothing
        is read but files that changed behind the index's back.  No access time moves.
        Without ``detail`` the rows' ``etag`` and ``body_cid`` are None.
        """
        try:
            rows = self.index.listing(detail=detail)
        except IndexUnavailable:
            rows = sorted((self._row(path) for path in self.paths()), key=_newest_first)
        valid = [row for row in rows if row.ok > 0]
        return valid, sum(1 for row in rows if row.ok == 0)

    def sync(self) -> None:
        """Bring the index up to date with files changed behind its back (see ``index``)."""
        with contextlib.suppress(IndexUnavailable):
            self.index.sync()

    def disk_usage(self) -> tuple[int, int]:
        """(number of entry files, total bytes), from the index's running totals."""
        try:
            return self.index.totals()
        except IndexUnavailable:
            return self._scan_usage()

    def clear(self) -> int:
        removed = 0
        with self.index.writing() as index:
            for path in self.paths():
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
                    index.remove(path.name[len(ENTRY_PREFIX) : -len(ENTRY_SUFFIX)])
        return removed

    def prune(self, *, now: float, max_stale: float) -> int:
        """Remove corrupt entries and those expired for longer than ``max_stale``."""
        try:
            temps = self.index.sync()
        except IndexUnavailable:
            return self._scan_prune(now=now, max_stale=max_stale)
        removed = corrupt = 0
        with self.index.writing() as index:
            if index.conn is not None:
                # A second of slack in the query; the rule itself is applied below.
                for key, ok, stored_at, ttl in index.expired(now - max_stale + 1):
                    if ok and not now - (stored_at or 0.0) > (ttl or 0.0) + max_stale:
                        continue
                    try:
                        self.path_for(key).unlink()
                    except FileNotFoundError:
                        pass
                    except OSError:
                        continue
                    index.remove(key)
                    removed += 1
                    corrupt += not ok
        if index.conn is None:
            return self._scan_prune(now=now, max_stale=max_stale)
        self.stats.add(corrupt_dropped=corrupt)
        _remove_orphans(temps, now)
        return removed

    def evict(self) -> int:
        """Remove least recently used entries until the store is within its budget."""
        evicted: list[str] = []
        with self.index.writing() as index:
            evicted = index.evict(self.max_bytes, prepare=self._reads.record_uses)
        if index.conn is None:
            return self._scan_evict()
        self.stats.add(evictions=len(evicted))
        return len(evicted)

    def _drop_corrupt(self, key: str) -> None:
        with self.index.writing() as index:
            with contextlib.suppress(OSError):
                self.path_for(key).unlink()
            index.remove(key)
        self.stats.add(corrupt_dropped=1)

    def _remove_orphan_temps(self, now: float) -> None:
        try:
            with os.scandir(self.directory) as found:
                temps = [
                    i.path for i in found if i.name.startswith(".") and i.name.endswith(".tmp")
                ]
        except OSError:
            return
        _remove_orphans(temps, now)

    # ---- without an index: scan the directory, as before the index ---------------------

    def _row(self, path: Path) -> Row:
        key = path.name[len(ENTRY_PREFIX) : -len(ENTRY_SUFFIX)]
        try:
            info = path.lstat()
            entry = Entry.from_bytes(read_untouched(path))
        except (OSError, CorruptEntry):
            return Row(key, 0, 0, "", "", "", 0, 0.0, 0.0, None, "", 0)
        row = (entry.method, entry.url, entry.scope, entry.status, entry.stored_at, entry.ttl)
        return Row(key, info.st_size, 1, *row, entry.etag, entry.body_cid, info.st_ino)

    def _scan_usage(self) -> tuple[int, int]:
        count = total = 0
        for path in self.paths():
            with contextlib.suppress(OSError):
                total += path.stat().st_size
                count += 1
        return count, total

    def _scan_prune(self, *, now: float, max_stale: float) -> int:
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

    def _scan_evict(self) -> int:
        self._reads.record_uses()
        files: list[tuple[float, int, Path]] = []
        total = 0
        for path in self.paths():
            with contextlib.suppress(OSError):
                info = path.stat()
                files.append((info.st_atime, info.st_size, path))
                total += info.st_size
        evicted = 0
        for _, size, path in sorted(files):
            if total <= self.max_bytes:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size
                evicted += 1
        self.stats.add(evictions=evicted)
        return evicted

    def _over_budget(self, written: int) -> bool:
        # Without an index a full scan per write would make puts O(entries): scan with a
        # chance proportional to the bytes written, about once per max_bytes/64 written.
        chance = written * 64 / self.max_bytes
        return chance >= 1 or int.from_bytes(os.urandom(4), "big") < chance * 2**32


def _remove_orphans(temps: list[str], now: float) -> None:
    # Temp files left by killed writers: anything older than a minute.
    for path in temps:
        with contextlib.suppress(OSError):
            if now - os.lstat(path).st_mtime > 60:
                os.unlink(path)


def _newest_first(row: Row) -> float:
    return -row.stored_at


def read_untouched(path: Path) -> bytes:
    """The file's bytes, leaving its access time (the LRU order) as it was."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOATIME", 0))
    except PermissionError:  # O_NOATIME needs us to own the file: put the time back instead
        before = os.stat(path)
        raw = path.read_bytes()
        with contextlib.suppress(OSError):
            os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        return raw
    with os.fdopen(fd, "rb") as handle:
        return handle.read()
