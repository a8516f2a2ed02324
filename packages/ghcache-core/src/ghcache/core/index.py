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
ghcache's back are picked up there.  A missing index is built by a ``sync``
that reads every file; one SQLite cannot open (damaged, another format) is
deleted and built again.  A hit never touches the index: the CLI's fast path
records a use in the file's access time alone, which eviction reads back (a
candidate whose access time moved since its row was written is put back in
order instead of evicted).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

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
SCHEMA_VERSION = 2
# A first build reads every file under the write lock's shadow; writers wait that long.
BUSY_TIMEOUT_MS = 30_000
# Eviction candidates fetched by the first query (most evictions remove one or two files);
# each further query fetches twice as many.
CANDIDATES = 4

_SCHEMA = (
    """CREATE TABLE entries (
        key TEXT PRIMARY KEY,
        ino INTEGER NOT NULL,
        size INTEGER NOT NULL,
        atime_ns INTEGER NOT NULL,  -- last use as last seen; the file's access time is the truth
        ok INTEGER NOT NULL,        -- 1 (2: some text kept as bytes, see _text); 0: not an
                                    -- entry (counted, then pruned)
        method TEXT, url TEXT, scope TEXT, status INTEGER, stored_at REAL, ttl REAL,
        etag TEXT, body_cid TEXT
    )""",
    "CREATE INDEX entries_by_use ON entries (atime_ns, key)",
    "CREATE INDEX entries_by_expiry ON entries (stored_at + ttl)",
    "CREATE INDEX entries_unreadable ON entries (key) WHERE ok = 0",
    "CREATE TABLE totals (id INTEGER PRIMARY KEY CHECK (id = 0), files INTEGER, bytes INTEGER)",
    "INSERT INTO totals VALUES (0, 0, 0)",
    """CREATE TRIGGER entry_added AFTER INSERT ON entries BEGIN
        UPDATE totals SET files = files + 1, bytes = bytes + new.size;
    END""",
    """CREATE TRIGGER entry_removed AFTER DELETE ON entries BEGIN
        UPDATE totals SET files = files - 1, bytes = bytes - old.size;
    END""",
    """CREATE TRIGGER entry_resized AFTER UPDATE OF size ON entries BEGIN
        UPDATE totals SET bytes = bytes - old.size + new.size;
    END""",
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value)",
)
_UPSERT = """
INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET ino = excluded.ino, size = excluded.size,
    atime_ns = excluded.atime_ns, ok = excluded.ok, method = excluded.method,
    url = excluded.url, scope = excluded.scope, status = excluded.status,
    stored_at = excluded.stored_at, ttl = excluded.ttl, etag = excluded.etag,
    body_cid = excluded.body_cid
"""
_ROW_COLUMNS = "key, size, ok, method, url, scope, status, stored_at, ttl, etag, body_cid"
# Without the two columns a listing does not show (a third less to fetch at 100,000 rows).
_LIST_COLUMNS = "key, size, ok, method, url, scope, status, stored_at, ttl, NULL, NULL"


class IndexUnavailable(Exception):
    """The index cannot be used here (no directory, read-only, no locking): scan instead."""


class Row(NamedTuple):
    """One indexed entry file (``ok`` False: not a valid entry, the other fields None)."""

    key: str
    size: int
    ok: int  # 1, or 0 for a file that is not a valid entry (the other fields are then None)
    method: str
    url: str
    scope: str
    status: int
    stored_at: float
    ttl: float
    etag: str | None
    body_cid: str


class Writer:
    """The index inside one write transaction (see :meth:`EntryIndex.writing`)."""

    def __init__(self, conn: sqlite3.Connection | None, directory: str) -> None:
        self.conn = conn  # None: no index; every change is then a no-op
        self.directory = directory

    def put(self, key: str, info: os.stat_result, fields: Any | None) -> None:
        """Record the file ``info`` describes; ``fields`` (an Entry or EntryFields) None: invalid."""
        if self.conn is None:
            return
        row: tuple[Any, ...] = (key, info.st_ino, info.st_size, info.st_atime_ns)
        if fields is None:
            row += (0, None, None, None, None, None, None, None, None)
        else:
            etag = next((v for k, v in fields.headers if k.lower() == "etag"), None)
            texts = (_text(fields.method), _text(fields.url), _text(fields.scope), _text(etag))
            raw = any(isinstance(text, bytes) for text in texts)
            row += (2 if raw else 1, *texts[:3], fields.status, fields.stored_at, fields.ttl)
            row += (texts[3], fields.body_cid)
        self.conn.execute(_UPSERT, row)

    def remove(self, key: str) -> None:
        if self.conn is not None:
            self.conn.execute("DELETE FROM entries WHERE key = ?", (key,))

    def clear(self) -> None:
        if self.conn is not None:
            self.conn.execute("DELETE FROM entries")

    def total_bytes(self) -> int:
        assert self.conn is not None
        return int(self.conn.execute("SELECT bytes FROM totals").fetchone()[0])

    def evict(self, max_bytes: int, prepare: Callable[[], None] | None = None) -> list[str]:
        """Remove least recently used entry files until the store is within ``max_bytes``.

        Rows are ordered by the access time they recorded, which is never later than the
        file's own (reads only move it forward).  A candidate whose file says it was used
        since goes back in order under its true time; one whose recorded time is its true
        time is older than every other file, so it goes.
        """
        if self.conn is None:
            return []
        total = self.total_bytes()
        if total > max_bytes and prepare is not None:
            prepare()  # e.g. this process's uses not yet in the files' access times
        evicted: list[str] = []
        after: tuple[int, str] = (-(2**63), "")
        checked: list[tuple[int, str, int]] = []  # (true atime, key, size), sorted
        moved: set[str] = set()  # rows put back in order: a later batch may meet them again
        limit = CANDIDATES
        while total > max_bytes:
            batch = self.conn.execute(
                "SELECT atime_ns, key, size, ino FROM entries WHERE (atime_ns, key) > (?, ?)"
                " ORDER BY atime_ns, key LIMIT ?",
                (*after, limit),
            ).fetchall()
            limit *= 2
            if not batch and not checked:
                break
            for atime, key, size, ino in batch:
                after = (atime, key)
                if key in moved:
                    continue
                while checked and checked[0][:2] < (atime, key) and total > max_bytes:
                    _, older, older_size = checked.pop(0)
                    total -= self._drop(older, older_size, evicted)
                if total <= max_bytes:
                    break
                path = os.path.join(self.directory, ENTRY_PREFIX + key + ENTRY_SUFFIX)
                try:
                    info = os.lstat(path)
                except FileNotFoundError:
                    self.remove(key)  # removed behind our back
                    total -= size
                    continue
                except OSError:
                    continue
                if info.st_ino == ino and info.st_atime_ns <= atime:
                    total -= self._drop(key, size, evicted)
                    continue
                self.conn.execute(
                    "UPDATE entries SET atime_ns = ?, ino = ?, size = ? WHERE key = ?",
                    (info.st_atime_ns, info.st_ino, info.st_size, key),
                )
                total += info.st_size - size
                checked.append((info.st_atime_ns, key, info.st_size))
                checked.sort()
                moved.add(key)
            if not batch:  # every remaining row was moved on: take them in their true order
                while checked and total > max_bytes:
                    _, key, size = checked.pop(0)
                    total -= self._drop(key, size, evicted)
        return evicted

    def _drop(self, key: str, size: int, evicted: list[str]) -> int:
        try:
            os.unlink(os.path.join(self.directory, ENTRY_PREFIX + key + ENTRY_SUFFIX))
        except FileNotFoundError:
            pass
        except OSError:
            return 0  # not ours to remove: it stays counted
        else:
            evicted.append(key)
        self.remove(key)
        return size

    def expired(self, before: float) -> list[tuple[str, bool, float | None, float | None]]:
        """(key, ok, stored_at, ttl) of invalid files and of entries expired before ``before``."""
        assert self.conn is not None
        rows = self.conn.execute("SELECT key, 0, NULL, NULL FROM entries WHERE ok = 0").fetchall()
        rows += self.conn.execute(
            "SELECT key, 1, stored_at, ttl FROM entries WHERE stored_at + ttl < ?", (before,)
        ).fetchall()
        return [(key, bool(ok), stored_at, ttl) for key, ok, stored_at, ttl in rows]


class EntryIndex:
    """The index of one cache directory, shared by the threads of a process."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.path = os.path.join(directory, INDEX_FILE)
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
        return _rows(self._read(f"SELECT {_ROW_COLUMNS} FROM entries"))

    def close(self) -> None:
        """Close this process's connection (the next use opens it again)."""
        with self._guard():
            if self._conn is not None and self._owner[0] == os.getpid():
                self._conn.close()
            self._conn = None

    # ------------------------------------------------------------------ reconciling

    def sync(self) -> list[str]:
        """Bring the rows up to date with the directory: one listing, reads only what differs.

        Files are read outside the write lock; under it, each is recorded only if the
        name still holds the inode that was read (a writer may have replaced it since).
        Returns the paths of temp files met on the way (``.*.tmp``), for ``prune``.
        """
        listed, temps = self._list()
        self._catch_up(listed, dict(self._read("SELECT key, ino FROM entries")))
        return temps

    def listing(self, *, detail: bool = True) -> list[Row]:
        """:meth:`rows` after :meth:`sync`, newest first, with one query when nothing changed.

        Without ``detail`` the rows hold no ETag and body CID (None)."""
        listed, _ = self._list()
        sql = f"SELECT {_ROW_COLUMNS if detail else _LIST_COLUMNS}, ino FROM entries"
        found = self._read(sql)
        if self._catch_up(listed, {row[0]: row[-1] for row in found}):
            found = self._read(sql)
        found.sort(key=_stored_at, reverse=True)  # several times faster than ORDER BY here
        return _rows(row[:-1] for row in found)

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

    def _catch_up(self, listed: dict[str, int], indexed: dict[str, int]) -> bool:
        """Record what differs between the listing and the rows; whether anything did."""
        if listed == indexed:
            return False  # nothing changed behind the index's back (the usual case)
        changed = [key for key, ino in listed.items() if indexed.get(key) != ino]
        gone = [key for key in indexed if key not in listed]
        described = [self._describe(key) for key in changed]
        with self.writing() as writer:
            for key, info, fields in described:
                if info is not None and _inode(self._file(key)) == info.st_ino:
                    writer.put(key, info, fields)
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

    def _file(self, key: str) -> str:
        return os.path.join(self.directory, ENTRY_PREFIX + key + ENTRY_SUFFIX)

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
            self.sync()  # a new index: every file is read once
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
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version != SCHEMA_VERSION:  # new, or another layout: start over
                    for (name,) in conn.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table'"
                    ).fetchall():
                        conn.execute(f'DROP TABLE IF EXISTS "{name}"')  # its indexes go too
                    for statement in _SCHEMA:
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


def _text(value: str | None) -> str | bytes | None:
    # A URL from non-UTF-8 argv holds lone surrogates, which SQLite text cannot: kept as bytes.
    if value is None or value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")
    return value


def _stored_at(row: tuple[Any, ...]) -> float:
    return row[7] if row[7] is not None else float("-inf")  # invalid files last


def _rows(found: Iterable[tuple[Any, ...]]) -> list[Row]:
    return [Row._make(row) if row[2] != 2 else _decoded(row) for row in found]


def _decoded(row: tuple[Any, ...]) -> Row:
    return Row._make(
        value.decode("utf-8", "surrogatepass") if isinstance(value, bytes) else value
        for value in (*row[:2], 1, *row[3:])
    )


def _inode(path: str) -> int | None:
    try:
        return os.lstat(path).st_ino
    except OSError:
        return None
