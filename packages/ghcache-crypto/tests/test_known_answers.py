"""Known-answer tests: RFC 7914 PBKDF2-HMAC-SHA256 and the Fernet specification's vectors."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.hmac import HMAC

from ghcache.crypto import (
    MAGIC,
    SALT,
    OpenError,
    SealingKey,
    derive_key,
    envelope_timestamp,
)
from ghcache.crypto.envelope import HEADER_SIZE
from ghcache.crypto.kdf import _pbkdf2_sha256

ASSOCIATED = b"bafkreicachekey|bafkreibodycid"

FERNET_VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "fernet_spec_vectors.json").read_text()
)

# RFC 7914 section 11, "Test Vectors for PBKDF2 with HMAC-SHA-256".
RFC7914_PBKDF2 = [
    (
        b"passwd",
        b"salt",
        1,
        "55 ac 04 6e 56 e3 08 9f ec 16 91 c2 25 44 b6 05"
        "f9 41 85 21 6d de 04 65 e6 8b 9d 57 c2 0d ac bc"
        "49 ca 9c cc f1 79 b6 45 99 16 64 b3 9d 77 ef 31"
        "7c 71 b8 45 b1 e3 0b d5 09 11 20 41 d3 a1 97 83",
    ),
    (
        b"Password",
        b"NaCl",
        80000,
        "4d dc d8 f6 0b 98 be 21 83 0c ee 5e f2 27 01 f9"
        "64 1a 44 18 d0 4c 04 14 ae ff 08 87 6b 34 ab 56"
        "a1 d4 25 a1 22 58 33 54 9a db 84 1b 51 c9 b3 17"
        "6a 27 2b de bb a1 d0 78 47 8f 62 b3 97 f3 3c 8d",
    ),
]


def unix(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp())


@pytest.mark.parametrize(("password", "salt", "iterations", "expected"), RFC7914_PBKDF2)
def test_pbkdf2_hmac_sha256_matches_rfc7914(
    password: bytes, salt: bytes, iterations: int, expected: str
) -> None:
    assert _pbkdf2_sha256(password, salt, iterations, 64) == bytes.fromhex(expected)


def test_derive_key_is_pbkdf2_with_the_versioned_salt_as_a_fernet_key() -> None:
    secret = "a-secret-for-the-interop-check-0123456789"
    raw = _pbkdf2_sha256(secret.encode(), b"ghcache/crypto/v1/salt", 100_000, 32)
    assert SALT == b"ghcache/crypto/v1/salt"
    envelope = derive_key(secret).seal(b"payload")
    # The token part is a standard Fernet token for urlsafe_b64(raw): anyone can interoperate.
    inner = Fernet(base64.urlsafe_b64encode(raw)).decrypt(base64.urlsafe_b64encode(envelope[12:]))
    assert inner[32:] == b"payload"


def test_key_id_and_network_id_are_pinned() -> None:
    # Regression vector: silently changing the salt, labels or KDF would split every network.
    key = derive_key("ghcache known-answer secret")
    raw = _pbkdf2_sha256(b"ghcache known-answer secret", SALT, 100_000, 32)
    key_id = hmac.new(raw, b"ghcache/crypto/v1/key-id", hashlib.sha256).hexdigest()[:16]
    network_id = hmac.new(raw, b"ghcache/crypto/v1/network-id", hashlib.sha256).hexdigest()[:32]
    assert key.key_id == key_id == "7a506c0093c06b6f"
    assert key.network_id == network_id == "d06759a45d1c99bac329858ed6a30dbe"


def _spec_generate(secret: str, now: int, iv: bytes, src: bytes) -> bytes:
    """Fernet token generation written from the spec with raw primitives (the test's reference)."""
    key = base64.urlsafe_b64decode(secret)
    signing_key, encryption_key = key[:16], key[16:]
    padder = padding.PKCS7(128).padder()
    padded = padder.update(src) + padder.finalize()
    encryptor = Cipher(algorithms.AES(encryption_key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    basic = b"\x80" + now.to_bytes(8, "big") + iv + ciphertext
    mac = HMAC(signing_key, hashes.SHA256())
    mac.update(basic)
    return base64.urlsafe_b64encode(basic + mac.finalize())


def _binding(header: bytes, associated: bytes) -> bytes:
    """The binding digest as docs/crypto.md specifies it, written out independently."""
    return hashlib.sha256(b"ghcache/crypto/v1/binding\x00" + header + associated).digest()


def _spec_envelope(secret: str, now: int, iv: bytes, message: bytes, associated: bytes) -> bytes:
    """An envelope built from the written specifications alone, with no ghcache code."""
    key = SealingKey(base64.urlsafe_b64decode(secret))
    header = MAGIC + b"\x01" + key.key_id_bytes
    token = _spec_generate(secret, now, iv, _binding(header, associated) + message)
    return header + base64.urlsafe_b64decode(token)


@pytest.mark.parametrize("vector", FERNET_VECTORS["generate"])
def test_fernet_spec_generate(vector: dict[str, Any]) -> None:
    now, iv, src = unix(vector["now"]), bytes(vector["iv"]), vector["src"].encode()
    # The reference is right, and the Fernet class reads the spec's token.
    assert _spec_generate(vector["secret"], now, iv, src) == vector["token"].encode()
    fernet = Fernet(vector["secret"])
    assert fernet.extract_timestamp(vector["token"]) == now
    assert fernet.decrypt_at_time(vector["token"], ttl=60, current_time=now) == src
    # Sealing with the spec's key at the spec's time gives, byte for byte, the spec's
    # generation for whatever IV the seal drew (Fernet draws a random IV; it cannot be injected).
    key = SealingKey(base64.urlsafe_b64decode(vector["secret"]))
    envelope = key._seal_at(src, associated=ASSOCIATED, now=now)
    drawn_iv = envelope[HEADER_SIZE + 9 : HEADER_SIZE + 25]
    expected = _spec_envelope(vector["secret"], now, drawn_iv, src, ASSOCIATED)
    assert envelope == expected


@pytest.mark.parametrize("vector", FERNET_VECTORS["verify"])
def test_fernet_spec_verify(vector: dict[str, Any]) -> None:
    now, ttl, src = unix(vector["now"]), vector["ttl_sec"], vector["src"].encode()
    raw_token = base64.urlsafe_b64decode(vector["token"])
    stamped, iv = int.from_bytes(raw_token[1:9], "big"), raw_token[9:25]
    assert stamped == now - 1
    # Directly against the Fernet class.
    assert (
        Fernet(vector["secret"]).decrypt_at_time(vector["token"], ttl=ttl, current_time=now) == src
    )
    # Through the envelope path: the same key, stamp, IV and clock, the plaintext carrying the
    # binding as ghcache's format requires.
    key = SealingKey(base64.urlsafe_b64decode(vector["secret"]))
    envelope = _spec_envelope(vector["secret"], stamped, iv, src, ASSOCIATED)
    assert key._open_at(envelope, associated=ASSOCIATED, max_age=ttl, now=now) == src
    assert key._open_at(envelope, associated=ASSOCIATED, max_age=ttl, now=stamped + ttl) == src
    with pytest.raises(OpenError, match="too old"):
        key._open_at(envelope, associated=ASSOCIATED, max_age=ttl, now=stamped + ttl + 1)
    # The spec's bare token passes Fernet's checks inside an envelope, but it carries no
    # binding, so it is refused: a plain Fernet token is never mistaken for an envelope.
    bare = MAGIC + b"\x01" + key.key_id_bytes + raw_token
    with pytest.raises(OpenError) as caught:
        key._open_at(bare, associated=b"", max_age=ttl, now=now)
    assert caught.value.reason == "associated data mismatch"


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 1000])
def test_envelope_tokens_interoperate_with_the_fernet_class(size: int) -> None:
    raw_key = bytes(range(32))
    fernet = Fernet(base64.urlsafe_b64encode(raw_key))
    key = SealingKey(raw_key)
    message = (bytes(range(256)) * 4)[:size]
    envelope = key.seal(message, associated=ASSOCIATED)
    header = envelope[:HEADER_SIZE]
    assert fernet.decrypt(base64.urlsafe_b64encode(envelope[HEADER_SIZE:])) == (
        _binding(header, ASSOCIATED) + message
    )
    theirs = fernet.encrypt(_binding(header, ASSOCIATED) + message)
    assert key.open(header + base64.urlsafe_b64decode(theirs), associated=ASSOCIATED) == message


@pytest.mark.parametrize(
    "last_block",
    [b"A" * 16, b"A" * 15 + b"\x00", b"A" * 15 + b"\x11", b"A" * 14 + b"\x01\x02"],
)
def test_correctly_maced_bad_padding_is_refused(last_block: bytes) -> None:
    # The spec's "payload padding error": authentic bytes whose PKCS7 padding is wrong.
    raw_key = bytes(range(32))
    key = SealingKey(raw_key)
    encryptor = Cipher(algorithms.AES(raw_key[16:]), modes.CBC(bytes(16))).encryptor()
    body = b"\x80" + bytes(8) + bytes(16) + encryptor.update(last_block) + encryptor.finalize()
    mac = HMAC(raw_key[:16], hashes.SHA256())
    mac.update(body)
    envelope = MAGIC + b"\x01" + key.key_id_bytes + body + mac.finalize()
    with pytest.raises(OpenError) as caught:
        key.open(envelope)
    assert caught.value.reason == "authentication failed"


# cryptography's Fernet decodes base64 leniently (it drops characters outside the alphabet and
# ignores what follows the padding), so it accepts these two spec "invalid" tokens: both are the
# spec's valid token written as odd text. ghcache envelopes carry the token as raw bytes, and
# opening base64-encodes those bytes itself, canonically, before Fernet sees them, so odd text
# can never reach Fernet from an envelope (see the tests below).
LENIENT_BASE64 = {"trailing characters after b64 padding", "invalid characters in b64"}
# No decoder turns this one into bytes at all, so it has no envelope form.
NOT_BASE64 = "invalid base64"


@pytest.mark.parametrize(
    "vector",
    [v for v in FERNET_VECTORS["invalid"] if v["desc"] not in LENIENT_BASE64],
    ids=lambda v: v["desc"],
)
def test_fernet_spec_invalid_refused_by_the_library(vector: dict[str, Any]) -> None:
    fernet = Fernet(vector["secret"])
    with pytest.raises(InvalidToken):
        fernet.decrypt_at_time(
            vector["token"], ttl=vector["ttl_sec"], current_time=unix(vector["now"])
        )


def strict_b64decode(text: str) -> bytes:
    return base64.b64decode(text.encode(), altchars=b"-_", validate=True)


@pytest.mark.parametrize(
    "vector",
    [v for v in FERNET_VECTORS["invalid"] if v["desc"] != NOT_BASE64],
    ids=lambda v: v["desc"],
)
def test_fernet_spec_invalid_refused_as_envelopes(vector: dict[str, Any]) -> None:
    # The bytes Fernet itself would act on (its own lenient decoding), wrapped in an envelope.
    # For the two text-level vectors those bytes are the spec's valid token for a bare "hello":
    # inside an envelope it is refused for lacking the binding, as any foreign token is.
    raw_token = base64.urlsafe_b64decode(vector["token"])
    key = SealingKey(base64.urlsafe_b64decode(vector["secret"]))
    envelope = MAGIC + b"\x01" + key.key_id_bytes + raw_token
    with pytest.raises(OpenError):
        key._open_at(envelope, associated=b"", max_age=vector["ttl_sec"], now=unix(vector["now"]))


def test_not_base64_vector_has_no_bytes() -> None:
    (vector,) = [v for v in FERNET_VECTORS["invalid"] if v["desc"] == NOT_BASE64]
    with pytest.raises(binascii.Error):
        base64.urlsafe_b64decode(vector["token"])


def test_lenient_vectors_cannot_be_reached_from_an_envelope() -> None:
    valid_text = FERNET_VECTORS["generate"][0]["token"]
    for vector in FERNET_VECTORS["invalid"]:
        if vector["desc"] not in LENIENT_BASE64:
            continue
        raw_token = base64.urlsafe_b64decode(vector["token"])
        # What an envelope holding these bytes hands Fernet is the canonical, valid text,
        # never the odd text the spec calls invalid.
        assert base64.urlsafe_b64encode(raw_token).decode() == valid_text != vector["token"]


def test_strict_decoding_refuses_exactly_the_text_level_vectors() -> None:
    refused = set()
    for vector in FERNET_VECTORS["invalid"]:
        try:
            strict_b64decode(vector["token"])
        except ValueError:
            refused.add(vector["desc"])
    assert refused == LENIENT_BASE64 | {NOT_BASE64}


def test_envelope_timestamp_reads_the_fernet_timestamp_of_the_spec_token() -> None:
    vector = FERNET_VECTORS["generate"][0]
    raw_token = base64.urlsafe_b64decode(vector["token"])
    envelope = MAGIC + b"\x01" + bytes(8) + raw_token
    assert envelope_timestamp(envelope) == unix(vector["now"]) == 499162800
