"""GitHub's rate-limit headers, and the "limited until" time shared across processes.

When GitHub says no, every process on the machine should stop asking until
the limit resets; the time is remembered per host, identity and rate-limit
resource (``x-ratelimit-resource``: core, search, graphql, code_search, ...) in
the cache dir, so an exhausted GraphQL limit does not stop REST calls.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ghcache.core.entry import header_value

RATELIMIT_FILE = "ratelimit.json"
SECONDARY_DEFAULT_WAIT = 60.0
# GitHub's limits reset within the hour; a wait beyond this is not believed (a
# hostile or broken upstream must not stop every later call for ever).
MAX_WAIT = 3600.0
# One record per host, identity and resource waiting: a few KiB at most.
MAX_FILE_BYTES = 1 << 20
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
        reset=float(reset) if reset is not None and abs(reset) < 2**53 else None,
        resource=header_value(headers, "x-ratelimit-resource"),
    )


def limited_until(
    status: int, headers: list[tuple[str, str]], body: bytes, now: float
) -> float | None:
    """Until when a response says we are rate limited, or None if it does not."""
    if status == 200 and b'"RATE_LIMITED"' in body[:4096]:
        status = 429  # GitHub's GraphQL says it with a 200 and a RATE_LIMITED error
    elif status not in (403, 429):
        return None
    retry_after = header_value(headers, "retry-after")
    if retry_after is not None:
        with contextlib.suppress(ValueError, OverflowError):
            wait = float(retry_after)
            if wait == wait:  # not NaN
                return now + min(MAX_WAIT, max(1.0, wait))
    info = parse_rate_limit(headers)
    if info.remaining == 0:
        if info.reset is not None and now < info.reset <= now + MAX_WAIT:
            return info.reset
        return now + (MAX_WAIT if info.reset and info.reset > now else SECONDARY_DEFAULT_WAIT)
    lowered = body[:4096].lower()
    if status == 429 or any(marker in lowered for marker in _SECONDARY_MARKERS):
        return now + SECONDARY_DEFAULT_WAIT
    return None


def resource_for(path: str, *, graphql: bool) -> str:
    """The rate-limit bucket a request will be charged to, before GitHub says so."""
    if graphql:
        return "graphql"
    path = path.strip("/")
    if path.startswith("search/code"):
        return "code_search"
    if path.startswith("search/"):
        return "search"
    return "core"


def limit_key(host: str, identity: str, resource: str) -> str:
    """``host:identity:resource``, the name a wait is remembered under."""
    return f"{host}:{identity}:{resource}"


class RateLimitMemory:
    """Limited-until times per (host, identity, resource), shared by every process using the dir."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / RATELIMIT_FILE

    def _read(self, now: float) -> dict[str, float]:
        try:
            raw = json.loads(self._read_bytes())
        except (OSError, ValueError, RecursionError):
            return {}
        if not isinstance(raw, dict):
            return {}
        # A time beyond any real wait (a damaged or poisoned file) is not believed.
        return {
            str(k): float(v)
            for k, v in raw.items()
            if type(v) in (int, float) and v == v and v <= now + MAX_WAIT + 60
        }

    def _read_bytes(self) -> bytes:
        # Whatever is found under the name: a FIFO must not hang every call (and the
        # monitor, and a metrics scrape), a device or huge file must not fill memory.
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise OSError(f"{RATELIMIT_FILE} is not a regular file")
            if info.st_size > MAX_FILE_BYTES:
                raise OSError(f"{RATELIMIT_FILE} is {info.st_size} bytes")
            return os.read(fd, MAX_FILE_BYTES)
        finally:
            os.close(fd)

    def active(self, now: float) -> dict[str, float]:
        """Every ``host:identity:resource`` still limited at ``now``, with its limited-until time."""
        return {who: until for who, until in self._read(now).items() if until > now}

    def until(self, who: str, now: float) -> float | None:
        value = self._read(now).get(who)
        return value if value is not None and value > now else None

    def remember(self, who: str, until: float, now: float) -> None:
        # Last writer wins: a lost update only means one more request is tried.
        records = {k: v for k, v in self._read(now).items() if v > now}
        records[who] = min(until, now + MAX_WAIT)
        self._write(records)

    def forget(self) -> int:
        """Drop every remembered wait (``ghcache ratelimit clear``); how many were active."""
        count = len(self._read(float("inf")))
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        return count

    def _write(self, records: dict[str, float]) -> None:
        tmp = self.path.with_name(f".{RATELIMIT_FILE}.{os.getpid()}.tmp")
        with contextlib.suppress(OSError):
            # The first call in a new cache directory may be the one that is refused.
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(records, handle)
            os.replace(tmp, self.path)
