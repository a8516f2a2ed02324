"""Key rotation: seal with the current key, open with current or previous ones."""

from __future__ import annotations

import pytest

from ghcache.crypto import Keyring, OpenError, SealingKey, derive_key

NEW_SECRET = "new-secret-after-rotation-5d4c3b2a1"


def test_rotation_opens_previous_and_seals_with_current(
    key: SealingKey, other_key: SealingKey
) -> None:
    old_envelope = key.seal(b"old", associated=b"k1")
    keyring = Keyring(derive_key(NEW_SECRET), previous=[key])
    assert keyring.open(old_envelope, associated=b"k1") == b"old"
    fresh = keyring.seal(b"new", associated=b"k2")
    assert fresh[4:12].hex() == keyring.key_id == derive_key(NEW_SECRET).key_id
    assert derive_key(NEW_SECRET).open(fresh, associated=b"k2") == b"new"
    with pytest.raises(OpenError, match="unknown key"):
        key.open(fresh, associated=b"k2")  # peers still on the old key cannot read it
    with pytest.raises(OpenError, match="unknown key"):
        keyring.open(other_key.seal(b"x"))
    with pytest.raises(OpenError, match="associated data mismatch"):
        keyring.open(old_envelope, associated=b"k2")


def test_keyring_refuses_bit_flips(key: SealingKey) -> None:
    keyring = Keyring(derive_key(NEW_SECRET), previous=[key])
    envelope = key.seal(b"v")
    for bit in range(len(envelope) * 8):
        mutated = bytearray(envelope)
        mutated[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(OpenError):
            keyring.open(bytes(mutated))


def test_keyring_max_age(key: SealingKey) -> None:
    keyring = Keyring(key)
    old = key._seal_at(b"v", associated=b"", now=1_000_000)
    assert keyring._open_at(old, associated=b"", max_age=10, now=1_000_010) == b"v"
    with pytest.raises(OpenError, match="too old"):
        keyring.open(old, max_age=10)


def test_ids_and_duplicates(key: SealingKey, other_key: SealingKey) -> None:
    keyring = Keyring(key, previous=[other_key, key, other_key])
    assert keyring.previous == (other_key,)
    assert keyring.keys == (key, other_key)
    assert keyring.key_id == key.key_id
    assert keyring.network_id == key.network_id
    assert keyring.network_ids == (key.network_id, other_key.network_id)


def test_keyring_rejects_non_keys(key: SealingKey, team_secret: str) -> None:
    with pytest.raises(TypeError):
        Keyring(team_secret)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Keyring(key, previous=[b"\x00" * 32])  # type: ignore[list-item]


def test_from_env_order_and_previous_secrets(
    key: SealingKey, other_key: SealingKey, team_secret: str, other_secret: str
) -> None:
    env = {
        "GITHUB_TOKEN": "ghp_unused_because_gh_token_wins_000000",
        "GH_TOKEN": team_secret,
        "CACHE_PREVIOUS_SECRETS": f" {other_secret} ,, {team_secret}",
    }
    keyring = Keyring.from_env(env)
    assert keyring is not None
    assert keyring.secret_source == "GH_TOKEN"
    assert keyring.current == key
    assert keyring.previous == (other_key,)  # the current one is not repeated
    assert keyring.open(other_key.seal(b"rotated")) == b"rotated"

    env["CACHE_SHARED_SECRET"] = NEW_SECRET
    keyring = Keyring.from_env(env)
    assert keyring is not None and keyring.secret_source == "CACHE_SHARED_SECRET"
    assert keyring.current == derive_key(NEW_SECRET)
    assert set(keyring.previous) == {key, other_key}


def test_from_env_without_secret_is_none() -> None:
    assert Keyring.from_env({}) is None
    assert Keyring.from_env({"GH_TOKEN": "   ", "CACHE_PREVIOUS_SECRETS": "x"}) is None


def test_from_env_iterations(key: SealingKey, team_secret: str) -> None:
    keyring = Keyring.from_env({"GH_TOKEN": team_secret}, iterations=100_001)
    assert keyring is not None
    assert keyring.current != key
    with pytest.raises(ValueError, match="at least 100,000"):
        Keyring.from_env({"GH_TOKEN": team_secret}, iterations=99_999)


def test_keyed_names_are_per_key_and_stable(
    key: SealingKey, other_key: SealingKey, team_secret: str
) -> None:
    name = key.keyed_name(b"bafkreikey")
    assert len(name) == 32 and int(name, 16) >= 0
    # Every teammate derives the same name from the secret alone.
    assert derive_key(team_secret, iterations=100_000).keyed_name(b"bafkreikey") == name
    assert key.keyed_name(b"bafkreikez") != name
    assert other_key.keyed_name(b"bafkreikey") != name  # another team cannot find it
    assert name not in (key.network_id, key.key_id)
