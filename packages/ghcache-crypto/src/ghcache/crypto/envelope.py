"""The envelope byte layout (version 1) and parsing that needs no key.

    offset  size  field
    0       3     magic  b"GHC"
    3       1     envelope version, 0x01
    4       8     key id (first 8 bytes of HMAC-SHA256(key, KEY_ID_LABEL))
    12      ...   Fernet token, raw (base64url-decoded):
                  0x80 | timestamp (8, big-endian, Unix seconds) | IV (16) |
                  AES-128-CBC ciphertext (16*n) | HMAC-SHA256 (32)

Tokens are made and verified by ``cryptography.fernet.Fernet`` (see sealing.py); this module
only reads the token's fixed fields, which needs no key and decides nothing about authenticity.

The Fernet plaintext is ``binding || message`` where
``binding = SHA256(BINDING_LABEL || header || associated)``. Fernet authenticates the token but
has no associated data, so the header (magic, version, key id) and the caller's associated data
are bound by this digest, checked in constant time when opening.
"""

from __future__ import annotations

import hashlib

from ghcache.crypto.errors import OpenError

MAGIC = b"GHC"
ENVELOPE_VERSION = 1
KEY_ID_SIZE = 8
HEADER_SIZE = len(MAGIC) + 1 + KEY_ID_SIZE
BINDING_LABEL = b"ghcache/crypto/v1/binding\x00"
BINDING_SIZE = hashlib.sha256().digest_size

# Fernet token layout (github.com/fernet/spec, version 0x80), for structural checks only.
TOKEN_VERSION = 0x80
TOKEN_BLOCK_SIZE = 16
# version + timestamp + IV + HMAC, around a ciphertext of at least one block
TOKEN_FIXED_SIZE = 1 + 8 + 16 + 32
TOKEN_MIN_SIZE = TOKEN_FIXED_SIZE + TOKEN_BLOCK_SIZE


def make_header(key_id: bytes) -> bytes:
    return MAGIC + bytes((ENVELOPE_VERSION,)) + key_id


def binding_digest(header: bytes, associated: bytes) -> bytes:
    # The header has a fixed size, so header || associated is unambiguous.
    return hashlib.sha256(BINDING_LABEL + header + associated).digest()


def split_envelope(envelope: bytes) -> tuple[bytes, bytes, bytes]:
    """(header, key id, raw Fernet token) after checking structure only; OpenError otherwise."""
    if not isinstance(envelope, bytes | bytearray | memoryview):
        raise TypeError("an envelope must be bytes")
    envelope = bytes(envelope)
    if not envelope:
        raise OpenError("empty envelope")
    if len(envelope) < len(MAGIC) + 1 or envelope[: len(MAGIC)] != MAGIC:
        raise OpenError("not a ghcache envelope")
    version = envelope[len(MAGIC)]
    if version != ENVELOPE_VERSION:
        raise OpenError(f"unsupported envelope version {version}")
    token = envelope[HEADER_SIZE:]
    if len(envelope) < HEADER_SIZE or len(token) < TOKEN_MIN_SIZE:
        raise OpenError("truncated envelope")
    if (len(token) - TOKEN_FIXED_SIZE) % TOKEN_BLOCK_SIZE:
        raise OpenError("truncated or padded envelope")
    if token[0] != TOKEN_VERSION:
        raise OpenError("unsupported token version")
    header = envelope[:HEADER_SIZE]
    return header, header[len(MAGIC) + 1 :], token


def envelope_timestamp(envelope: bytes) -> int:
    """The Fernet timestamp (Unix seconds) of an envelope, read without a key.

    Not authenticated by itself: only trust it for an envelope that ``open`` accepted (or to
    drop an envelope early, e.g. one stamped in the future). OpenError when malformed.
    """
    _, _, token = split_envelope(envelope)
    return token_timestamp(token)


def token_timestamp(token: bytes) -> int:
    """The timestamp field of a raw Fernet token that passed ``split_envelope``."""
    return int.from_bytes(token[1:9], "big")
