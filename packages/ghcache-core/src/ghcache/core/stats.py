"""Counters that survive the process and add up across processes.

One JSON file per cache directory, updated under an exclusive ``flock`` and
replaced atomically, so concurrent processes never lose an increment and a
killed process never leaves a torn file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

COUNTERS = (
    "hits",
    "misses",
    "stale_served",
    "revalidated",
    "upstream_requests",
    "peer_hits",
    "corrupt_dropped",
    "evictions",
)
STATS_FILE = "stats.json"
LOCK_FILE = ".stats.lock"


class Stats:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / STATS_FILE

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def read(self) -> dict[str, int]:
        """Current counters (missing or unreadable file: all zero)."""
        counters = dict.fromkeys(COUNTERS, 0)
        try:
            raw = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return counters
        if isinstance(raw, dict):
            for name, value in raw.items():
                if isinstance(value, int) and not isinstance(value, bool):
                    counters[name] = value
        return counters

    def add(self, **increments: int) -> None:
        """Add to counters; a read-only or missing directory is silently skipped."""
        increments = {k: v for k, v in increments.items() if v}
        if not increments:
            return
        try:
            with self._locked():
                counters = self.read()
                for name, value in increments.items():
                    counters[name] = counters.get(name, 0) + value
                self._write(counters)
        except OSError:
            pass  # statistics must never break a request

    def reset(self) -> None:
        with contextlib.suppress(OSError), self._locked():
            self._write(dict.fromkeys(COUNTERS, 0))

    def _write(self, counters: dict[str, Any]) -> None:
        tmp = self.path.with_name(f".{STATS_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(counters, handle)
        os.replace(tmp, self.path)


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
