"""A wrapper that keeps secrets out of reprs, logs, tracebacks and pickles; env lookup."""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from typing import NoReturn

# Where the sealing secret comes from, in order of preference. A dedicated team secret wins
# over a GitHub token so a team can share a cache without sharing a token.
SECRET_ENV_VARS: tuple[str, ...] = ("CACHE_SHARED_SECRET", "GH_TOKEN", "GITHUB_TOKEN")
# Comma-separated secrets that are still accepted for opening during a rotation.
PREVIOUS_SECRETS_ENV = "CACHE_PREVIOUS_SECRETS"

_REDACTED = "Secret(<redacted>)"


class Secret:
    """Holds secret bytes; prints as ``Secret(<redacted>)``. Use ``reveal()`` to get the bytes."""

    __slots__ = ("_value",)

    def __init__(self, value: str | bytes) -> None:
        if isinstance(value, str):
            value = value.encode("utf-8")
        elif not isinstance(value, bytes):
            raise TypeError("a secret must be str or bytes")
        if not value:
            raise ValueError("a secret must not be empty")
        self._value = value

    def reveal(self) -> bytes:
        return self._value

    def __repr__(self) -> str:
        return _REDACTED

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value, other._value)

    # Unhashable on purpose: a hash of a secret is an oracle we do not need to hand out.
    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> NoReturn:
        # Pickling would write the secret somewhere (disk, a socket): refuse.
        raise TypeError("a Secret cannot be pickled")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: object) -> Secret:
        return self


def secret_from_env(env: Mapping[str, str] | None = None) -> tuple[Secret, str] | None:
    """The first non-blank of CACHE_SHARED_SECRET, GH_TOKEN, GITHUB_TOKEN and its variable name.

    Surrounding whitespace is stripped (a token read from a file often ends in a newline).
    Returns None when none is set.
    """
    source = os.environ if env is None else env
    for name in SECRET_ENV_VARS:
        value = source.get(name, "").strip()
        if value:
            return Secret(value), name
    return None


def previous_secrets_from_env(env: Mapping[str, str] | None = None) -> list[Secret]:
    """Secrets listed in CACHE_PREVIOUS_SECRETS (comma-separated, blanks ignored)."""
    source = os.environ if env is None else env
    return [
        Secret(part.strip())
        for part in source.get(PREVIOUS_SECRETS_ENV, "").split(",")
        if part.strip()
    ]
