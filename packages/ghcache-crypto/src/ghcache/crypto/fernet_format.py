"""Fernet tokens (github.com/fernet/spec, version 0x80), raw bytes instead of base64.

Written on cryptography's primitives rather than its ``Fernet`` class because that class only
speaks base64 text: encoding and decoding 200 KB bodies cost more than the cipher and MAC
together. The bytes are exactly the spec's token before base64 (the tests check both against the
spec's vectors and against ``cryptography.fernet.Fernet`` in both directions).

    0x80 | timestamp (8, big-endian) | IV (16) | AES-128-CBC(PKCS7(plaintext)) | HMAC-SHA256 (32)

A 32-byte Fernet key is the signing key (first 16 bytes) followed by the encryption key.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.hmac import HMAC

VERSION = 0x80
IV_SIZE = 16
MAC_SIZE = 32
BLOCK_SIZE = 16
# version + timestamp + IV + MAC, around a ciphertext of at least one block
FIXED_SIZE = 1 + 8 + IV_SIZE + MAC_SIZE
MIN_SIZE = FIXED_SIZE + BLOCK_SIZE
_CIPHERTEXT_START = 1 + 8 + IV_SIZE


class BadToken(Exception):
    """MAC mismatch or bad padding; carries no detail on purpose."""


def is_well_formed(token: bytes) -> bool:
    return (
        len(token) >= MIN_SIZE
        and (len(token) - FIXED_SIZE) % BLOCK_SIZE == 0
        and token[0] == VERSION
    )


def timestamp_of(token: bytes) -> int:
    return int.from_bytes(token[1:9], "big")


def encrypt(
    key: bytes,
    parts: tuple[bytes, ...],
    timestamp: int,
    iv: bytes | None = None,
    *,
    prefix: bytes = b"",
) -> bytes:
    """``prefix`` + the token for the concatenation of ``parts``.

    Parts and prefix are joined once at the end, so a large body is copied as little as the
    cipher allows. The prefix is outside the token and not covered by its MAC.
    """
    iv = os.urandom(IV_SIZE) if iv is None else iv
    padder = padding.PKCS7(BLOCK_SIZE * 8).padder()
    encryptor = Cipher(algorithms.AES(key[16:]), modes.CBC(iv)).encryptor()
    mac = HMAC(key[:16], hashes.SHA256())
    chunks = [prefix, bytes((VERSION,)) + timestamp.to_bytes(8, "big") + iv]
    chunks += [encryptor.update(padder.update(part)) for part in parts]
    chunks.append(encryptor.update(padder.finalize()) + encryptor.finalize())
    for chunk in chunks[1:]:
        mac.update(chunk)
    chunks.append(mac.finalize())
    return b"".join(chunks)


def decrypt(key: bytes, token: bytes) -> memoryview:
    """The plaintext of a well-formed token (a view, not a copy); BadToken on MAC or padding.

    The MAC is verified, in constant time, before anything is decrypted, so the padding check
    below only ever sees authentic data and cannot act as a padding oracle.
    """
    if not is_well_formed(token):
        raise BadToken
    view = memoryview(token)
    mac = HMAC(key[:16], hashes.SHA256())
    mac.update(view[:-MAC_SIZE])
    try:
        mac.verify(token[-MAC_SIZE:])
    except InvalidSignature:
        raise BadToken from None
    iv = token[1 + 8 : _CIPHERTEXT_START]
    decryptor = Cipher(algorithms.AES(key[16:]), modes.CBC(iv)).decryptor()
    padded = decryptor.update(view[_CIPHERTEXT_START:-MAC_SIZE])
    padded += decryptor.finalize()  # CBC over whole blocks: finalize adds nothing
    pad = padded[-1]
    if not 1 <= pad <= BLOCK_SIZE or padded[-pad:] != bytes((pad,)) * pad:
        raise BadToken
    return memoryview(padded)[:-pad]
