"""Everything a running fake hub remembers, behind one lock: world, tokens, limits, faults, log.

`FakeHub` (server.py) is a `HubState` that also owns the HTTP server; the HTTP control endpoints
(control.py) drive the same methods, so both ways of steering a hub behave identically.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ghcache.fakehub.data import DEFAULT_LIMIT, DEFAULT_TOKENS, World
from ghcache.fakehub.faults import Fault, FaultError, FaultSet
from ghcache.fakehub.limits import RESOURCES, RateLimits, identity_for
from ghcache.fakehub.rest import Router


@dataclass
class RequestRecord:
    """One request the hub received (control requests under /_fakehub are not recorded)."""

    method: str
    path: str  # without query and without an /api/v3 prefix
    query: str
    login: str | None  # whose token it was (None: anonymous or bad credentials)
    token: str | None
    status: int  # 0 when the connection was dropped on purpose
    counted: bool  # consumed one unit of the primary rate limit
    resource: str  # core, search or graphql
    proxied: bool  # arrived as an absolute-form (HTTP proxy) request
    host: str
    time: float
    headers: dict[str, str] = field(default_factory=dict)  # Authorization redacted
    fault: bool = False  # answered (or dropped) by an injected fault

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class HubState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.world = World()
        self.router = Router(self.world)
        self.limits = RateLimits()
        self.faults = FaultSet()
        self.tokens: dict[str, str] = {}
        self._log: list[RequestRecord] = []
        self._clock_offset = 0.0
        self._request_seq = 0
        for token, login in DEFAULT_TOKENS.items():
            self.add_token(token, login=login, limit=DEFAULT_LIMIT)

    # -- clock -----------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self._clock_offset

    def advance_time(self, seconds: float) -> None:
        """Move the hub's clock forward: rate-limit windows whose reset passes start afresh."""
        with self.lock:
            self._clock_offset += seconds

    def set_time(self, epoch: float) -> None:
        with self.lock:
            self._clock_offset = epoch - time.time()

    # -- identities --------------------------------------------------------------
    def add_token(self, token: str, login: str, limit: int = DEFAULT_LIMIT) -> None:
        """Register a token for `login` (created if new) with a core limit per hour."""
        if not token or any(c.isspace() for c in token):
            raise ValueError("token must be non-empty without whitespace")
        with self.lock:
            user = self.world.ensure_user(login)
            self.tokens[token] = user.login
            self.limits.set_core_limit(user.login, limit)

    def login_for(self, token: str | None) -> str | None:
        with self.lock:
            return self.tokens.get(token) if token is not None else None

    def _identity(self, token: str | None, client_ip: str = "127.0.0.1") -> str:
        login = self.login_for(token)
        if token is not None and login is None:
            raise ValueError(f"unknown token {token!r}; add it with add_token() first")
        return identity_for(login, client_ip)

    # -- rate limits ---------------------------------------------------------------
    def exhaust(self, token: str | None, resource: str = "core") -> None:
        """Use up the primary limit of the token's user (None: anonymous 127.0.0.1)."""
        if resource not in RESOURCES:
            raise ValueError(f"resource must be one of {', '.join(RESOURCES)}")
        with self.lock:
            self.limits.exhaust(self._identity(token), resource, self.now())

    def reset_limits(self, token: str | None = None) -> None:
        """Refill limits of the token's user, or of everyone when token is None."""
        with self.lock:
            self.limits.reset(self._identity(token) if token is not None else None)

    def remaining(self, token: str | None, resource: str = "core") -> int:
        with self.lock:
            return self.limits.bucket(self._identity(token), resource, self.now()).remaining

    # -- faults ----------------------------------------------------------------------
    def inject(
        self,
        *,
        status: int | None = None,
        delay: float = 0.0,
        drop: bool = False,
        secondary: int | bool | None = None,
        retry_after: int = 60,
        exhaust: str | None = None,
        path: str | None = None,
        method: str | None = None,
        token: str | None = None,
        times: int | None = 1,
    ) -> int | None:
        """Add a fault hitting the next `times` matching requests (None: until reset_faults).

        status: answer 4xx/5xx; delay: seconds before answering; drop: close the connection
        without an answer; secondary: 403 or 429 (True = 403) secondary rate limit with
        Retry-After: retry_after; exhaust: a token whose primary core limit is used up now
        (lasts until its reset time or reset_limits). Returns the fault id (None for exhaust
        alone)."""
        if exhaust is not None:
            self.exhaust(exhaust)
            if status is None and not delay and not drop and not secondary:
                return None
        if secondary is True:
            secondary = 403
        with self.lock:
            fault = self.faults.add(
                status=status,
                delay=delay,
                drop=drop,
                secondary=secondary or None,
                retry_after=retry_after,
                path=path,
                method=method,
                token=token,
                times=times,
            )
            return fault.id

    def active_faults(self) -> list[Fault]:
        with self.lock:
            return self.faults.active()

    def reset_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    # -- request log -------------------------------------------------------------------
    def record(self, entry: RequestRecord) -> None:
        with self.lock:
            self._log.append(entry)

    def next_request_id(self) -> str:
        with self.lock:
            self._request_seq += 1
            seq = self._request_seq
        return f"FA4E:{seq & 0xFFFF:04X}:{seq * 7919 & 0xFFFFFF:06X}:{int(self.now()):08X}"

    @property
    def requests(self) -> list[RequestRecord]:
        with self.lock:
            return list(self._log)

    def counted(self, token: str | None) -> int:
        """Requests made with `token` (None: anonymous) that consumed primary rate limit."""
        with self.lock:
            return sum(1 for r in self._log if r.counted and r.token == token)

    def upstream_count(self, path_prefix: str | None = None) -> int:
        """Requests received (excluding control), optionally only paths starting with a prefix."""
        with self.lock:
            return sum(
                1 for r in self._log if path_prefix is None or r.path.startswith(path_prefix)
            )

    def clear_log(self) -> None:
        with self.lock:
            self._log.clear()

    def reset(self, *, data: bool = True) -> None:
        """Back to a fresh hub: log, faults, limits, clock and (by default) the seeded data."""
        with self.lock:
            self.clear_log()
            self.reset_faults()
            self.limits.reset()
            self._clock_offset = 0.0
            if data:
                self.world.reset()
                for login in self.tokens.values():
                    self.world.ensure_user(login)


__all__ = ["FaultError", "HubState", "RequestRecord"]
