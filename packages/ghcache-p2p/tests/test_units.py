"""The sans-IO parts: wire formats, acceptance rules, rate limits, peer book, settings, plugin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from p2p_helpers import SECRET, make_entry

from ghcache.core.config import ConfigError
from ghcache.crypto import Keyring, OpenError
from ghcache.p2p import codec, plugin
from ghcache.p2p.accept import Refused, check_envelope_time, is_duplicate, verify_entry
from ghcache.p2p.client import DaemonClient, DaemonUnavailable
from ghcache.p2p.counters import P2PCounters
from ghcache.p2p.identity import IdentityError, load_or_create_seed
from ghcache.p2p.ipc import FrameError, decode_payload, encode_message, frame_length
from ghcache.p2p.peers import DialTarget, PeerBook, split_p2p_addr
from ghcache.p2p.ratelimit import PeerRateLimiter
from ghcache.p2p.settings import P2PSettings

KEYRING = Keyring.from_env({"CACHE_SHARED_SECRET": SECRET})
OTHER = Keyring.from_env({"CACHE_SHARED_SECRET": "another-secret-entirely-42"})
assert KEYRING is not None and OTHER is not None
TOPIC = codec.topic_for(KEYRING.network_id)


def announcement(entry_bytes: bytes, key: str, cid: str, stored_at: float) -> codec.Announcement:
    sealed = codec.seal_entry(KEYRING, entry_bytes, key=key, cid=cid)
    return codec.Announcement(key, cid, stored_at, 300, len(entry_bytes), sealed)


def test_batch_round_trip_with_inline_and_metadata_only_items() -> None:
    first, second = make_entry("a"), make_entry("b")
    items = [
        announcement(first.to_bytes(), first.key, first.body_cid, first.stored_at),
        codec.Announcement(second.key, second.body_cid, second.stored_at, 60, 1234),
    ]
    data = codec.encode_batch(KEYRING, TOPIC, items)
    assert first.body not in data  # sealed, not readable on the wire
    decoded = codec.decode_items(codec.open_batch(KEYRING, TOPIC, data))
    assert decoded == items
    raw = codec.open_entry(KEYRING, decoded[0].sealed_entry, key=first.key, cid=first.body_cid)
    assert raw == first.to_bytes()


def test_batch_cannot_be_opened_with_another_key_or_topic() -> None:
    entry = make_entry()
    data = codec.encode_batch(
        KEYRING, TOPIC, [codec.Announcement(entry.key, entry.body_cid, 1, 1, 1)]
    )
    with pytest.raises(OpenError):
        codec.open_batch(OTHER, TOPIC, data)
    with pytest.raises(OpenError):
        codec.open_batch(KEYRING, TOPIC + "x", data)


def test_sealed_entry_is_bound_to_its_key_and_cid() -> None:
    entry = make_entry()
    sealed = codec.seal_entry(KEYRING, entry.to_bytes(), key=entry.key, cid=entry.body_cid)
    with pytest.raises(OpenError):
        codec.open_entry(KEYRING, sealed, key="another-key", cid=entry.body_cid)
    with pytest.raises(OpenError):
        codec.open_entry(KEYRING, sealed, key=entry.key, cid="bafkreiother")


@pytest.mark.parametrize(
    "plain",
    [
        b"\x00\x00",
        b"\x00\x00\x00\x05abc",
        b"\x00\x00\x00\x02{}\x00\x00\x00\x00",
        b"\x00\x00\x00\x01[",
    ],
)
def test_malformed_batches_raise_malformed(plain: bytes) -> None:
    with pytest.raises(codec.MalformedMessage):
        codec.decode_items(plain)


def test_fetch_request_and_response_round_trip() -> None:
    request = codec.encode_fetch_request(KEYRING, "some-key")
    assert codec.decode_fetch_request(KEYRING, request) == "some-key"
    with pytest.raises(OpenError):
        codec.decode_fetch_request(OTHER, request)
    assert codec.decode_fetch_response(codec.NOT_FOUND) is None
    cid = make_entry().body_cid
    assert codec.decode_fetch_response(codec.encode_fetch_found(cid, b"sealed")) == (cid, b"sealed")
    with pytest.raises(codec.MalformedMessage):
        codec.decode_fetch_response(b"\x07junk")


def test_peer_exchange_round_trip_and_limits() -> None:
    request = codec.encode_peers_request(KEYRING)
    codec.check_peers_request(KEYRING, request)
    with pytest.raises(OpenError):
        codec.check_peers_request(OTHER, request)
    peers = [(f"12D3Koo{i}", [f"/ip4/127.0.0.1/tcp/{i}"] * 20) for i in range(100)]
    decoded = codec.decode_peers_response(KEYRING, codec.encode_peers_response(KEYRING, peers))
    assert len(decoded) == codec.MAX_EXCHANGED_PEERS
    assert decoded[0] == ("12D3Koo0", ["/ip4/127.0.0.1/tcp/0"] * codec.MAX_EXCHANGED_ADDRS)
    with pytest.raises(OpenError):
        codec.decode_peers_response(OTHER, codec.encode_peers_response(KEYRING, peers))
    bogus = KEYRING.seal(b'[{"peer_id": 5}]', associated=codec.PEERS_RESPONSE_AD)
    with pytest.raises(codec.MalformedMessage):
        codec.decode_peers_response(KEYRING, bogus)


def test_verify_entry_accepts_a_good_shared_entry() -> None:
    entry = make_entry()
    got = verify_entry(
        entry.to_bytes(),
        key=entry.key,
        cid=entry.body_cid,
        now=time.time(),
        clock_skew=60,
        max_entry_bytes=1 << 20,
    )
    assert got.body == entry.body and got.data == entry.data


def refusal(raw: bytes, key: str, cid: str, *, now: float | None = None, cap: int = 1 << 20) -> str:
    with pytest.raises(Refused) as info:
        verify_entry(
            raw, key=key, cid=cid, now=now or time.time(), clock_skew=60, max_entry_bytes=cap
        )
    return info.value.reason


def test_verify_entry_refusals() -> None:
    entry = make_entry()
    raw = entry.to_bytes()
    assert refusal(raw, entry.key, entry.body_cid, cap=10) == "oversize"
    assert refusal(raw, "other-key", entry.body_cid) == "key_mismatch"
    assert refusal(raw, entry.key, "bafkreiother") == "cid_mismatch"
    forged = entry.to_dict()
    forged["body"] = "{}"
    assert refusal(json.dumps(forged).encode(), entry.key, entry.body_cid) == "cid_mismatch"
    assert refusal(b"not json", entry.key, entry.body_cid) == "malformed"
    private = make_entry(scope="token:abc")
    assert refusal(private.to_bytes(), private.key, private.body_cid) == "not_shared"
    ahead = make_entry(stored_at=time.time() + 120)
    assert refusal(ahead.to_bytes(), ahead.key, ahead.body_cid) == "future"
    # Within the allowed skew is fine (clocks differ a little).
    close = make_entry(stored_at=time.time() + 30)
    verify_entry(
        close.to_bytes(),
        key=close.key,
        cid=close.body_cid,
        now=time.time(),
        clock_skew=60,
        max_entry_bytes=1 << 20,
    )


def test_envelope_time_window() -> None:
    now = 1_000_000.0
    check_envelope_time(now - 599, now=now, clock_skew=60)
    check_envelope_time(now + 59, now=now, clock_skew=60)
    for stamp, reason in ((now + 61, "future"), (now - 601, "expired")):
        with pytest.raises(Refused) as info:
            check_envelope_time(stamp, now=now, clock_skew=60)
        assert info.value.reason == reason


def test_only_newer_entries_replace_what_we_hold() -> None:
    held = make_entry(stored_at=1000.0)
    assert is_duplicate(2000.0, "bafkreix", None) is False
    assert is_duplicate(1001.0, "bafkreix", held) is False
    assert is_duplicate(1000.0, held.body_cid, held) is True
    for stored_at, cid in ((1000.0, "bafkreidifferent"), (999.0, held.body_cid)):
        with pytest.raises(Refused) as info:
            is_duplicate(stored_at, cid, held)
        assert info.value.reason == "not_newer"


def test_rate_limiter_allows_bursts_then_the_rate() -> None:
    clock = [0.0]
    limiter = PeerRateLimiter(10, 20, clock=lambda: clock[0])
    assert sum(limiter.allow("p") for _ in range(50)) == 20
    assert limiter.allow("q")  # other peers are not affected
    clock[0] += 1.0
    assert sum(limiter.allow("p") for _ in range(50)) == 10


def test_ipc_frames_round_trip_and_refuse_garbage() -> None:
    message = encode_message({"op": "lookup", "key": "k"}, b"\x00raw")
    length = frame_length(message[:4])
    assert decode_payload(message[4 : 4 + length]) == ({"op": "lookup", "key": "k"}, b"\x00raw")
    with pytest.raises(FrameError):
        frame_length(b"\xff\xff\xff\xff")
    with pytest.raises(FrameError):
        decode_payload(b"\x00\x00\x00\x09[]")
    with pytest.raises(FrameError):
        decode_payload(b"\x00\x00\x00\x02[]")


def test_identity_seed_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    seed = load_or_create_seed(tmp_path)
    assert len(seed) == 32
    assert (tmp_path / "p2p_identity.key").stat().st_mode & 0o777 == 0o600
    assert load_or_create_seed(tmp_path) == seed
    (tmp_path / "p2p_identity.key").write_bytes(b"short")
    with pytest.raises(IdentityError):
        load_or_create_seed(tmp_path)


def test_peer_book_never_remembers_wildcard_addresses(tmp_path: Path) -> None:
    book = PeerBook(tmp_path / "peers.json")
    wildcard = ["/ip4/0.0.0.0/tcp/1", "/ip6/::/tcp/1"]
    assert not book.remember("12D3KooW", wildcard, time.time())
    assert book.remember("12D3KooA", [*wildcard, "/ip4/127.0.0.1/tcp/1"], time.time())
    assert book.addrs("12D3KooA") == ["/ip4/127.0.0.1/tcp/1"]
    (tmp_path / "peers.json").write_text(
        json.dumps(
            {"12D3KooB": {"addrs": [*wildcard, "/ip4/127.0.0.2/tcp/3"], "last_seen": time.time()}}
        )
    )
    assert PeerBook.load(tmp_path / "peers.json").addrs("12D3KooB") == ["/ip4/127.0.0.2/tcp/3"]


def test_peer_book_remembers_and_forgets(tmp_path: Path) -> None:
    book = PeerBook(tmp_path / "peers.json")
    assert book.remember("12D3KooA", ["/ip4/127.0.0.1/tcp/1"], time.time())
    assert not book.remember("12D3KooA", ["/ip4/127.0.0.1/tcp/1"], time.time())
    book.peers["12D3KooOld"] = {"addrs": ["/ip4/127.0.0.1/tcp/2"], "last_seen": 0}
    book.save()
    again = PeerBook.load(tmp_path / "peers.json")
    assert list(again.peers) == ["12D3KooA"]  # a week unseen is forgotten
    (tmp_path / "peers.json").write_text("garbage")
    assert PeerBook.load(tmp_path / "peers.json").peers == {}


def test_dial_backoff_doubles_and_resets() -> None:
    target = DialTarget("p", ["/ip4/127.0.0.1/tcp/1"], "bootstrap")
    delays = []
    for _ in range(10):
        target.failed(0.0)
        delays.append(target.next_attempt)
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0] and max(delays) == 60.0
    target.succeeded()
    assert target.due(0.0)


def test_split_p2p_addr() -> None:
    assert split_p2p_addr("/ip4/1.2.3.4/tcp/9100/p2p/12D3KooX") == (
        "/ip4/1.2.3.4/tcp/9100",
        "12D3KooX",
    )
    for bad in ("/ip4/1.2.3.4/tcp/9100", "/p2p/12D3KooX"):
        with pytest.raises(ValueError):
            split_p2p_addr(bad)


def test_counters_persist_across_loads(tmp_path: Path) -> None:
    counters = P2PCounters.load(tmp_path / "p2p_stats.json")
    counters.add("fetches_served", 3)
    counters.refuse("bad_envelope")
    counters.save()
    again = P2PCounters.load(tmp_path / "p2p_stats.json")
    assert again.counts["fetches_served"] == 3 and again.refused["bad_envelope"] == 1


def test_settings_defaults_and_errors() -> None:
    settings = P2PSettings.from_env({})
    assert settings.max_announce_bytes == 1024 * 1024
    assert settings.max_entry_bytes == 16 * 1024 * 1024
    assert settings.core.peer_timeout == 0.3
    custom = P2PSettings.from_env({"CACHE_MAX_ENTRY_BYTES": "2048", "CACHE_PEER_RATE": "5"})
    assert custom.max_entry_bytes == 2048 and custom.peer_rate == 5
    for env in (
        {"CACHE_MAX_ENTRY_BYTES": "lots"},
        {"CACHE_PEER_RATE": "0"},
        {"CACHE_INLINE_ENTRY_BYTES": "999999999"},
    ):
        with pytest.raises(ConfigError) as info:
            P2PSettings.from_env(env)
        assert next(iter(env)) in str(info.value)


def test_plugin_without_daemon_answers_none_at_once(tmp_path: Path) -> None:
    entry = make_entry()
    started = time.monotonic()
    assert plugin.lookup_entry(key=entry.key, cache_dir=tmp_path) is None
    plugin.entry_stored(entry=entry, cache_dir=tmp_path)
    assert time.monotonic() - started < 0.05
    with pytest.raises(DaemonUnavailable):
        DaemonClient(tmp_path, timeout=0.2).status()


def test_plugin_survives_a_stale_socket_and_bad_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "daemon.sock").write_text("not a socket")
    entry = make_entry()
    assert plugin.lookup_entry(key=entry.key, cache_dir=tmp_path) is None
    plugin.entry_stored(entry=entry, cache_dir=tmp_path)
    monkeypatch.setenv("CACHE_PEER_TIMEOUT_MS", "soon")
    assert plugin.lookup_entry(key=entry.key, cache_dir=tmp_path) is None


def test_plugin_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, ghcache.p2p.plugin, ghcache.p2p.client;"
        "heavy = [m for m in ('libp2p', 'trio', 'cryptography', 'click', 'multiaddr', 'ghcache.crypto')"
        " if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ}, check=True
    )
    assert out.stdout.strip() == "[]"


def test_wildcard_listen_address_is_advertised_as_real_ones() -> None:
    from multiaddr import Multiaddr

    from ghcache.p2p.node import advertised_addrs

    wildcard = advertised_addrs([Multiaddr("/ip4/0.0.0.0/tcp/9100")])
    texts = [str(a) for a in wildcard]
    assert "/ip4/127.0.0.1/tcp/9100" in texts
    assert not any("0.0.0.0" in t for t in texts)
    concrete = [Multiaddr("/ip4/127.0.0.1/tcp/1")]
    assert advertised_addrs(concrete) == concrete
