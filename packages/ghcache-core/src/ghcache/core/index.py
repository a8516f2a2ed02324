"""The entry index: what the store holds, kept beside the files so no call scans them.

``CACHE_DIR/.index.sqlite3`` (SQLite in WAL mode) has one row per entry file: its
inode, size and last use (access time), the header fields ``ghcache cache ls``
shows, and running totals kept by triggers.  ``ghcache stats`` reads the totals,
a ``put`` that takes the store over budget evicts from the least recently used
end, ``prune`` asks for what has expired: none of them lists or stats the
directory.

The ``gh_api_*.json`` files stay the truth; the index only describes them.
Every writer of entry files (:class:`ghcache.core.store.DiskStore`, for the
CLI, the library and the daemon alike) changes a file and its row in one write
transaction, so writers never lose each other's rows; a process killed in
between leaves the transaction rolled back, which :meth:`EntryIndex.sync`
repairs.  ``sync`` compares the directory's names and inode numbers (one
listing, no ``stat`` per file) with the rows and reads only the files that
differ; ``ls`` and ``prune`` run it, so files added, replaced or removed behind
ghcache's back are picked up there.  A missing index is built from one ``stat``
per file (sizes and uses, what totals and eviction need), and ``ls`` and
``prune`` read the files not read yet; one SQLite cannot open (damaged, another
format) is deleted and built again.  A hit never touches the index: the CLI's fast path
records a use in the file's access time alone, which eviction reads back (a
candidate whose access time moved since its row was written is put back in
order instead of evicted).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ghcache.core.index_rows import (
    LIST_COLUMNS,
    ROW_COLUMNS,
    SCHEMA,
    SCHEMA_VERSION,
    Row,
    Writer,
    row_for,
    rows_of,
    stored_at_of,
)
from ghcache.core.kernel.entries import (
    ENTRY_PREFIX,
    ENTRY_SUFFIX,
    CorruptEntry,
    EntryFields,
    open_entry_file,
    parse_entry,
    read_exactly,
)

if TYPE_CHECKING:
    import sqlite3

__all__ = ["INDEX_FILE", "EntryIndex", "IndexUnavailable", "Row", "Writer"]

INDEX_FILE = ".index.sqlite3"
# How long a writer waits for another's transaction (a rebuild of 100,000 rows takes
# seconds) before it changes its file without the index (a later sync records it).
BUSY_TIMEOUT_MS = 30_000


class IndexUnavailable(Exception):
    """The index cannot be used here (no directory, read-only, no locking): scan instead."""


class EntryIndex:
    """The index of one cache directory, shared by the threads of a process."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.path = os.path.join(directory, INDEX_FILE)
        self._prefix = os.path.join(directory, ENTRY_PREFIX)
        self._lock = threading.RLock()
        self._lock_pid = os.getpid()
        self._conn: sqlite3.Connection | None = None
        # (pid, inode of the index file) the connection belongs to
        self._owner: tuple[int, int | None] = (0, None)

    def _guard(self) -> threading.RLock:
        if self._lock_pid != os.getpid():  # forked: the lock may be held by a thread not here
            self._lock, self._lock_pid = threading.RLock(), os.getpid()
        return self._lock

    # ------------------------------------------------------------------ transactions

    @contextlib.contextmanager
    def writing(self) -> Iterator[Writer]:
        """One write transaction: other processes' writers wait for it.

        Yields a :class:`Writer` without a connection when the index cannot be used, so
        the caller's file change still happens.  An SQLite error inside rolls back and is
        swallowed (the file change stands; :meth:`sync` brings the index up to date).
        """
        import sqlite3

        with self._guard():
            try:
                conn = self._connection()
                conn.execute("BEGIN IMMEDIATE")
            except (IndexUnavailable, sqlite3.Error):
                yield Writer(None, self.directory)
                return
            try:
                yield Writer(conn, self.directory)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                self._failed(exc)
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        import sqlite3

        with self._guard():
            try:
                return self._connection().execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                self._failed(exc)
                raise IndexUnavailable(str(exc)) from None

    def totals(self) -> tuple[int, int]:
        """(entry files, their bytes); IndexUnavailable when there is no usable index."""
        files, size = self._read("SELECT files, bytes FROM totals")[0]
        return int(files), int(size)

    def rows(self) -> list[Row]:
        return rows_of(self._read(f"SELECT {ROW_COLUMNS} FROM entries"))

    def close(self) -> None:
        """Close this process's connection (the next use opens it again)."""
        with self._guard():
            if self._conn is not None and self._owner[0] == os.getpid():
                self._conn.close()
            self._conn = None

    # ------------------------------------------------------------------ reconciling

    def sync(self, *, read: bool = True) -> list[str]:
        """Bring the rows up to date with the directory: one listing, reads only what differs.

        Files are read outside the write lock; under it, each is recorded only if the
        name still holds the inode that was read (a writer may have replaced it since).
        Without ``read`` a new or changed file is only stat'ed (its row says "not read
        yet": enough for sizes and eviction); a sync that reads reads those too.
        Returns the paths of temp files met on the way (``.*.tmp``), for ``prune``.
        """
        listed, temps = self._list()
        self._catch_up(listed, dict(self._read("SELECT key, ino FROM entries")), read=read)
        return temps

    def listing(self, *, detail: bool = True) -> list[Row]:
        """:meth:`rows` after :meth:`sync`, newest first, with one query when nothing changed.

        Without ``detail`` the rows hold no ETag and body CID (None)."""
        listed, _ = self._list()
        sql = f"SELECT {ROW_COLUMNS if detail else LIST_COLUMNS} FROM entries"
        found = self._read(sql)
        if self._catch_up(listed, {row[0]: row[-1] for row in found}, read=True):
            found = self._read(sql)
        found.sort(key=stored_at_of, reverse=True)  # several times faster than ORDER BY here
        return rows_of(found)

    def _list(self) -> tuple[dict[str, int], list[str]]:
        """(key -> inode of each entry file, paths of temp files): the directory's names
        and inode numbers as one listing gives them, with no ``stat`` per file."""
        start, end = len(ENTRY_PREFIX), -len(ENTRY_SUFFIX)
        listed: dict[str, int] = {}
        temps: list[str] = []
        try:
            with os.scandir(self.directory) as found:
                for item in found:
                    name = item.name
                    if name.startswith(ENTRY_PREFIX) and name.endswith(ENTRY_SUFFIX):
                        listed[name[start:end]] = item.inode()
                    elif name.startswith(".") and name.endswith(".tmp"):
                        temps.append(item.path)
        except OSError as exc:
            raise IndexUnavailable(str(exc)) from None
        return listed, temps

    def _catch_up(self, listed: dict[str, int], indexed: dict[str, int], *, read: bool) -> bool:
        """Record what differs between the listing and the rows; whether anything did."""
        unread = (
            [key for (key,) in self._read("SELECT key FROM entries WHERE ok = -1")] if read else []
        )
        if listed == indexed and not unread:
            return False  # nothing changed behind the index's back (the usual case)
        changed = [key for key, ino in listed.items() if indexed.get(key) != ino] + unread
        gone = [key for key in indexed if key not in listed]
        described = [self._describe(key) if read else self._stat(key) for key in changed]
        with self.writing() as writer:
            writer.put_rows(
                [
                    row_for(key, info, fields, unread=not read)
                    for key, info, fields in described
                    # a writer may have replaced the file since: its own row stands
                    if info is not None and _inode(self._file(key)) == info.st_ino
                ]
            )
            for key in gone:
                if _inode(self._file(key)) is None:
                    writer.remove(key)
            if writer.conn is not None:
                # The totals again from the rows (~10 ms at 100,000): after a power loss
                # tore the totals row, the next sync that finds anything to do repairs it.
                writer.conn.execute(
                    "UPDATE totals SET files = (SELECT count(*) FROM entries),"
                    " bytes = (SELECT coalesce(sum(size), 0) FROM entries)"
                )
                writer.conn.execute("INSERT OR REPLACE INTO meta VALUES ('synced', 1)")
        return True

    def _describe(self, key: str) -> tuple[str, os.stat_result | None, EntryFields | None]:
        try:
            opened = open_entry_file(self.directory, key)
        except CorruptEntry:
            opened = None
        if opened is None:  # not a regular file (or gone): counted as an invalid file
            try:
                return key, os.lstat(self._file(key)), None
            except OSError:
                return key, None, None
        fd, info = opened
        try:
            fields = parse_entry(read_exactly(fd, info.st_size))
            return key, info, fields if fields.key == key else None
        except CorruptEntry:
            return key, info, None
        except OSError:
            return key, None, None
        finally:
            os.close(fd)

    def _stat(self, key: str) -> tuple[str, os.stat_result | None, EntryFields | None]:
        try:
            return key, os.lstat(self._file(key)), None
        except OSError:
            return key, None, None

    def _file(self, key: str) -> str:
        return self._prefix + key + ENTRY_SUFFIX

    # ------------------------------------------------------------------ the connection

    def _connection(self) -> sqlite3.Connection:
        """The open index, checked to still be the file at ``path``; built when missing."""
        import sqlite3

        inode = _inode(self.path)
        if self._conn is not None and self._owner == (os.getpid(), inode):
            return self._conn
        if self._conn is not None and self._owner[0] == os.getpid():
            self._conn.close()  # the file was replaced or removed: follow the new one
        # A connection inherited over fork is left alone (closing it could touch the
        # parent's locks); this process opens its own.
        self._conn = None
        if not os.path.isdir(self.directory):
            raise IndexUnavailable("no cache directory")
        try:
            conn = self._open()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):
                raise IndexUnavailable(str(exc)) from None
            self._remove_files()  # not a database, or damaged: build it again
            try:
                conn = self._open()
            except sqlite3.Error as again:
                raise IndexUnavailable(str(again)) from None
        self._conn, self._owner = conn, (os.getpid(), _inode(self.path))
        if not conn.execute("SELECT count(*) FROM meta WHERE name = 'synced'").fetchone()[0]:
            # A new index (first use, or rebuilt): sizes and uses from one stat per file,
            # so the call that builds it (a put, stats) does not read 100,000 files; ls and
            # prune read what is still unread.
            self.sync(read=False)
            # Recorded even when the sync found nothing to do (a new, empty cache dir):
            # else every later process would list the directory again on its first put.
            with self.writing() as writer:
                if writer.conn is not None:
                    writer.conn.execute("INSERT OR REPLACE INTO meta VALUES ('synced', 1)")
        return conn

    def _open(self) -> sqlite3.Connection:
        import sqlite3

        try:  # created 0600 first: SQLite gives its -wal and -shm files the same mode
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
        except OSError as exc:
            raise IndexUnavailable(f"cannot create {self.path}: {exc.strerror}") from None
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            # No fsync, not even at checkpoints (a put paid ~1 ms then): a killed process
            # cannot tear SQLite's writes, and the entry files are not synced either.  After
            # a power loss ``sync`` repairs rows and totals, or a damaged file is rebuilt.
            conn.execute("PRAGMA synchronous = OFF")
            # 16 MiB of pages (SQLite's default is 2): a rebuild of 100,000 rows in random
            # key order took half as long again with the default.
            conn.execute("PRAGMA cache_size = -16384")
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version != SCHEMA_VERSION:  # new, or another layout: start over
                    for (name,) in conn.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table'"
                    ).fetchall():
                        conn.execute(f'DROP TABLE IF EXISTS "{name}"')  # its indexes go too
                    for statement in SCHEMA:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
        except BaseException:
            conn.close()
            raise
        return conn

    def _remove_files(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(self.path + suffix)

    def _failed(self, exc: Exception) -> None:
        import sqlite3

        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            # Damaged under us: drop it; the next use builds it again from the files.
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
            self._conn = None
            self._remove_files()


def _inode(path: str) -> int | None:
    try:
        return os.lstat(path).st_ino
    except OSError:
        return None
