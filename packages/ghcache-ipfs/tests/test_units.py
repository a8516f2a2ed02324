"""The rules without I/O: which endpoint is used, what a record or block must be to be kept."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ghcache.core.config import ConfigError, Settings
from ghcache.core.entry import Entry
from ghcache.crypto import Keyring, derive_key
from ghcache.ipfs import records
from ghcache.ipfs.records import Unreadable
from ghcache.ipfs.settings import IPFSSettings, endpoint_url

SECRET = "team-secret-for-ipfs-unit-tests-000111"


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("/ip4/127.0.0.1/tcp/5001", "http://127.0.0.1:5001"),
        ("/ip4/0.0.0.0/tcp/5001", "http://127.0.0.1:5001"),
        ("/ip6/::1/tcp/5001", "http://[::1]:5001"),
        ("/ip4/10.0.0.5/tcp/5001/https", "https://10.0.0.5:5001"),
        ("/dns/ipfs.internal/tcp/5001/http", "http://ipfs.internal:5001"),
        ("http://127.0.0.1:5001/", "http://127.0.0.1:5001"),
    ],
)
def test_endpoint_forms(given: str, url: str) -> None:
    assert endpoint_url(given) == url


@pytest.mark.parametrize(
    "given",
    [
        "127.0.0.1:5001",
        "/ip4/127.0.0.1/udp/5001",
        "/ip4/nohost/tcp/5001",
        "/ip4/::1/tcp/1",
        "/ip4/127.0.0.1/tcp/99999",
        "http://127.0.0.1",
        "http://127.0.0.1:5001/api/v0",
        "/ip4/127.0.0.1/tcp/5001/ws",
    ],
)
def test_bad_endpoints_name_the_variable(given: str) -> None:
    with pytest.raises(ConfigError, match=r"^CACHE_IPFS_API: "):
        endpoint_url(given)


def settings(tmp_path: Path, **env: str) -> IPFSSettings:
    base = {"HOME": str(tmp_path), "CACHE_DIR": str(tmp_path / "cache")}
    return IPFSSettings.from_settings(Settings.from_env({**base, **env}))


def test_kubo_api_file_is_used_only_when_it_names_loopback(tmp_path: Path) -> None:
    api = tmp_path / ".ipfs" / "api"
    assert settings(tmp_path).endpoint()[0] is None
    api.parent.mkdir()
    api.write_text("/ip4/127.0.0.1/tcp/5001\n")
    endpoint, _ = settings(tmp_path).endpoint()
    assert endpoint is not None and endpoint.url == "http://127.0.0.1:5001"
    assert not endpoint.explicit
    # The RPC is an admin API: a remote address from the file is never used by default...
    api.write_text("/ip4/192.0.2.7/tcp/5001")
    endpoint, why = settings(tmp_path).endpoint()
    assert endpoint is None and "not a loopback address" in why
    # ...only when named explicitly.
    endpoint, _ = settings(tmp_path, CACHE_IPFS_API="/ip4/192.0.2.7/tcp/5001").endpoint()
    assert endpoint is not None and endpoint.explicit and endpoint.url == "http://192.0.2.7:5001"
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "api").write_text("/ip4/127.0.0.1/tcp/5002")
    endpoint, _ = settings(tmp_path, IPFS_PATH=str(other)).endpoint()
    assert endpoint is not None and endpoint.url == "http://127.0.0.1:5002"
    assert settings(tmp_path, CACHE_ENABLE_IPFS="false").endpoint() == (
        None,
        "CACHE_ENABLE_IPFS is false",
    )


def test_bad_settings_raise(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CACHE_ENABLE_IPFS"):
        settings(tmp_path, CACHE_ENABLE_IPFS="maybe")
    with pytest.raises(ConfigError, match="CACHE_IPFS_TIMEOUT_MS"):
        settings(tmp_path, CACHE_IPFS_TIMEOUT_MS="0")


def entry(**changes: object) -> Entry:
    body = b'{"full_name":"octo/hello"}'
    from ghcache.core.cid import cid_for_bytes

    fields: dict[str, object] = {
        "key": cid_for_bytes(b"request"),
        "scope": "shared",
        "method": "GET",
        "url": "https://api.github.com/repos/octo/hello",
        "stored_at": time.time() - 100,
        "ttl": 300.0,
        "status": 200,
        "headers": [("Content-Type", "application/json")],
        "body": body,
        "access": {"someone": time.time()},
    }
    fields.update(changes)
    return Entry(**fields)  # type: ignore[arg-type]


def test_a_block_opens_into_the_entry_without_who_saw_it() -> None:
    keyring = Keyring(derive_key(SECRET))
    original = entry()
    block = records.seal_block(keyring, original)
    record = records.make_record(original, block)
    opened = records.open_block(keyring, record, block, now=time.time())
    assert opened.body == original.body and opened.key == original.key
    assert opened.access == {}  # every caller here confirms it under their own token
    with pytest.raises(Unreadable, match="hash"):
        records.open_block(keyring, record, block + b"x", now=time.time())
    with pytest.raises(Unreadable, match="open"):
        records.open_block(Keyring(derive_key(SECRET + "x")), record, block, now=time.time())


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"scope": "identity:abc"}, "identity-scoped"),
        ({"status": 404}, "not a success"),
        ({"stored_at": time.time() + 3600}, "future"),
    ],
)
def test_blocks_a_teammate_could_not_share_are_refused(
    changes: dict[str, object], reason: str
) -> None:
    keyring = Keyring(derive_key(SECRET))
    bad = entry(**changes)
    block = records.seal_block(keyring, bad)
    with pytest.raises(Unreadable, match=reason):
        records.open_block(keyring, records.make_record(bad, block), block, now=time.time())


def test_a_record_opens_only_in_its_own_slot() -> None:
    key = derive_key(SECRET)
    keyring = Keyring(key)
    first, second = entry(), entry(key=entry().body_cid)
    record = records.make_record(first, records.seal_block(keyring, first))
    sealed = records.seal_record(key, record)
    name = records.record_name(key, first.key)
    assert records.open_record(keyring, key, name, sealed) == record
    # Copied under another key's name (to serve the wrong answer), it does not open.
    with pytest.raises(Unreadable):
        records.open_record(keyring, key, records.record_name(key, second.key), sealed)
    assert records.record_path(key, first.key).startswith(f"/ghcache/{key.network_id}/index/")
    assert first.key not in records.record_path(key, first.key)  # names hide the request


def test_pin_names_round_trip() -> None:
    record = records.Record("k", "b", "c", stored_at=1000.5, ttl=300.0, size=42)
    info = records.parse_pin_name(records.pin_name("abc", record))
    assert info == records.PinInfo("abc", 1000, 1301, 42)
    assert records.parse_pin_name("someone-elses-pin") is None
    assert records.parse_pin_name("ghcache/abc/x/1/2") is None
