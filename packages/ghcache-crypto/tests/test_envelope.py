"""Sealing and opening: round trips, layout, and every way an envelope must be refused."""

from __future__ import annotations

import time

import pytest

from ghcache.crypto import (
    ENVELOPE_VERSION,
    MAGIC,
    OpenError,
    SealingKey,
    envelope_timestamp,
)

ASSOCIATED = b"bafkreicachekey|bafkreibodycid"


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 2048, 200_000])
def test_round_trip(key: SealingKey, size: int) -> None:
    plaintext = bytes(range(256)) * (size // 256) + bytes(size % 256)
    envelope = key.seal(plaintext, associated=ASSOCIATED)
    assert key.open(envelope, associated=ASSOCIATED) == plaintext
    assert plaintext not in envelope or size < 16


def test_bytes_like_inputs_are_accepted(key: SealingKey) -> None:
    envelope = key.seal(bytearray(b"body"), associated=memoryview(b"ad"))
    assert key.open(memoryview(envelope), associated=bytearray(b"ad")) == b"body"


def test_str_plaintext_is_a_type_error(key: SealingKey) -> None:
    with pytest.raises(TypeError):
        key.seal("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        key.open("text")  # type: ignore[arg-type]


def test_each_seal_is_fresh(key: SealingKey) -> None:
    assert key.seal(b"same") != key.seal(b"same")  # random IV per envelope


def test_layout_header_then_raw_fernet_token(key: SealingKey) -> None:
    before = int(time.time())
    envelope = key.seal(b"x" * 20)
    assert envelope[:3] == MAGIC == b"GHC"
    assert envelope[3] == ENVELOPE_VERSION == 1
    assert envelope[4:12] == bytes.fromhex(key.key_id)
    token = envelope[12:]
    assert token[0] == 0x80
    assert before <= int.from_bytes(token[1:9], "big") <= int(time.time())
    # binding digest (32) + message (20) = 52 bytes, padded to 64; plus 57 fixed Fernet bytes.
    assert len(token) == 1 + 8 + 16 + 64 + 32
    assert before <= envelope_timestamp(envelope) <= int(time.time())


def test_every_single_bit_flip_is_refused(key: SealingKey) -> None:
    envelope = key.seal(b"small", associated=ASSOCIATED)
    reasons = set()
    for bit in range(len(envelope) * 8):
        mutated = bytearray(envelope)
        mutated[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(OpenError) as caught:
            key.open(bytes(mutated), associated=ASSOCIATED)
        reasons.add(caught.value.reason)
    assert key.open(envelope, associated=ASSOCIATED) == b"small"
    assert "authentication failed" in reasons
    assert "sealed with an unknown key" in reasons
    assert "not a ghcache envelope" in reasons


def test_wrong_key_is_refused(key: SealingKey, other_key: SealingKey) -> None:
    envelope = key.seal(b"body")
    with pytest.raises(OpenError, match="unknown key"):
        other_key.open(envelope)


def test_wrong_key_with_a_forged_key_id_is_refused(key: SealingKey, other_key: SealingKey) -> None:
    # An attacker can copy any key id into the header; the Fernet MAC still fails.
    forged = envelope_with_key_id(other_key.seal(b"body"), key)
    with pytest.raises(OpenError, match="authentication failed"):
        key.open(forged)


def envelope_with_key_id(envelope: bytes, key: SealingKey) -> bytes:
    return envelope[:4] + key.key_id_bytes + envelope[12:]


@pytest.mark.parametrize("wrong", [b"", b"bafkreicachekey|bafkreibodycie", ASSOCIATED + b"x"])
def test_wrong_associated_data_is_refused(key: SealingKey, wrong: bytes) -> None:
    envelope = key.seal(b"body", associated=ASSOCIATED)
    with pytest.raises(OpenError) as caught:
        key.open(envelope, associated=wrong)
    assert caught.value.reason == "associated data mismatch"


def test_missing_associated_data_on_open_is_refused(key: SealingKey) -> None:
    envelope = key.seal(b"body")
    assert key.open(envelope) == b"body"
    with pytest.raises(OpenError, match="associated data mismatch"):
        key.open(envelope, associated=b"k")


def test_every_truncation_is_refused(key: SealingKey) -> None:
    envelope = key.seal(b"some body", associated=ASSOCIATED)
    for length in range(len(envelope)):
        with pytest.raises(OpenError):
            key.open(envelope[:length], associated=ASSOCIATED)


@pytest.mark.parametrize("extra", [b"\x00", b"A" * 16, b"B" * 32])
def test_appended_bytes_are_refused(key: SealingKey, extra: bytes) -> None:
    with pytest.raises(OpenError):
        key.open(key.seal(b"body") + extra)


def test_empty_input_is_refused(key: SealingKey) -> None:
    with pytest.raises(OpenError, match="empty envelope"):
        key.open(b"")


@pytest.mark.parametrize("junk", [b"G", b"GH", b"GHC", b'{"json": true}', b"\x00" * 200])
def test_junk_is_refused(key: SealingKey, junk: bytes) -> None:
    with pytest.raises(OpenError):
        key.open(junk)


@pytest.mark.parametrize("version", [0, 2, 255])
def test_other_versions_are_refused(key: SealingKey, version: int) -> None:
    envelope = bytearray(key.seal(b"body"))
    envelope[3] = version
    with pytest.raises(OpenError) as caught:
        key.open(bytes(envelope))
    assert caught.value.reason == f"unsupported envelope version {version}"


def test_max_age_refuses_old_envelopes(key: SealingKey) -> None:
    now = int(time.time())
    old = key._seal_at(b"body", associated=b"", now=now - 3600)
    assert key.open(old) == b"body"  # no max_age: age does not matter
    assert key.open(old, max_age=3601) == b"body"
    with pytest.raises(OpenError) as caught:
        key.open(old, max_age=3500)
    assert caught.value.reason == "envelope too old"
    assert key.open(key.seal(b"new"), max_age=60) == b"new"


def test_max_age_with_injected_clock_matches_fernet_ttl(key: SealingKey) -> None:
    envelope = key._seal_at(b"body", associated=b"", now=1_000_000)
    opened = key._open_at(envelope, associated=b"", max_age=60, now=1_000_060)
    assert opened == b"body"
    with pytest.raises(OpenError, match="too old"):
        key._open_at(envelope, associated=b"", max_age=60, now=1_000_061)


def test_max_age_refuses_envelopes_from_the_future(key: SealingKey) -> None:
    future = key._seal_at(b"body", associated=b"", now=int(time.time()) + 3600)
    with pytest.raises(OpenError, match="future"):
        key.open(future, max_age=86400)
    # Without max_age the caller checks the stamp itself.
    assert envelope_timestamp(future) > time.time() + 3000


def test_negative_max_age_is_a_value_error(key: SealingKey) -> None:
    with pytest.raises(ValueError):
        key.open(key.seal(b"x"), max_age=-1)


def test_envelope_timestamp_refuses_malformed(key: SealingKey) -> None:
    envelope = key._seal_at(b"body", associated=b"", now=1_234_567_890)
    assert envelope_timestamp(envelope) == 1_234_567_890
    for bad in (b"", b"nope", envelope[:40], envelope[:-1], b"GHC\x02" + envelope[4:]):
        with pytest.raises(OpenError):
            envelope_timestamp(bad)


def test_open_error_is_one_line_with_a_reason() -> None:
    error = OpenError("envelope too old")
    assert error.reason == "envelope too old"
    assert str(error) == "cannot open sealed envelope: envelope too old"
    assert "\n" not in str(error)


def test_sealing_key_needs_exactly_32_bytes() -> None:
    with pytest.raises(ValueError):
        SealingKey(b"short")
    assert SealingKey(bytes(32)).key_id == SealingKey(bytes(32)).key_id
    assert SealingKey(bytes(32)) != SealingKey(bytes(31) + b"\x01")
