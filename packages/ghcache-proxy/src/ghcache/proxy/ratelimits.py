"""What the proxy knows now about an identity's rate limit, for answers GitHub did not
just send.

A stored entry keeps the ``X-RateLimit-*`` headers of the moment it was fetched;
replayed later they lie (a stored ``Remaining: 0`` stops gh for an hour).  So an answer
from the cache carries instead, per identity and resource:

- ``Remaining: 0`` and the reset time while GitHub is known to refuse it (core's
  rate-limit memory, shared by every process on the machine);
- else the values of the last answer GitHub sent this proxy for it, until their reset;
- else no ``X-RateLimit-*`` header at all (clients treat that as "unknown").
"""

from __future__ import annotations

from ghcache.core.ratelimit import RateLimit, parse_rate_limit

# One record per identity and resource seen; beyond this the oldest are forgotten.
MAX_RECORDS = 4096
HEADER_PREFIX = "x-ratelimit-"


class RateLimitView:
    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], RateLimit] = {}

    def record(self, identity: str, resource: str, headers: list[tuple[str, str]]) -> None:
        """Remember the rate-limit headers of an answer GitHub just sent."""
        seen = parse_rate_limit(headers)
        if seen.remaining is None or seen.reset is None:
            return
        key = (identity, seen.resource or resource)
        self._seen.pop(key, None)  # re-inserted last: the dict is oldest-first
        self._seen[key] = seen
        if len(self._seen) > MAX_RECORDS:
            del self._seen[next(iter(self._seen))]

    def headers(
        self, identity: str, resource: str, now: float, limited_until: float | None
    ) -> list[tuple[str, str]]:
        seen = self._seen.get((identity, resource))
        if seen is not None and (seen.reset is None or seen.reset <= now):
            seen = None  # the window it describes is over
        if limited_until is not None and limited_until > now:
            limit = (
                []
                if seen is None or seen.limit is None
                else [("X-RateLimit-Limit", str(seen.limit))]
            )
            return [
                *limit,
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset", str(int(limited_until))),
                ("X-RateLimit-Resource", resource),
            ]
        if seen is None:
            return []
        values = [
            ("X-RateLimit-Limit", seen.limit),
            ("X-RateLimit-Remaining", seen.remaining),
            ("X-RateLimit-Used", seen.used),
            ("X-RateLimit-Reset", int(seen.reset) if seen.reset is not None else None),
        ]
        shown = [(name, str(value)) for name, value in values if value is not None]
        return [*shown, ("X-RateLimit-Resource", seen.resource or resource)]
