"""Who an answer belongs to: the identity-scoped paths and the token fingerprint.

Identity-scoped answers are keyed to a fingerprint of the token (never the
token itself) and never leave the machine; every other answer has the shared
scope and reaches another identity only as the serving rule allows
(:mod:`ghcache.core.kernel.serving`).
"""

from __future__ import annotations

try:  # the C module itself: hashlib would load OpenSSL (~3 ms) for one digest
    from _sha256 import sha256
except ImportError:  # pragma: no cover - Python 3.12+ renamed it
    from hashlib import sha256

SHARED_SCOPE = "shared"
IDENTITY_PREFIX = "identity:"
ANONYMOUS = "anonymous"

# REST paths whose answer depends on the token: (pattern, why).  A pattern
# ending in "/" matches the path and everything below it.
IDENTITY_SCOPED_PATHS: tuple[tuple[str, str], ...] = (
    ("user", "the authenticated user"),
    ("user/", "the authenticated user's resources (repos, orgs, emails, keys, ...)"),
    ("notifications", "the user's notifications"),
    ("notifications/", "the user's notification threads"),
    ("issues", "issues assigned to the authenticated user"),
    ("rate_limit", "the token's own rate limit"),
    ("installation/", "the installation token's repositories"),
    ("app", "the authenticated GitHub App"),
    ("app/", "the authenticated GitHub App's resources"),
)

_FINGERPRINT_LABEL = b"ghcache/identity/v1"
_BLOCK = 64  # SHA-256's block size, for HMAC
_INNER_KEY = bytes(b ^ 0x36 for b in _FINGERPRINT_LABEL.ljust(_BLOCK, b"\0"))
_OUTER_KEY = bytes(b ^ 0x5C for b in _FINGERPRINT_LABEL.ljust(_BLOCK, b"\0"))


def identity_fingerprint(token: str | None) -> str:
    """A one-way, stable name for the token's identity (never the token).

    HMAC-SHA256 keyed by a fixed label, written out over ``_sha256`` so the hit
    path need not import ``hmac`` and ``hashlib`` (tests compare it with ``hmac``).
    """
    if not token:
        return ANONYMOUS
    inner = sha256(_INNER_KEY + token.encode("utf-8", "surrogatepass")).digest()
    return sha256(_OUTER_KEY + inner).hexdigest()[:32]


def identity_scope(token: str | None) -> str:
    return IDENTITY_PREFIX + identity_fingerprint(token)


def is_identity_path(path: str) -> bool:
    """Whether a REST path (already normalised, without query) answers for the token's user."""
    path = path.strip("/")
    for pattern, _ in IDENTITY_SCOPED_PATHS:
        if pattern.endswith("/") and (path + "/").startswith(pattern):
            return True
        if path == pattern:
            return True
    return False
