"""The single exception raised when an envelope cannot be opened."""

from __future__ import annotations


class OpenError(Exception):
    """An envelope could not be opened: wrong key, tampered, truncated, too old, ...

    Callers treat every cause the same way (drop the envelope), so there is exactly one type.
    ``reason`` is a short fixed phrase for logs and counters; it never contains key or secret
    material, nor any byte of the envelope.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"cannot open sealed envelope: {reason}")
        self.reason = reason

    def __reduce__(self) -> tuple[type[OpenError], tuple[str]]:
        # Keep the exception picklable with its reason (e.g. across process pools).
        return (OpenError, (self.reason,))
