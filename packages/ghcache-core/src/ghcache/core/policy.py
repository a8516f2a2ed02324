"""The cache policy, with no I/O: given what is stored, who asks, the clock and
the options, what to do before a request; given a response, what to keep.

Whom an entry may be shown to is :mod:`ghcache.core.kernel.serving` (the CLI's
hit path applies the same rule).  The sync CLI client and any async shell wrap
these same decisions.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from enum import Enum

from ghcache.core.entry import Entry, header_value
from ghcache.core.kernel import serving


class Action(Enum):
    SERVE_FRESH = "serve the stored entry"
    REVALIDATE = "ask upstream with the caller's own validators"
    CONFIRM = "ask upstream whether another identity's copy is the caller's answer"
    FETCH = "ask upstream"
    SERVE_STALE = "serve the caller's stored entry, upstream unusable"
    FAIL = "nothing usable"


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str = ""


@dataclass(frozen=True)
class Options:
    ttl: float | None = None  # overrides the stored TTL for freshness (gh's --cache)
    refresh: bool = False
    offline: bool = False
    max_stale: float = 24 * 3600


# GitHub answers these to one identity only: never shared, kept CACHE_NEGATIVE_TTL.
NEGATIVE_STATUSES = (401, 403, 404, 410)


def is_fresh(entry: Entry, now: float, ttl: float | None) -> bool:
    return serving.is_fresh(entry.stored_at, entry.ttl, now, ttl)


def is_mine(entry: Entry | None, identity: str, sharing: str) -> bool:
    """Whether ``identity`` fetched ``entry`` or had it confirmed (or the mode trusts all)."""
    return entry is not None and serving.shown_at(entry, identity, sharing) is not None


def stale_usable(
    entry: Entry | None, now: float, options: Options, identity: str, sharing: str
) -> bool:
    """The caller's own stored answer may stand in for upstream: a success or a 404, not
    older than its TTL plus ``max_stale`` since the caller was last shown it."""
    if entry is None or not (200 <= entry.status < 400 or entry.status == 404):
        return False
    since = serving.shown_at(entry, identity, sharing)
    if since is None or since > now + serving.CLOCK_SKEW:
        return False
    ttl = entry.ttl if options.ttl is None else options.ttl
    return serving.age(since, now) <= ttl + options.max_stale


def before_request(
    entry: Entry | None,
    now: float,
    options: Options,
    limited_until: float | None,
    *,
    identity: str,
    sharing: str,
) -> Decision:
    mine = is_mine(entry, identity, sharing)
    if (
        entry is not None
        and mine
        and not options.refresh
        and serving.serves_fresh(entry, identity, sharing, now, options.ttl)
    ):
        return Decision(Action.SERVE_FRESH)
    if options.offline:
        if entry is not None and mine:
            return Decision(Action.SERVE_STALE, "offline")
        return Decision(Action.FAIL, "offline and not in the cache")
    if limited_until is not None and limited_until > now:
        reason = f"rate limited until {format_clock(limited_until)}"
        if stale_usable(entry, now, options, identity, sharing):
            return Decision(Action.SERVE_STALE, reason)
        return Decision(Action.FAIL, reason)
    if entry is not None and 200 <= entry.status < 300:
        if mine:
            return Decision(Action.REVALIDATE)
        if serving.is_candidate(entry, identity, sharing):
            return Decision(Action.CONFIRM)
    return Decision(Action.FETCH)


def github_etag(request_headers: list[tuple[str, str]], body: bytes) -> str:
    """The ETag GitHub gives a ``200`` with ``body`` to a request with these headers.

    Observed, not documented: SHA-256 over the values of ``Accept``,
    ``Authorization`` and ``Cookie`` present in the request, each followed by
    ``:``, then the body bytes as sent.  The client copes when this stops
    holding (a ``200`` with the same body: counted as ``etag_mismatch``).
    """
    digest = hashlib.sha256()
    for name in ("accept", "authorization", "cookie"):
        value = header_value(request_headers, name)
        if value is not None:
            digest.update(value.encode("latin-1", "replace") + b":")
    digest.update(body)
    return f'W/"{digest.hexdigest()}"'


def conditional_headers(
    entry: Entry, request_headers: list[tuple[str, str]], *, mine: bool
) -> list[tuple[str, str]]:
    """Validators for the caller: the ETag its own request would get for the stored body,
    plus, for its own copy, the stored validators.  Another identity's ``Last-Modified``
    is never sent: a ``304`` to it would not prove the body is the caller's."""
    tags = [github_etag(request_headers, entry.body)]
    if mine and entry.etag and entry.etag not in tags:
        tags.append(entry.etag)
    headers = [("If-None-Match", ", ".join(tags))]
    if mine and entry.last_modified:
        headers.append(("If-Modified-Since", entry.last_modified))
    return headers


# Headers a 304 may carry that should replace the stored ones.
_REFRESHABLE = {"etag", "last-modified", "date", "cache-control", "expires", "vary"}


def headers_after_304(
    stored: list[tuple[str, str]], fresh: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The stored headers, with those a ``304`` may carry replaced by its values."""
    updates = {name.lower(): (name, value) for name, value in fresh if name.lower() in _REFRESHABLE}
    merged = [updates.pop(name.lower(), (name, value)) for name, value in stored]
    return merged + list(updates.values())


def storable_ttl(status: int, ttl: float, negative_ttl: float) -> float | None:
    """How long to keep a response, or None to keep nothing (errors never count as successes)."""
    if 200 <= status < 300:
        return ttl
    if status in NEGATIVE_STATUSES:
        return min(ttl, negative_ttl)
    return None


def is_graphql_error(body: bytes) -> bool:
    """A GraphQL answer that carries ``errors``: kept per identity, for the negative TTL."""
    if b'"errors"' not in body:
        return False
    import json

    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(payload, dict) and bool(payload.get("errors"))


def is_upstream_failure(status: int) -> bool:
    """Statuses for which a stale answer is better than the error."""
    return status >= 500


def format_clock(epoch: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(epoch))
