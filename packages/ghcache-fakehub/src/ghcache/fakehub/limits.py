"""Primary rate limits: one bucket per (identity, resource), windows like GitHub's."""

from __future__ import annotations

from dataclasses import dataclass

RESOURCES = ("core", "search", "graphql")
WINDOW_SECONDS = {"core": 3600, "search": 60, "graphql": 3600}
AUTHENTICATED_LIMITS = {"search": 30, "graphql": 5000}  # core comes from the token's limit
ANONYMOUS_LIMITS = {"core": 60, "search": 10, "graphql": 0}

RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_DOCS = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/"
    "rate-limits-for-the-rest-api#about-secondary-rate-limits"
)


@dataclass
class Bucket:
    limit: int
    window: int
    reset: int
    used: int = 0

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def roll(self, now: float) -> None:
        """Start a fresh window once the reset time has passed (as GitHub does)."""
        if now >= self.reset:
            self.used = 0
            self.reset = int(now) + self.window

    def headers(self, resource: str) -> list[tuple[str, str]]:
        return [
            ("X-RateLimit-Limit", str(self.limit)),
            ("X-RateLimit-Remaining", str(self.remaining)),
            ("X-RateLimit-Reset", str(self.reset)),
            ("X-RateLimit-Used", str(self.used)),
            ("X-RateLimit-Resource", resource),
        ]

    def as_json(self) -> dict[str, int]:
        return {
            "limit": self.limit,
            "used": self.used,
            "remaining": self.remaining,
            "reset": self.reset,
        }


class RateLimits:
    """Identities are "user:<login>" (GitHub limits per user, not per token) or "ip:<addr>"."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self.core_limits: dict[str, int] = {}  # login -> core limit

    def bucket(self, identity: str, resource: str, now: float) -> Bucket:
        key = (identity, resource)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = Bucket(self._limit_for(identity, resource), WINDOW_SECONDS[resource], 0)
            self._buckets[key] = bucket
        bucket.roll(now)
        return bucket

    def snapshot(self, identity: str, now: float) -> dict[str, Bucket]:
        return {resource: self.bucket(identity, resource, now) for resource in RESOURCES}

    def set_core_limit(self, login: str, limit: int) -> None:
        self.core_limits[login.lower()] = limit
        bucket = self._buckets.get((f"user:{login.lower()}", "core"))
        if bucket is not None:
            bucket.limit = limit

    def exhaust(self, identity: str, resource: str, now: float) -> None:
        bucket = self.bucket(identity, resource, now)
        bucket.used = bucket.limit

    def reset(self, identity: str | None = None) -> None:
        """Forget usage (as if the reset time passed) for one identity or for all."""
        for key in list(self._buckets):
            if identity is None or key[0] == identity:
                del self._buckets[key]

    def _limit_for(self, identity: str, resource: str) -> int:
        kind, _, name = identity.partition(":")
        if kind != "user":
            return ANONYMOUS_LIMITS[resource]
        if resource == "core":
            return self.core_limits.get(name, 5000)
        return AUTHENTICATED_LIMITS[resource]


def identity_for(login: str | None, client_ip: str) -> str:
    return f"user:{login.lower()}" if login is not None else f"ip:{client_ip}"
