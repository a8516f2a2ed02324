"""The entry index's table and what one write transaction does to it.

The schema (one row per entry file, running totals kept by triggers), the
:class:`Row` a listing returns, and :class:`Writer`: recording and removing rows,
and evicting from the least recently used end.  :mod:`ghcache.core.index` opens
the database, runs the transactions and keeps the rows level with the directory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from ghcache.core.kernel.entries import ENTRY_PREFIX, ENTRY_SUFFIX

if TYPE_CHECKING:
    import sqlite3

__all__ = [
    "LIST_COLUMNS",
    "ROW_COLUMNS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "Row",
    "Writer",
    "row_for",
    "rows_of",
]

# Eviction candidates fetched by the first query (most evictions remove one or two files);
# each further query fetches twice as many.
CANDIDATES = 4

SCHEMA_VERSION = 3

SCHEMA = (
    """CREATE TABLE entries (
        key TEXT PRIMARY KEY,
        ino INTEGER NOT NULL,
        size INTEGER NOT NULL,
        atime_ns INTEGER NOT NULL,  -- last use as last seen; the file's access time is the truth
        ok INTEGER NOT NULL,        -- 1 (2: some text kept as bytes, see _text); 0: not an
                                    -- entry (counted, then pruned); -1: not read yet
        method TEXT, url TEXT, scope TEXT, status INTEGER, stored_at REAL, ttl REAL,
        etag TEXT, body_cid TEXT
    )""",
    "CREATE INDEX entries_by_use ON entries (atime_ns, key)",
    "CREATE INDEX entries_by_expiry ON entries (stored_at + ttl)",
    "CREATE INDEX entries_unreadable ON entries (key) WHERE ok = 0",
    "CREATE INDEX entries_unread ON entries (key) WHERE ok = -1",
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
ROW_COLUMNS = "key, size, ok, method, url, scope, status, stored_at, ttl, etag, body_cid, ino"
# Without the two columns a listing does not show (a third less to fetch at 100,000 rows).
LIST_COLUMNS = "key, size, ok, method, url, scope, status, stored_at, ttl, NULL, NULL, ino"


class Row(NamedTuple):
    """One indexed entry file (``ok`` 0: not a valid entry, the fields from ``method`` on
    None), and the inode number it describes."""

    key: str
    size: int
    ok: int  # 1; 0: a file that is not a valid entry, -1: not read yet (the rest then None)
    method: str
    url: str
    scope: str
    status: int
    stored_at: float
    ttl: float
    etag: str | None
    body_cid: str
    ino: int


class Writer:
    """The index inside one write transaction (see :meth:`EntryIndex.writing`)."""

    def __init__(self, conn: sqlite3.Connection | None, directory: str) -> None:
        self.conn = conn  # None: no index; every change is then a no-op
        self.directory = directory

    def put(
        self, key: str, info: os.stat_result, fields: Any | None, *, unread: bool = False
    ) -> None:
        """Record the file ``info`` describes: ``fields`` (an Entry or EntryFields), None for a
        file that is not an entry, or ``unread`` (only its size and use are known yet)."""
        if self.conn is not None:
            self.conn.execute(_UPSERT, row_for(key, info, fields, unread=unread))

    def put_rows(self, rows: list[tuple[Any, ...]]) -> None:
        """Record many files at once (``row_for`` each): a rebuild's hundred thousand rows."""
        if self.conn is not None:
            self.conn.executemany(_UPSERT, rows)

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


def row_for(
    key: str, info: os.stat_result, fields: Any | None, *, unread: bool = False
) -> tuple[Any, ...]:
    """The row of the entry file ``info`` describes (see :meth:`Writer.put`)."""
    row: tuple[Any, ...] = (key, info.st_ino, info.st_size, info.st_atime_ns)
    if fields is None:
        return (*row, -1 if unread else 0, None, None, None, None, None, None, None, None)
    etag = next((v for k, v in fields.headers if k.lower() == "etag"), None)
    texts = (_text(fields.method), _text(fields.url), _text(fields.scope), _text(etag))
    raw = any(isinstance(text, bytes) for text in texts)
    row += (2 if raw else 1, *texts[:3], fields.status, fields.stored_at, fields.ttl)
    return (*row, texts[3], fields.body_cid)


def _text(value: str | None) -> str | bytes | None:
    # A URL from non-UTF-8 argv holds lone surrogates, which SQLite text cannot: kept as bytes.
    if value is None or value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")
    return value


def stored_at_of(row: tuple[Any, ...]) -> float:
    return row[7] if row[7] is not None else float("-inf")  # invalid files last


def rows_of(found: Iterable[tuple[Any, ...]]) -> list[Row]:
    """Rows from SELECTs of ``ROW_COLUMNS`` or ``LIST_COLUMNS`` (100,000 at a time: no
    ``_make`` call and length check per row)."""
    new = tuple.__new__
    return [new(Row, row) if row[2] != 2 else _decoded(row) for row in found]


def _decoded(row: tuple[Any, ...]) -> Row:
    return Row._make(
        value.decode("utf-8", "surrogatepass") if isinstance(value, bytes) else value
        for value in (*row[:2], 1, *row[3:])
    )
