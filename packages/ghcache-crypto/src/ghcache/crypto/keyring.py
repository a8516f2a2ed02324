"""Keyring: seal with the current key, open with the current or a previous one (rotation)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NoReturn

from ghcache.crypto.envelope import split_envelope
from ghcache.crypto.errors import OpenError
from ghcache.crypto.kdf import DEFAULT_ITERATIONS, derive_key
from ghcache.crypto.sealing import Bytesish, SealingKey, _as_bytes
from ghcache.crypto.secret import previous_secrets_from_env, secret_from_env


class Keyring:
    """The current key plus previous keys still accepted; the envelope's key id picks one."""

    __slots__ = ("_by_id", "current", "previous", "secret_source")

    def __init__(self, current: SealingKey, previous: Sequence[SealingKey] = ()) -> None:
        if not isinstance(current, SealingKey) or not all(
            isinstance(key, SealingKey) for key in previous
        ):
            raise TypeError("a Keyring holds SealingKey objects")
        self.current = current
        # Drop duplicates and the current key itself, keeping the given order.
        self.previous: tuple[SealingKey, ...] = tuple(
            dict.fromkeys(key for key in previous if key != current)
        )
        self._by_id = {key.key_id_bytes: key for key in (current, *self.previous)}
        # Name of the environment variable the current secret came from (from_env only).
        self.secret_source: str | None = None

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, iterations: int = DEFAULT_ITERATIONS
    ) -> Keyring | None:
        """Keys from CACHE_SHARED_SECRET / GH_TOKEN / GITHUB_TOKEN and CACHE_PREVIOUS_SECRETS.

        None when no secret is set.
        """
        found = secret_from_env(env)
        if found is None:
            return None
        secret, source = found
        current = derive_key(secret, iterations=iterations)
        previous = [derive_key(s, iterations=iterations) for s in previous_secrets_from_env(env)]
        keyring = cls(current, previous)
        keyring.secret_source = source
        return keyring

    @property
    def key_id(self) -> str:
        return self.current.key_id

    @property
    def network_id(self) -> str:
        return self.current.network_id

    @property
    def keys(self) -> tuple[SealingKey, ...]:
        return (self.current, *self.previous)

    @property
    def network_ids(self) -> tuple[str, ...]:
        """Network ids of all keys, current first: what to listen on during a rotation."""
        return tuple(dict.fromkeys(key.network_id for key in self.keys))

    def seal(self, plaintext: Bytesish, *, associated: Bytesish = b"") -> bytes:
        return self.current.seal(plaintext, associated=associated)

    def open(
        self, envelope: Bytesish, *, associated: Bytesish = b"", max_age: float | None = None
    ) -> bytes:
        return self._open_at(envelope, associated=associated, max_age=max_age, now=None)

    def _open_at(
        self,
        envelope: Bytesish,
        *,
        associated: Bytesish,
        max_age: float | None,
        now: int | None,
    ) -> bytes:
        header, key_id, token = split_envelope(_as_bytes("envelope", envelope))
        key = self._by_id.get(key_id)
        if key is None:
            raise OpenError("sealed with an unknown key")
        return key._open_token(header, token, associated, max_age, now)

    def __repr__(self) -> str:
        previous = [key.key_id for key in self.previous]
        return f"Keyring(key_id={self.key_id!r}, previous={previous!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Keyring cannot be pickled")
