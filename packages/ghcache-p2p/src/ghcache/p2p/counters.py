"""The daemon's counters, kept across restarts in ``<cache_dir>/p2p_stats.json``."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from ghcache.p2p.accept import REASONS

COUNTERS = (
    "announcements_sent",  # entries announced by us
    "announce_messages_sent",  # gossip messages (batches) published
    "announce_messages_received",  # gossip messages received (before any check)
    "announcements_received",  # entries announced to us by peers
    "entries_accepted",  # entries from peers written to the store
    "duplicates",  # entries we already had (e.g. gossip and fetch racing)
    "fetches_served",  # fetch requests answered with an entry
    "fetches_not_found",  # fetch requests for entries we do not hold
    "fetches_made",  # fetch requests we sent
    "fetch_hits",  # ... that returned an accepted entry
    "lookups",  # lookups asked by the local CLI
    "lookup_local_hits",  # ... answered from our store (e.g. pushed earlier)
    "lookup_peer_hits",  # ... answered by a peer
    "announce_dropped",  # announcements dropped because the queue was full
)


class P2PCounters:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.counts: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.refused: dict[str, int] = dict.fromkeys(REASONS, 0)
        self.dirty = False

    @classmethod
    def load(cls, path: Path) -> P2PCounters:
        counters = cls(path)
        try:
            saved = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return counters
        if isinstance(saved, dict):
            for target, name in ((counters.counts, "counters"), (counters.refused, "refused")):
                values = saved.get(name)
                if isinstance(values, dict):
                    for key, value in values.items():
                        if isinstance(value, int) and not isinstance(value, bool):
                            target[key] = value
        return counters

    def add(self, name: str, amount: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount
        self.dirty = True

    def refuse(self, reason: str, amount: int = 1) -> None:
        self.refused[reason] = self.refused.get(reason, 0) + amount
        self.dirty = True

    def snapshot(self) -> dict[str, Any]:
        return {"counters": dict(self.counts), "refused": dict(self.refused)}

    def save(self) -> None:
        """Write atomically; never raises (counters must not break the daemon)."""
        self.dirty = False
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(OSError):
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(self.snapshot(), handle, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
