"""Entry reads in a long-lived process: a body hashed once is not hashed again.

The CLI's hit reads one entry per process and checks all of it
(:func:`ghcache.core.kernel.entries.read_entry_file`).  A library process reads
the same entries again and again; :class:`VerifiedReads` remembers, per key, the
file version it verified (inode, size, mtime and ctime) with the parsed header,
and while the file is still that version it reads only the body, with no parse
and no hash: open, ``pread``, ``fstat``, close.  Opening, the file checks and the
touch are the kernel's.

What counts as "could have changed": any write moves the mtime, any metadata
change (an mtime set back by hand included) moves the ctime, a replacement
(how ghcache writes) brings a new inode.  File times tick coarsely, so a version
is remembered only when its mtime is older than ``RACY_NS`` (a write within the
same tick could keep the timestamp, as git's "racy clean" entries), and the
``fstat`` comes after the read, so a write during it shows.

The descriptor of a remembered file stays open (at most ``open_files`` of them, the
oldest closed first), so a hit is a ``pread`` and an ``lstat`` of the path, which
must still name that same unchanged inode.  A file evicted by another process
keeps its disk space while one of these descriptors holds it, until the next
read of its key or until it is among the oldest.

A use is recorded in the file's access time (the LRU order) as the kernel does,
but later: within a second (:mod:`ghcache.core.deferred`), at exit, and before
this process evicts; a ``utime`` per hit, and the ctime it moves, cost more than
the rest of the read.
"""

from __future__ import annotations

import os
import resource
import threading
import time

from ghcache.core import deferred
from ghcache.core.kernel.entries import (
    CorruptEntry,
    EntryFields,
    check_entry_stat,
    entry_path,
    open_entry_fd,
    open_entry_path,
    parse_entry,
    read_exactly,
    touch_entry,
)

__all__ = ["RACY_NS", "VerifiedReads"]

# Coarse file times: a jiffy on ext4, a second on some filesystems.  Two seconds covers both.
RACY_NS = 2_000_000_000
# Bounds the memo (a parsed header is about a kilobyte); the oldest keys go first.
REMEMBERED = 8192
# Descriptors kept open on remembered files: a few, and never more than a small part of
# what the process may open.
OPEN_FILES = min(256, resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 8)

Version = tuple[int, int, int, int]


def _version(info: os.stat_result) -> Version:
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


class _Known:
    __slots__ = ("body_length", "body_start", "header", "path", "version")

    def __init__(
        self, path: str, version: Version, header: EntryFields, body_start: int, length: int
    ) -> None:
        self.path = path
        self.version = version
        self.header = header  # a checked entry without its body, shared: never handed out
        self.body_start = body_start
        self.body_length = length


class VerifiedReads:
    """:func:`read_entry_file` for one directory, remembering what it verified."""

    def __init__(
        self, directory: str, *, remembered: int = REMEMBERED, open_files: int = OPEN_FILES
    ) -> None:
        self.directory = directory
        self.remembered = remembered
        self.open_files = open_files
        self._known: dict[str, _Known] = {}
        self._touches: dict[str, int] = {}  # key -> when it was used (ns), not yet recorded
        self._touches_due = 0  # the pid that has record_uses due (a forked child has not)
        # key -> descriptor on its remembered version.  Used and closed under the lock: a
        # descriptor closed by one thread and reused by an open in another must never be
        # read as if it still were the entry.
        self._open: dict[str, tuple[int, int]] = {}  # key -> (descriptor, its inode)
        self._open_lock = threading.Lock()
        self._open_pid = os.getpid()

    def read(self, key: str, *, touch: bool) -> EntryFields | None:
        """As ``read_entry_file``: the checked entry, None, or CorruptEntry to drop it."""
        found = self._read_file(key, touch)
        if found is None:
            return None
        header, body, shared = found
        return header.with_body(body) if shared else header

    def read_body(self, key: str, *, touch: bool) -> tuple[EntryFields, bytes] | None:
        """(header, body) as :meth:`read` checks them, the header possibly shared with later
        reads: the caller only looks at it (``GitHubAPICache.get``: no copy per hit)."""
        found = self._read_file(key, touch)
        return None if found is None else found[:2]

    def _read_file(self, key: str, touch: bool) -> tuple[EntryFields, bytes, bool] | None:
        known = self._known.get(key)
        found = None if known is None else self._read_open(key, known)
        if found is None:
            fd = (
                open_entry_fd(self.directory, key) if known is None else open_entry_path(known.path)
            )
            if fd is None:
                return None
            kept = False
            try:
                found = self._read(fd, key, known)
                kept = self._keep_open(key, fd, os.fstat(fd).st_ino)
            except OSError:
                return None  # the file vanished under us: a miss
            finally:
                if not kept:
                    os.close(fd)
        if touch:
            self._touches[key] = time.time_ns()
            if self._touches_due != os.getpid():
                self._touches_due = os.getpid()
                deferred.due(self, self.record_uses)
        return found

    def _read_open(self, key: str, known: _Known) -> tuple[EntryFields, bytes, bool] | None:
        """The remembered version through its open descriptor, or None (then open anew)."""
        self._after_fork()
        with self._open_lock:
            found = self._open.get(key)
            if found is None:
                return None
            fd, inode = found
            try:
                body = os.pread(fd, known.body_length, known.body_start)
            except OSError:
                body = b""
        try:
            info = os.lstat(known.path)  # after the read: the name still holds that version
        except OSError:
            info = None
        if (
            info is not None
            and info.st_ino == inode
            and _version(info) == known.version
            and len(body) == known.body_length
        ):
            return known.header, body, True
        self._close(key)
        return None

    def _keep_open(self, key: str, fd: int, inode: int) -> bool:
        """Keep ``fd`` (on inode ``inode``) open for the next reads of ``key``, if remembered."""
        known = self._known.get(key)
        if known is None or known.version[0] != inode or self.open_files <= 0:
            return False
        self._after_fork()
        with self._open_lock:
            older = self._open.pop(key, None)
            if older is not None:
                os.close(older[0])
            self._open[key] = (fd, inode)
            while len(self._open) > self.open_files:
                os.close(self._open.pop(next(iter(self._open)))[0])
        return True

    def _close(self, key: str) -> None:
        with self._open_lock:
            found = self._open.pop(key, None)
            if found is not None:
                os.close(found[0])

    def _after_fork(self) -> None:
        # A forked child shares the descriptors (pread is positionless, so that is safe) but
        # not the lock's holder.
        if self._open_pid != os.getpid():
            self._open_lock, self._open_pid = threading.Lock(), os.getpid()

    def _read(self, fd: int, key: str, known: _Known | None) -> tuple[EntryFields, bytes, bool]:
        if known is not None:
            body = os.pread(fd, known.body_length, known.body_start)
            info = os.fstat(fd)  # after the read: a write during it shows here
            if _version(info) == known.version and len(body) == known.body_length:
                return known.header, body, True
            self.forget(key)
        else:
            info = os.fstat(fd)
        check_entry_stat(info)
        raw = read_exactly(fd, info.st_size, check_end=False)  # the fstat below checks
        fields = parse_entry(raw)
        if fields.key != key:
            raise CorruptEntry("entry stored under another key")
        after = os.fstat(fd)
        if after.st_size != info.st_size:
            raise CorruptEntry("file changed while read")
        if after.st_mtime_ns != info.st_mtime_ns or after.st_ctime_ns != info.st_ctime_ns:
            return fields, fields.body, False  # changed while read (what we read was checked)
        if info.st_mtime_ns < time.time_ns() - RACY_NS:
            self._remember(key, after, fields, raw)
        return fields, fields.body, False

    def _remember(self, key: str, info: os.stat_result, fields: EntryFields, raw: bytes) -> None:
        start = len(raw) - 1 - len(fields.body)
        if raw[-1:] != b"}" or memoryview(raw)[start:-1] != fields.body:
            return  # the body is not the file's tail (a text or base64 body field)
        if len(self._known) >= self.remembered:
            self.forget(next(iter(self._known)))
        path = entry_path(self.directory, key)
        header = fields.with_body(b"")
        self._known[key] = _Known(path, _version(info), header, start, len(fields.body))

    def forget(self, key: str) -> None:
        self._known.pop(key, None)
        self._close(key)

    def record_uses(self) -> None:
        """Set the access time of each file used since the last call to when it was used."""
        self._touches_due = 0  # before taking them: a use from now on is due again
        touches, self._touches = self._touches, {}
        for key, used_at in touches.items():
            try:
                fd = open_entry_fd(self.directory, key)
            except CorruptEntry:
                continue
            if fd is None:
                continue
            try:
                info = os.fstat(fd)
                if used_at > info.st_atime_ns:  # the CLI's hit may have recorded a later use
                    touch_entry(fd, info, at_ns=used_at)
                    known = self._known.get(key)
                    if known is not None and known.version == _version(info):
                        known.version = _version(os.fstat(fd))  # the ctime our touch moved
            except OSError:
                pass
            finally:
                os.close(fd)
