"""Per-peer token buckets: how much each peer may ask of us (sans-IO)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_TRACKED = 4096


@dataclass
class _Bucket:
    tokens: float
    updated: float


class PeerRateLimiter:
    """``rate`` units per second per peer, bursts of up to ``burst`` units."""

    def __init__(
        self, rate: float, burst: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, peer: str, cost: float = 1.0) -> bool:
        now = self.clock()
        bucket = self._buckets.get(peer)
        if bucket is None:
            if len(self._buckets) >= MAX_TRACKED:
                self._forget_full(now)
            bucket = self._buckets[peer] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens < cost:
            return False
        bucket.tokens -= cost
        return True

    def _forget_full(self, now: float) -> None:
        # A peer whose bucket has refilled is indistinguishable from a new one.
        for peer, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.updated) * self.rate >= self.burst:
                del self._buckets[peer]
        if len(self._buckets) >= MAX_TRACKED:
            self._buckets.clear()
