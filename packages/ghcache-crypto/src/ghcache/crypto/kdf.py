"""PBKDF2-HMAC-SHA256 key derivation with a fixed application salt, once per process.

The salt is a constant, not random per user, because every peer holding the same secret must
derive the same key without exchanging anything first. See the package docstring for why that is
fine for high-entropy secrets and what it costs for weak ones.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from ghcache.crypto.sealing import KEY_SIZE, SealingKey
from ghcache.crypto.secret import Secret

# Versioned with the envelope format: changing it changes every key, key id and network id.
SALT = b"ghcache/crypto/v1/salt"
DEFAULT_ITERATIONS = 100_000
MIN_ITERATIONS = 100_000

# Derived keys by (HMAC of the secret under a per-process random key, iterations). The secret
# itself is never a dict key, and the random key makes the cache keys useless outside this process.
_cache: dict[tuple[bytes, int], SealingKey] = {}
_cache_lock = threading.Lock()
_cache_mac_key = os.urandom(32)


def _pbkdf2_sha256(secret: bytes, salt: bytes, iterations: int, length: int) -> bytes:
    """Plain PBKDF2-HMAC-SHA256 with no floor; internal (known-answer tests use low counts)."""
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=length, salt=salt, iterations=iterations)
    return kdf.derive(secret)


def _secret_bytes(secret: str | bytes | Secret) -> bytes:
    if isinstance(secret, Secret):
        return secret.reveal()
    return Secret(secret).reveal()


def derive_key(secret: str | bytes | Secret, *, iterations: int = DEFAULT_ITERATIONS) -> SealingKey:
    """The SealingKey for ``secret``; derived once per (secret, iterations) in this process."""
    if isinstance(iterations, bool) or not isinstance(iterations, int):
        raise TypeError("iterations must be an int")
    if iterations < MIN_ITERATIONS:
        raise ValueError(f"iterations must be at least {MIN_ITERATIONS:,}")
    raw = _secret_bytes(secret)
    cache_key = (hmac.new(_cache_mac_key, raw, hashlib.sha256).digest(), iterations)
    with _cache_lock:
        # Held while deriving so concurrent callers wait for one derivation instead of racing.
        key = _cache.get(cache_key)
        if key is None:
            key = SealingKey(_pbkdf2_sha256(raw, SALT, iterations, KEY_SIZE))
            _cache[cache_key] = key
    return key
