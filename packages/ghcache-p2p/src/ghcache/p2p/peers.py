"""Peers we know how to reach, and when to try them again (sans-IO).

Bootstrap peers come from the environment, mDNS finds others, and every peer
we were connected to is remembered in ``<cache_dir>/p2p_peers.json`` so a
restarted daemon finds its team without help.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

MAX_REMEMBERED = 256
MAX_ADDRS = 8
_UNSPECIFIED = ("/ip4/0.0.0.0/", "/ip6/::/")
FORGET_AFTER = 7 * 24 * 3600.0
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 60.0


@dataclass
class DialTarget:
    peer_id: str
    addrs: list[str]
    source: str  # "bootstrap", "remembered" or "mdns"
    next_attempt: float = 0.0
    delay: float = BACKOFF_FIRST
    dialing: bool = False
    failures: int = field(default=0)

    def due(self, now: float) -> bool:
        return not self.dialing and now >= self.next_attempt

    def failed(self, now: float) -> None:
        self.failures += 1
        self.next_attempt = now + self.delay
        self.delay = min(BACKOFF_MAX, self.delay * 2)

    def succeeded(self) -> None:
        # The next drop is retried quickly, then backs off again.
        self.failures = 0
        self.delay = BACKOFF_FIRST
        self.next_attempt = 0.0


def split_p2p_addr(text: str) -> tuple[str, str]:
    """("/ip4/1.2.3.4/tcp/9100", "12D3Koo...") from a multiaddr ending in /p2p/<id>."""
    if "/p2p/" not in text:
        raise ValueError(f"peer address {text!r} has no /p2p/<peer id> part")
    addr, _, peer_id = text.rpartition("/p2p/")
    if not addr or not peer_id or "/" in peer_id:
        raise ValueError(f"peer address {text!r} is not <multiaddr>/p2p/<peer id>")
    return addr, peer_id


class PeerBook:
    """Remembered peers: peer id -> listen addresses and when last seen."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.peers: dict[str, dict[str, object]] = {}

    @classmethod
    def load(cls, path: Path) -> PeerBook:
        book = cls(path)
        try:
            saved = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return book
        now = time.time()
        if isinstance(saved, dict):
            for peer_id, record in saved.items():
                if not isinstance(record, dict):
                    continue
                addrs = record.get("addrs")
                seen = record.get("last_seen")
                if (
                    isinstance(addrs, list)
                    and all(isinstance(a, str) for a in addrs)
                    and isinstance(seen, int | float)
                    and now - seen < FORGET_AFTER
                ):
                    book.remember(peer_id, addrs, seen)
        return book

    def addrs(self, peer_id: str) -> list[str]:
        record = self.peers.get(peer_id)
        return list(record["addrs"]) if record else []  # type: ignore[call-overload]

    def remember(self, peer_id: str, addrs: list[str], now: float) -> bool:
        """Record ``peer_id``; True when the addresses changed (worth saving)."""
        # A wildcard (0.0.0.0, ::) is where a peer listened, not where it can be
        # reached; mDNS and identify can still hand one over.
        addrs = sorted({a for a in addrs if not a.startswith(_UNSPECIFIED)})[:MAX_ADDRS]
        if not addrs:
            return False
        previous = self.peers.get(peer_id)
        changed = previous is None or previous.get("addrs") != addrs
        self.peers[peer_id] = {"addrs": addrs, "last_seen": now}
        if len(self.peers) > MAX_REMEMBERED:
            oldest = sorted(self.peers, key=lambda p: float(self.peers[p]["last_seen"]))  # type: ignore[arg-type]
            for peer in oldest[: len(self.peers) - MAX_REMEMBERED]:
                del self.peers[peer]
        return changed

    def save(self) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(OSError):
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(self.peers, handle, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
