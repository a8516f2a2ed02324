"""Injected faults: server errors, delays, dropped connections and secondary rate limits."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


class FaultError(ValueError):
    """An injected fault description that makes no sense (reported as HTTP 400 by control)."""


@dataclass
class Fault:
    id: int
    status: int | None = None  # answer with this status (e.g. 500, 502, 503)
    delay: float = 0.0  # seconds to wait before answering (or before the other effect)
    drop: bool = False  # close the connection without any answer
    secondary: int | None = None  # 403 or 429 secondary-rate-limit answer with Retry-After
    retry_after: int = 60
    path: str | None = None  # only requests whose path contains this
    method: str | None = None  # only requests with this method
    token: str | None = None  # only requests made with this token
    times: int | None = 1  # how many requests it hits; None = until reset_faults()

    def matches(self, method: str, path: str, token: str | None) -> bool:
        if self.path is not None and self.path not in path:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.token is None or self.token == token

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


FAULT_FIELDS = {"status", "delay", "drop", "secondary", "retry_after", "path", "method", "token"}
FAULT_FIELDS |= {"times"}


def validate(fault: Fault) -> None:
    if fault.status is not None and not 400 <= fault.status <= 599:
        raise FaultError(f"fault status must be 4xx or 5xx, got {fault.status}")
    if fault.secondary is not None and fault.secondary not in (403, 429):
        raise FaultError(f"secondary must be 403 or 429, got {fault.secondary}")
    if fault.delay < 0:
        raise FaultError("delay must be >= 0 seconds")
    if fault.times is not None and fault.times < 1:
        raise FaultError("times must be >= 1 (or null for until reset)")
    if fault.status is None and fault.secondary is None and not fault.drop and not fault.delay:
        raise FaultError("a fault needs at least one of status, delay, drop, secondary")


class FaultSet:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._next_id = 1

    def add(self, **fields: Any) -> Fault:
        unknown = set(fields) - FAULT_FIELDS
        if unknown:
            raise FaultError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        try:
            fault = Fault(id=self._next_id, **fields)
            fault.delay = float(fault.delay)
        except (TypeError, ValueError) as exc:
            raise FaultError(f"bad fault: {exc}") from None
        validate(fault)
        self._next_id += 1
        self._faults.append(fault)
        return fault

    def take(self, method: str, path: str, token: str | None) -> list[Fault]:
        """Matching faults for one request; each one used up by it loses one of its `times`."""
        hit = [f for f in self._faults if f.matches(method, path, token)]
        for fault in hit:
            if fault.times is not None:
                fault.times -= 1
        self._faults = [f for f in self._faults if f.times is None or f.times > 0]
        return hit

    def active(self) -> list[Fault]:
        return list(self._faults)

    def clear(self) -> None:
        self._faults.clear()
