"""The cache policy, with no I/O: given what is stored, the clock and the
options, what to do before a request; given a response, what to keep.

The sync CLI client and any async shell wrap these same decisions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum

from ghcache.core.entry import Entry


class Action(Enum):
    SERVE_FRESH = "serve fresh entry"
    REVALIDATE = "ask upstream with a validator"
    FETCH = "ask upstream"
    SERVE_STALE = "serve stored entry, upstream unusable"
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


def is_fresh(entry: Entry, now: float, ttl: float | None) -> bool:
    return entry.age(now) < (entry.ttl if ttl is None else ttl)


def stale_usable(entry: Entry | None, now: float, options: Options) -> bool:
    """A stored answer may stand in for upstream: a success or a 404, not too old."""
    if entry is None or not (200 <= entry.status < 400 or entry.status == 404):
        return False
    ttl = entry.ttl if options.ttl is None else options.ttl
    return entry.age(now) <= ttl + options.max_stale


def before_request(
    entry: Entry | None, now: float, options: Options, limited_until: float | None
) -> Decision:
    if entry is not None and not options.refresh and is_fresh(entry, now, options.ttl):
        return Decision(Action.SERVE_FRESH)
    if options.offline:
        if entry is not None:
            return Decision(Action.SERVE_STALE, "offline")
        return Decision(Action.FAIL, "offline and not in the cache")
    if limited_until is not None and limited_until > now:
        reason = f"rate limited until {format_clock(limited_until)}"
        if stale_usable(entry, now, options):
            return Decision(Action.SERVE_STALE, reason)
        return Decision(Action.FAIL, reason)
    if entry is not None and (entry.etag or entry.last_modified) and 200 <= entry.status < 300:
        return Decision(Action.REVALIDATE)
    return Decision(Action.FETCH)


def conditional_headers(entry: Entry) -> list[tuple[str, str]]:
    headers = []
    if entry.etag:
        headers.append(("If-None-Match", entry.etag))
    if entry.last_modified:
        headers.append(("If-Modified-Since", entry.last_modified))
    return headers


def storable_ttl(status: int, ttl: float, negative_ttl: float) -> float | None:
    """How long to keep a response, or None to keep nothing (errors never count as successes)."""
    if 200 <= status < 300:
        return ttl
    if status == 404:
        return min(ttl, negative_ttl)
    return None


def is_upstream_failure(status: int) -> bool:
    """Statuses for which a stale answer is better than the error."""
    return status >= 500


def stale_notice(entry: Entry, now: float, reason: str) -> str:
    return f"ghcache: serving a cached answer from {format_age(entry.age(now))} ago ({reason})"


def format_age(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


def format_clock(epoch: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(epoch))
