"""GitHub's rate-limit headers, and the "limited until" time shared across processes.

When GitHub says no, every process on the machine should stop asking until
the limit resets; the time is remembered per host and identity in the cache dir.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ghcache.core.entry import header_value

RATELIMIT_FILE = "ratelimit.json"
SECONDARY_DEFAULT_WAIT = 60.0
_SECONDARY_MARKERS = (b"secondary rate limit", b"abuse detection")


@dataclass(frozen=True)
class RateLimit:
    limit: int | None
    remaining: int | None
    used: int | None
    reset: float | None
    resource: str | None


def parse_rate_limit(headers: list[tuple[str, str]]) -> RateLimit:
    def number(name: str) -> int | None:
        value = header_value(headers, name)
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    reset = number("x-ratelimit-reset")
    return RateLimit(
        limit=number("x-ratelimit-limit"),
        remaining=number("x-ratelimit-remaining"),
        used=number("x-ratelimit-used"),
        reset=float(reset) if reset is not None else None,
        resource=header_value(headers, "x-ratelimit-resource"),
    )


def limited_until(
    status: int, headers: list[tuple[str, str]], body: bytes, now: float
) -> float | None:
    """Until when a response says we are rate limited, or None if it does not."""
    if status not in (403, 429):
        return None
    retry_after = header_value(headers, "retry-after")
    if retry_after is not None:
        with contextlib.suppress(ValueError):
            return now + max(1.0, float(retry_after))
    info = parse_rate_limit(headers)
    if info.remaining == 0:
        return info.reset if info.reset and info.reset > now else now + SECONDARY_DEFAULT_WAIT
    lowered = body[:4096].lower()
    if status == 429 or any(marker in lowered for marker in _SECONDARY_MARKERS):
        return now + SECONDARY_DEFAULT_WAIT
    return None


class RateLimitMemory:
    """Limited-until times per (host, identity), shared by every process using the dir."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / RATELIMIT_FILE

    def _read(self) -> dict[str, float]:
        try:
            raw = json.loads(self.path.read_bytes())
        except (OSError, ValueError, RecursionError):
            return {}
        if not isinstance(raw, dict):
            return {}
        return {k: float(v) for k, v in raw.items() if isinstance(v, int | float)}

    def active(self, now: float) -> dict[str, float]:
        """Every (host:identity) still limited at ``now``, with its limited-until time."""
        return {who: until for who, until in self._read().items() if until > now}

    def until(self, who: str, now: float) -> float | None:
        value = self._read().get(who)
        return value if value is not None and value > now else None

    def remember(self, who: str, until: float, now: float) -> None:
        # Last writer wins: a lost update only means one more request is tried.
        records = {k: v for k, v in self._read().items() if v > now}
        records[who] = until
        self._write(records)

    def _write(self, records: dict[str, float]) -> None:
        tmp = self.path.with_name(f".{RATELIMIT_FILE}.{os.getpid()}.tmp")
        with contextlib.suppress(OSError):
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(records, handle)
            os.replace(tmp, self.path)
