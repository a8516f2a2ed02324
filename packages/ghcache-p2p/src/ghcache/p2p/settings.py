"""The daemon's settings: core's documented variables plus p2p limits.

Standard library only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ghcache.core.config import ConfigError, Settings

MIB = 1024 * 1024
P2P_DEFAULTS: dict[str, str] = {
    "CACHE_MAX_ANNOUNCE_BYTES": str(1 * MIB),
    "CACHE_MAX_ENTRY_BYTES": str(16 * MIB),
    "CACHE_INLINE_ENTRY_BYTES": str(64 * 1024),
    "CACHE_PEER_RATE": "100",
    "CACHE_CLOCK_SKEW": "60",
}


@dataclass(frozen=True)
class P2PSettings:
    core: Settings
    max_announce_bytes: int  # one gossip message, after sealing
    max_entry_bytes: int  # one entry (serialized), fetched or inline
    inline_entry_bytes: int  # sealed entries up to this size travel inside announcements
    peer_rate: float  # messages/requests per second allowed from one peer (burst: 2x)
    clock_skew: float  # seconds an entry may be stamped in the future

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> P2PSettings:
        env = os.environ if env is None else env

        def number(name: str, minimum: int = 0) -> int:
            value = env.get(name, "").strip() or P2P_DEFAULTS[name]
            try:
                parsed = int(value)
            except ValueError:
                raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
            if parsed < minimum:
                raise ConfigError(f"{name} must be at least {minimum}, got {value!r}")
            return parsed

        settings = cls(
            core=Settings.from_env(env),
            max_announce_bytes=number("CACHE_MAX_ANNOUNCE_BYTES", 4096),
            max_entry_bytes=number("CACHE_MAX_ENTRY_BYTES", 1024),
            inline_entry_bytes=number("CACHE_INLINE_ENTRY_BYTES"),
            peer_rate=float(number("CACHE_PEER_RATE", 1)),
            clock_skew=float(number("CACHE_CLOCK_SKEW")),
        )
        if settings.inline_entry_bytes > settings.max_announce_bytes // 2:
            raise ConfigError(
                "CACHE_INLINE_ENTRY_BYTES must be at most half of CACHE_MAX_ANNOUNCE_BYTES"
            )
        return settings
