"""What the caching client answers: a response and where it came from, or an error."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ghcache.core.entry import Entry
from ghcache.core.upstream import RawResponse


class Source(StrEnum):
    """Where an answer came from (its value is what ``--verbose`` and the stats show)."""

    CACHE = "cache"  # the caller's own stored answer, fresh
    PEER = "peer"  # a teammate's fresh copy, trusted (CACHE_SHARING=team)
    CONFIRMED = "confirmed"  # another identity's copy, confirmed for the caller by a 304
    REVALIDATED = "revalidated"  # the caller's own copy, still current by a 304
    STALE = "stale"  # the caller's own copy, past its TTL, while GitHub cannot be used
    UPSTREAM = "upstream"  # GitHub's answer
    PASSTHROUGH = "passthrough"  # never cached (a mutation, --no-cache)


@dataclass(frozen=True)
class Notice:
    """Something the caller is told beside the answer; the CLI says it on stderr."""

    kind: str  # "stale" (a stored answer stood in) or "not_cached" (it could not be kept)
    reason: str
    age: float | None = None  # how old a stale answer is, in seconds

    def __str__(self) -> str:
        if self.kind == "stale":
            return f"serving a cached answer from {format_age(self.age or 0)} ago ({self.reason})"
        return f"not cached: {self.reason}"


def format_age(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


class ApiError(Exception):
    """A call that cannot be answered; the message is one line with no secrets."""


class UpstreamUnavailable(ApiError):
    """GitHub cannot be used now (unreachable, failing, rate limited) and nothing is stored."""


class OfflineMiss(ApiError):
    """``offline`` was asked and the cache has no answer."""


@dataclass
class ApiResponse:
    status: int
    reason: str
    http_version: str
    headers: list[tuple[str, str]]
    body: bytes
    source: Source
    notice: Notice | None = None
    key: str | None = None

    @classmethod
    def from_entry(cls, entry: Entry, source: Source, notice: Notice | None = None) -> ApiResponse:
        return cls(
            status=entry.status,
            reason=entry.reason,
            http_version=entry.http_version,
            headers=list(entry.headers),
            body=entry.body,
            source=source,
            notice=notice,
            key=entry.key,
        )

    @classmethod
    def from_raw(cls, raw: RawResponse, source: Source, key: str | None = None) -> ApiResponse:
        return cls(raw.status, raw.reason, raw.http_version, raw.headers, raw.body, source, key=key)
