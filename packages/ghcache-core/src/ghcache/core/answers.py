"""What the caching client answers: a response and where it came from, or an error."""

from __future__ import annotations

from dataclasses import dataclass

from ghcache.core.entry import Entry
from ghcache.core.upstream import RawResponse


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
    source: str
    notice: str | None = None
    key: str | None = None

    @classmethod
    def from_entry(cls, entry: Entry, source: str, notice: str | None = None) -> ApiResponse:
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
    def from_raw(cls, raw: RawResponse, source: str, key: str | None = None) -> ApiResponse:
        return cls(raw.status, raw.reason, raw.http_version, raw.headers, raw.body, source, key=key)
