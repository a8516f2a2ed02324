"""Entry reads in a long-lived process: a body hashed once is not hashed again.

The CLI's hit reads one entry per process and checks all of it
(:func:`ghcache.core.kernel.entries.read_entry_file`).  A library process reads
the same entries again and again; :class:`VerifiedReads` remembers, per key, the
file version it verified (inode, size, mtime and ctime) with the parsed header,
and while the file is still that version it reads only the body, with no parse
and no hash.  Opening, the file checks and the touch are the kernel's.

What counts as "could have changed": any write moves the mtime, any metadata
change (an mtime set back by hand included) moves the ctime, a replacement
(how ghcache writes) brings a new inode.  File times tick coarsely, so a version
is remembered only when its mtime is older than ``RACY_NS`` (a write within the
same tick could keep the timestamp, as git's "racy clean" entries), and an
``fstat`` after the read catches a write in place during it.
"""

from __future__ import annotations

import os
import time

from ghcache.core.kernel.entries import (
    BodyMismatch,
    CorruptEntry,
    EntryFields,
    open_entry_file,
    parse_entry,
    read_exactly,
    touch_entry,
)
from ghcache.core.kernel.keys import cid_for_bytes

__all__ = ["RACY_NS", "VerifiedReads"]

# Coarse file times: a jiffy on ext4, a second on some filesystems.  Two seconds covers both.
RACY_NS = 2_000_000_000
# Bounds the memo (a parsed header is about a kilobyte); the oldest keys go first.
REMEMBERED = 8192

Version = tuple[int, int, int, int]


class _Known:
    __slots__ = ("body_length", "body_start", "header", "version")

    def __init__(self, version: Version, header: EntryFields, body_start: int, length: int):
        self.version = version
        self.header = header  # a checked entry without its body
        self.body_start = body_start
        self.body_length = length


class VerifiedReads:
    """:func:`read_entry_file` for one directory, remembering what it verified."""

    def __init__(self, directory: str, *, remembered: int = REMEMBERED) -> None:
        self.directory = directory
        self.remembered = remembered
        self._known: dict[str, _Known] = {}

    def forget(self, key: str) -> None:
        self._known.pop(key, None)

    def read(self, key: str, *, touch: bool) -> EntryFields | None:
        """As ``read_entry_file``: the checked entry, None, or CorruptEntry to drop it."""
        opened = open_entry_file(self.directory, key)
        if opened is None:
            return None
        fd, info = opened
        try:
            version = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
            known = self._known.get(key)
            raw = b""
            if known is not None and known.version == version:
                fields = known.header.with_body(
                    _pread_exactly(fd, known.body_length, known.body_start)
                )
            else:
                known = None
                raw = read_exactly(fd, info.st_size, check_end=False)  # the fstat below checks
                fields = parse_entry(raw)
                if fields.key != key:
                    raise CorruptEntry("entry stored under another key")
            if touch:
                touch_entry(fd, info)
            after = os.fstat(fd)
        except OSError:
            return None  # the file vanished under us: a miss
        finally:
            os.close(fd)
        self._known.pop(key, None)  # re-inserted last: the memo drops its oldest keys first
        if after.st_size != info.st_size:
            raise CorruptEntry("file changed while read")
        if after.st_mtime_ns != info.st_mtime_ns:
            # Written in place while we read: check what we got, remember nothing.
            if known is not None and cid_for_bytes(fields.body) != fields.body_cid:
                raise BodyMismatch("body does not match its CID")
            return fields
        if info.st_mtime_ns < time.time_ns() - RACY_NS:
            self._remember(key, after, fields, raw, known)
        return fields

    def _remember(
        self, key: str, after: os.stat_result, fields: EntryFields, raw: bytes, known: _Known | None
    ) -> None:
        # ``after`` holds the ctime our own touch just set.
        version = (after.st_ino, after.st_size, after.st_mtime_ns, after.st_ctime_ns)
        if known is None:
            start = len(raw) - 1 - len(fields.body)
            if raw[-1:] != b"}" or memoryview(raw)[start:-1] != fields.body:
                return  # the body is not the file's tail (a text or base64 body field)
            known = _Known(version, fields.with_body(b""), start, len(fields.body))
        else:
            known.version = version
        if len(self._known) >= self.remembered:
            del self._known[next(iter(self._known))]
        self._known[key] = known


def _pread_exactly(fd: int, length: int, offset: int) -> bytes:
    data = os.pread(fd, length, offset)
    if len(data) != length:  # a short pread of a regular file: it shrank
        raise CorruptEntry("file changed while read")
    return data
