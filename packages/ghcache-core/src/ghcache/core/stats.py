"""Counters that survive the process and add up across processes.

The file format, lock and in-place update are :mod:`ghcache.core.kernel.counters`
(the CLI's hit path counts its hit with the same function).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Any

from ghcache.core.kernel.counters import (
    COUNTERS,
    LOCK_FILE,
    STATS_FILE,
    lock_file,
    parse_counters,
    update_counters,
)

__all__ = ["COUNTERS", "LOCK_FILE", "STATS_FILE", "Stats", "summarize"]


class Stats:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / STATS_FILE
        # Plain strings: every cache hit counts, and pathlib joins cost more than the syscalls.
        self._directory = os.fspath(self.directory)
        self._path = os.fspath(self.path)

    def read(self) -> dict[str, int]:
        """Current counters (missing or unreadable file: all zero)."""
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

    def reset(self) -> None:
        self._update(None)

    def _update(self, increments: dict[str, int] | None) -> None:
        try:
            update_counters(self._directory, increments)
        except FileNotFoundError:
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
