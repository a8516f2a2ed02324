"""Counters that survive the process and add up across processes.

The file format, lock and in-place update are :mod:`ghcache.core.kernel.counters`
(the CLI's hit path counts its hit with the same function).

``Stats.add_soon`` is for callers that count at a high rate (``GitHubAPICache.get``):
the locked read-modify-write of ``stats.json`` costs more than a whole hit, so the
increments wait in the process (:mod:`ghcache.core.deferred`) and are added under the
lock within a second, at exit, and before this process reads the counters.  Nothing is
lost or counted twice across processes; a process killed by a signal loses at most its
last second.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from pathlib import Path
from typing import Any

from ghcache.core import deferred
from ghcache.core.deferred import FLUSH_EVERY
from ghcache.core.kernel.counters import (
    COUNTERS,
    LOCK_FILE,
    STATS_FILE,
    lock_file,
    parse_counters,
    update_counters,
)

__all__ = ["COUNTERS", "FLUSH_EVERY", "LOCK_FILE", "STATS_FILE", "Stats", "flush", "summarize"]


class Stats:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / STATS_FILE
        # Plain strings: every cache hit counts, and pathlib joins cost more than the syscalls.
        self._directory = os.fspath(self.directory)
        self._path = os.fspath(self.path)

    def read(self) -> dict[str, int]:
        """Current counters (missing or unreadable file: all zero), this process's included."""
        _pending.flush(self._directory)
        try:
            lock = lock_file(self._directory, fcntl.LOCK_SH)  # in-place updates are not atomic
        except OSError:
            return parse_counters(self._read_raw())  # read-only or missing dir: nobody writes
        try:
            return parse_counters(self._read_raw())
        finally:
            os.close(lock)

    def add(self, **increments: int) -> None:
        """Add to counters; a read-only directory is silently skipped."""
        increments = {k: v for k, v in increments.items() if v}
        if increments:
            self._update(increments)

    def add_soon(self, **increments: int) -> None:
        """Add to counters within ``FLUSH_EVERY`` seconds (or at exit): see the module."""
        _pending.add(self, increments)

    def reset(self) -> None:
        _pending.flush(self._directory)
        self._update(None)

    def _update(self, increments: dict[str, int] | None, *, create: bool = True) -> None:
        try:
            update_counters(self._directory, increments)
        except FileNotFoundError:
            if not create:
                return  # the directory was removed meanwhile (cache clear, a test's cleanup)
            # A fresh cache dir: the first miss is counted before the first write creates it.
            with contextlib.suppress(OSError):
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                update_counters(self._directory, increments)
        except OSError:
            pass  # statistics must never break a request

    def _read_raw(self) -> bytes:
        try:
            with open(self._path, "rb") as handle:
                return handle.read()
        except OSError:
            return b""


class _Pending:
    """This process's increments not yet in stats.json, by directory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[Stats, dict[str, int]]] = {}
        os.register_at_fork(after_in_child=self._forget)

    def add(self, stats: Stats, increments: dict[str, int]) -> None:
        directory = stats._directory
        with self._lock:
            found = self._counts.get(directory)
            if found is None:
                found = self._counts[directory] = (stats, {})
                deferred.due(("stats", directory), lambda: self.flush(directory))
            counts = found[1]
            for name, value in increments.items():
                counts[name] = counts.get(name, 0) + value

    def flush(self, directory: str | None = None) -> None:
        """Add what is pending (for one directory, or all) to stats.json."""
        with self._lock:
            if directory is None:
                taken, self._counts = self._counts, {}
            else:
                found = self._counts.pop(directory, None)
                taken = {} if found is None else {directory: found}
        for stats, counts in taken.values():
            # Under the lock file: exact with every other process.  Counts held back are
            # never a reason to make a directory again that was removed after they were made.
            nonzero = {name: value for name, value in counts.items() if value}
            if nonzero:
                stats._update(nonzero, create=False)

    def _forget(self) -> None:
        # A forked child inherits the parent's pending increments: they are the parent's
        # to add.  The lock may have been held by a thread that does not exist here.
        self._lock = threading.Lock()
        self._counts = {}


_pending = _Pending()


def flush() -> None:
    """Add every increment this process still holds back (``add_soon``) to stats.json."""
    _pending.flush()


def summarize(counters: dict[str, int]) -> dict[str, Any]:
    """Counters plus derived figures.

    A lookup ends as exactly one of: ``hits`` (fresh local), ``peer_hits``,
    ``stale_served`` or ``misses`` (went upstream; ``revalidated`` counts the
    misses answered by a free 304).  Every outcome but a full upstream fetch
    saves one rate-limit unit.
    """
    answered = sum(counters.get(name, 0) for name in ("hits", "peer_hits", "stale_served"))
    total = answered + counters.get("misses", 0)
    summary: dict[str, Any] = dict(counters)
    summary["lookups"] = total
    summary["hit_rate"] = round(answered / total, 4) if total else 0.0
    summary["rate_limit_units_saved"] = answered + counters.get("revalidated", 0)
    return summary
