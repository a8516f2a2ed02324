"""ghcache crypto: seal what peers share so only holders of the same secret can read or forge it.

Usable on its own (depends only on ``cryptography``)::

    from ghcache.crypto import derive_key, OpenError

    key = derive_key(team_secret)                      # PBKDF2-HMAC-SHA256, 100,000 iterations
    envelope = key.seal(body, associated=cache_key)    # bytes: header + Fernet token
    body = key.open(envelope, associated=cache_key, max_age=3600)   # or OpenError

The token inside an envelope is made and verified by ``cryptography.fernet.Fernet`` (AES-128-CBC
+ HMAC-SHA256) and stored as raw bytes; a digest over the envelope header and the caller's
associated data, inside the token, binds the two (Fernet has no associated data of its own).

Key derivation uses PBKDF2-HMAC-SHA256 with a fixed, versioned application salt
(``SALT = b"ghcache/crypto/v1/salt"``), 100,000 iterations by default (never fewer), and turns the
32 output bytes into a Fernet key. The salt is fixed because every peer that holds the secret
must reach the same key without talking first; there is nowhere to keep a random salt.

Why a fixed salt is acceptable for high-entropy secrets: a salt exists to stop one precomputed
table from serving many targets. A GitHub token (well over 128 random bits) or a long random team
secret cannot be enumerated at all, with or without a salt, so sharing a salt costs nothing.

What it means for low-entropy secrets: the salt is the same for every ghcache user, so an
attacker can precompute PBKDF2 over a dictionary of passwords once and test every ghcache
network's public key id or network id against that table. A short or human-chosen
CACHE_SHARED_SECRET therefore protects little; use a long random one, e.g.
``python -c "import secrets; print(secrets.token_urlsafe(32))"``.

Secrets are wrapped in ``Secret`` (redacted repr, not picklable), never logged, never written,
never put in exception text. Derived keys are cached in memory per process, keyed by an HMAC of
the secret under a per-process random key, not by the secret.
"""

from ghcache.crypto.envelope import ENVELOPE_VERSION, MAGIC, envelope_timestamp
from ghcache.crypto.errors import OpenError
from ghcache.crypto.kdf import DEFAULT_ITERATIONS, MIN_ITERATIONS, SALT, derive_key
from ghcache.crypto.keyring import Keyring
from ghcache.crypto.sealing import SealingKey
from ghcache.crypto.secret import (
    PREVIOUS_SECRETS_ENV,
    SECRET_ENV_VARS,
    Secret,
    secret_from_env,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_ITERATIONS",
    "ENVELOPE_VERSION",
    "MAGIC",
    "MIN_ITERATIONS",
    "PREVIOUS_SECRETS_ENV",
    "SALT",
    "SECRET_ENV_VARS",
    "Keyring",
    "OpenError",
    "SealingKey",
    "Secret",
    "derive_key",
    "envelope_timestamp",
    "secret_from_env",
]
