"""SealingKey: one derived key, sealing and opening envelopes (layout in envelope.py).

The token inside an envelope is made and verified by ``cryptography.fernet.Fernet``; this module
only adds the header, the binding digest and the age checks around it. Envelopes carry the token
as raw bytes, so each seal base64-decodes what Fernet returns and each open base64-encodes the
raw bytes again before handing them to Fernet. That costs a few passes over the body (about 2 ms
per 200 KB entry), a better trade at ghcache's sizes than owning the token construction.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import NoReturn

from cryptography.fernet import Fernet, InvalidToken

from ghcache.crypto.envelope import (
    BINDING_SIZE,
    KEY_ID_SIZE,
    binding_digest,
    make_header,
    split_envelope,
    token_timestamp,
)
from ghcache.crypto.errors import OpenError

KEY_SIZE = 32
KEY_ID_LABEL = b"ghcache/crypto/v1/key-id"
NETWORK_ID_LABEL = b"ghcache/crypto/v1/network-id"
NETWORK_ID_HEX_CHARS = 32
NAME_LABEL = b"ghcache/crypto/v1/name\x00"
# Same tolerance Fernet applies to timestamps ahead of the local clock.
MAX_CLOCK_SKEW = 60

Bytesish = bytes | bytearray | memoryview


def _label_mac(key: bytes, label: bytes) -> bytes:
    # One-way: publishing these reveals nothing usable about the key.
    return hmac.new(key, label, hashlib.sha256).digest()


def _as_bytes(name: str, value: Bytesish) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"{name} must be bytes")


class SealingKey:
    """A 32-byte Fernet key (signing half, encryption half). Build it with ``derive_key``.

    ``key_id`` (16 hex chars) names the key inside envelopes; ``network_id`` (32 hex chars)
    names the group of peers sharing the secret. Both are public and one-way.
    """

    __slots__ = ("_fernet", "_key", "_key_id_raw", "key_id", "network_id")

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != KEY_SIZE:
            raise ValueError(f"a sealing key is exactly {KEY_SIZE} bytes")
        self._key = key
        self._fernet = Fernet(base64.urlsafe_b64encode(key))
        self._key_id_raw = _label_mac(key, KEY_ID_LABEL)[:KEY_ID_SIZE]
        self.key_id: str = self._key_id_raw.hex()
        self.network_id: str = _label_mac(key, NETWORK_ID_LABEL).hex()[:NETWORK_ID_HEX_CHARS]

    @property
    def key_id_bytes(self) -> bytes:
        return self._key_id_raw

    def keyed_name(self, data: Bytesish) -> str:
        """A name for ``data`` (32 hex chars) that only holders of this key can compute.

        For filing sealed things in a store others can list (an IPFS node's MFS): the
        names link nothing to what they name for anyone without the key, yet every
        teammate finds the same one.
        """
        mac = hmac.new(self._key, NAME_LABEL + _as_bytes("data", data), hashlib.sha256)
        return mac.hexdigest()[:NETWORK_ID_HEX_CHARS]

    def seal(self, plaintext: Bytesish, *, associated: Bytesish = b"") -> bytes:
        """Encrypt and authenticate ``plaintext``, bound to ``associated`` (not included)."""
        return self._seal_at(plaintext, associated=associated, now=int(time.time()))

    def open(
        self, envelope: Bytesish, *, associated: Bytesish = b"", max_age: float | None = None
    ) -> bytes:
        """The plaintext, or OpenError. ``max_age`` (seconds) also refuses future stamps."""
        return self._open_at(envelope, associated=associated, max_age=max_age, now=None)

    def _seal_at(self, plaintext: Bytesish, *, associated: Bytesish, now: int) -> bytes:
        message = _as_bytes("plaintext", plaintext)
        header = make_header(self._key_id_raw)
        binding = binding_digest(header, _as_bytes("associated", associated))
        token = self._fernet.encrypt_at_time(binding + message, now)
        return header + base64.urlsafe_b64decode(token)

    def _open_at(
        self,
        envelope: Bytesish,
        *,
        associated: Bytesish,
        max_age: float | None,
        now: int | None,
    ) -> bytes:
        header, key_id, token = split_envelope(_as_bytes("envelope", envelope))
        if key_id != self._key_id_raw:
            raise OpenError("sealed with an unknown key")
        return self._open_token(header, token, associated, max_age, now)

    def _open_token(
        self,
        header: bytes,
        token: bytes,
        associated: Bytesish,
        max_age: float | None,
        now: int | None,
    ) -> bytes:
        expected = binding_digest(header, _as_bytes("associated", associated))
        if max_age is not None:
            if max_age < 0:
                raise ValueError("max_age must not be negative")
            current = int(time.time()) if now is None else now
            # Checked here, before the MAC, exactly as Fernet's ttl is (same comparisons, same
            # 60 s skew) but with a reason per cause; Fernet would say InvalidToken for all.
            # A forged stamp fails the MAC below anyway.
            _check_age(token_timestamp(token), max_age, current)
        # Canonical base64 of raw bytes: Fernet's lenient decoding of odd base64 text (it
        # accepts two of the spec's invalid tokens) cannot be reached from an envelope.
        try:
            inner = self._fernet.decrypt(base64.urlsafe_b64encode(token))
        except InvalidToken:
            raise OpenError("authentication failed") from None
        if len(inner) < BINDING_SIZE or not hmac.compare_digest(inner[:BINDING_SIZE], expected):
            raise OpenError("associated data mismatch")
        return inner[BINDING_SIZE:]

    def __repr__(self) -> str:
        return f"SealingKey(key_id={self.key_id!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SealingKey):
            return NotImplemented
        return hmac.compare_digest(self._key, other._key)

    def __hash__(self) -> int:
        return hash(self._key_id_raw)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a SealingKey cannot be pickled")


def _check_age(stamped: int, max_age: float, now: int) -> None:
    if stamped + max_age < now:
        raise OpenError("envelope too old")
    if stamped > now + MAX_CLOCK_SKEW:
        raise OpenError("envelope stamped in the future")
