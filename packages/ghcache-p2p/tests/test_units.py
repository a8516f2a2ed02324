"""The sans-IO parts: wire formats, acceptance rules, rate limits, peer book, settings, plugin."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trio
from p2p_helpers import SECRET, make_entry

from ghcache.core.config import ConfigError, Settings
from ghcache.crypto import Keyring, OpenError
from ghcache.p2p import codec, plugin
from ghcache.p2p.accept import (
    Refused,
    check_envelope_time,
    check_key,
    is_duplicate,
    verify_entry,
)
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
    assert codec.decode_fetch_request(KEYRING, request) == ("some-key", KEYRING.current)
    with pytest.raises(OpenError):
        codec.decode_fetch_request(OTHER, request)
    assert codec.decode_fetch_response(codec.NOT_FOUND) is None
    cid = make_entry().body_cid
    assert codec.decode_fetch_response(codec.encode_fetch_found(cid, b"sealed")) == (cid, b"sealed")
    with pytest.raises(codec.MalformedMessage):
        codec.decode_fetch_response(b"\x07junk")


def test_hello_proves_a_team_key_from_one_peer_to_another() -> None:
    hello = codec.encode_hello(KEYRING, sender="A", receiver="B")
    assert codec.open_hello(KEYRING, hello, sender="A", receiver="B") == KEYRING.current
    for keyring, sender, receiver in ((OTHER, "A", "B"), (KEYRING, "C", "B"), (KEYRING, "B", "A")):
        with pytest.raises(OpenError):  # another team; relayed or reflected by someone else
            codec.open_hello(keyring, hello, sender=sender, receiver=receiver)
    with pytest.raises(codec.MalformedMessage):
        codec.open_hello(KEYRING, hello[:-1], sender="A", receiver="B")
    # During a rotation the key we share is the newest both hold.
    rotated = Keyring(OTHER.current, [KEYRING.current])
    old_only = codec.encode_hello(KEYRING, sender="A", receiver="B")
    assert codec.open_hello(rotated, old_only, sender="A", receiver="B") == KEYRING.current
    both = codec.encode_hello(rotated, sender="A", receiver="B")
    assert codec.open_hello(KEYRING, both, sender="A", receiver="B") == KEYRING.current
    assert codec.open_hello(rotated, both, sender="A", receiver="B") == OTHER.current


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


def test_only_cids_are_cache_keys() -> None:
    check_key(make_entry().key)
    for key in ("..", "../../../../tmp/x/pwned", "", "bafkrei", make_entry().key + "/.."):
        with pytest.raises(Refused) as refused:
            check_key(key)
        assert refused.value.reason == "bad_key"


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
    assert settings.enable_p2p is True and settings.enable_mdns is False
    assert (settings.listen_addr, settings.listen_port) == ("0.0.0.0", 9100)
    assert settings.bootstrap_peers == () and settings.metrics_port is None
    assert settings.peer_timeout == 0.3
    assert settings.max_announce_bytes == 1024 * 1024
    assert settings.max_entry_bytes == 16 * 1024 * 1024
    custom = P2PSettings.from_env(
        {
            "CACHE_MAX_ENTRY_BYTES": "2048",
            "CACHE_PEER_RATE": "5",
            "CACHE_BOOTSTRAP_PEERS": " /ip4/10.0.0.5/tcp/1/p2p/A, ,/ip4/10.0.0.6/tcp/1/p2p/B",
            "CACHE_ENABLE_P2P": "",  # set but empty is false, as core always read it
            "CACHE_LISTEN_ADDR": "",
            "CACHE_PEER_TIMEOUT_MS": "1500",
            "CACHE_METRICS_PORT": "9200",
        }
    )
    assert custom.max_entry_bytes == 2048 and custom.peer_rate == 5
    assert custom.bootstrap_peers == ("/ip4/10.0.0.5/tcp/1/p2p/A", "/ip4/10.0.0.6/tcp/1/p2p/B")
    assert custom.enable_p2p is False and custom.listen_addr == "0.0.0.0"
    assert custom.peer_timeout == 1.5 and custom.metrics_port == 9200
    assert custom.sources["CACHE_PEER_RATE"] == "env"
    assert custom.sources["CACHE_LISTEN_PORT"] == "default"
    for env, message in (
        ({"CACHE_MAX_ENTRY_BYTES": "lots"}, "must be a whole number"),
        ({"CACHE_PEER_RATE": "0"}, "must be at least 1"),
        ({"CACHE_INLINE_ENTRY_BYTES": "999999999"}, "at most half"),
        ({"CACHE_LISTEN_PORT": "99999"}, "must be at least 0 and at most 65535, got '99999'"),
        ({"CACHE_LISTEN_PORT": ""}, "must be a whole number, got ''"),
        ({"CACHE_METRICS_PORT": "70000"}, "at most 65535"),
        ({"CACHE_ENABLE_P2P": "maybe"}, "must be true or false, got 'maybe'"),
        ({"CACHE_ENABLE_MDNS": "2"}, "must be true or false"),
        ({"CACHE_PEER_TIMEOUT_MS": "-1"}, "must be at least 0"),
    ):
        with pytest.raises(ConfigError) as info:
            P2PSettings.from_env(env)
        assert str(info.value).startswith(next(iter(env)))
        assert message in str(info.value)


def test_settings_come_from_the_environment_core_read() -> None:
    core = Settings.from_env({"CACHE_LISTEN_PORT": "9300", "CACHE_DIR": "/tmp/somewhere"})
    settings = P2PSettings.from_settings(core)
    assert settings.core is core and settings.listen_port == 9300


def test_config_rows_show_effective_values_and_sources() -> None:
    rows = {name: (value, source) for name, value, source in plugin.config_rows(env={})}
    assert rows["CACHE_ENABLE_P2P"] == ("true", "default")
    assert rows["CACHE_METRICS_PORT"] == ("(off)", "default")
    assert rows["CACHE_BOOTSTRAP_PEERS"] == ("(none)", "default")
    assert rows["CACHE_MAX_ANNOUNCE_BYTES"] == (str(1024 * 1024), "default")
    env = {"CACHE_PEER_TIMEOUT_MS": "800", "CACHE_ENABLE_MDNS": "yes"}
    rows = {name: (value, source) for name, value, source in plugin.config_rows(env=env)}
    assert rows["CACHE_PEER_TIMEOUT_MS"] == ("800", "env")
    assert rows["CACHE_ENABLE_MDNS"] == ("true", "env")
    # An invalid value is shown as given, so that people can find it.
    rows = {
        name: (value, source)
        for name, value, source in plugin.config_rows(env={"CACHE_LISTEN_PORT": "x"})
    }
    assert rows["CACHE_LISTEN_PORT"] == ("x", "env")


def settings_for(cache_dir: Path, **env: str) -> Settings:
    return Settings.from_env({"CACHE_DIR": str(cache_dir), **env})


def test_plugin_without_daemon_answers_none_at_once(tmp_path: Path) -> None:
    entry = make_entry()
    settings = settings_for(tmp_path)
    started = time.monotonic()
    assert plugin.lookup_entry(key=entry.key, settings=settings, newer_than=0.0) is None
    plugin.entry_stored(entry=entry, settings=settings)
    assert time.monotonic() - started < 0.05
    with pytest.raises(DaemonUnavailable):
        DaemonClient(tmp_path, timeout=0.2).status()


def test_plugin_survives_a_stale_socket_and_bad_config(tmp_path: Path) -> None:
    (tmp_path / "daemon.sock").write_text("not a socket")
    entry = make_entry()
    settings = settings_for(tmp_path)
    assert plugin.lookup_entry(key=entry.key, settings=settings, newer_than=0.0) is None
    plugin.entry_stored(entry=entry, settings=settings)
    bad = settings_for(tmp_path, CACHE_PEER_TIMEOUT_MS="soon")
    assert plugin.lookup_entry(key=entry.key, settings=bad, newer_than=0.0) is None


def connections_made(listener: socket.socket) -> int:
    listener.setblocking(False)
    count = 0
    while True:
        try:
            connection, _ = listener.accept()
        except BlockingIOError:
            return count
        connection.close()
        count += 1


def test_plugin_contacts_the_daemon_only_when_p2p_is_on(tmp_path: Path) -> None:
    entry = make_entry()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(tmp_path / "daemon.sock"))  # a daemon that never answers
        listener.listen(8)
        off = settings_for(tmp_path, CACHE_ENABLE_P2P="false", CACHE_PEER_TIMEOUT_MS="50")
        assert plugin.lookup_entry(key=entry.key, settings=off, newer_than=0.0) is None
        plugin.entry_stored(entry=entry, settings=off)
        assert connections_made(listener) == 0
        on = settings_for(tmp_path, CACHE_PEER_TIMEOUT_MS="50")
        assert plugin.lookup_entry(key=entry.key, settings=on, newer_than=0.0) is None
        plugin.entry_stored(entry=entry, settings=on)
        assert connections_made(listener) == 2


def test_plugin_parses_p2p_settings_once_per_core_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[Settings] = []
    original = P2PSettings.from_settings.__func__  # type: ignore[attr-defined]

    def counting(cls: type[P2PSettings], settings: Settings) -> P2PSettings:
        parsed.append(settings)
        return original(cls, settings)  # type: ignore[no-any-return]

    monkeypatch.setattr(P2PSettings, "from_settings", classmethod(counting))
    first, second = settings_for(tmp_path), settings_for(tmp_path, CACHE_ENABLE_P2P="false")
    entry = make_entry()
    for _ in range(3):
        plugin.lookup_entry(key=entry.key, settings=first, newer_than=0.0)
        plugin.entry_stored(entry=entry, settings=first)
    assert parsed == [first]
    assert plugin.enabled_settings(second) is None  # another environment is parsed anew
    assert plugin.enabled_settings(first) is not None
    assert parsed == [first, second, first]


def test_control_lookup_sends_newer_than_and_answers_without_the_entry(tmp_path: Path) -> None:
    from ghcache.p2p.control_server import ControlServer
    from ghcache.p2p.ipc import PREFIX_SIZE

    asked: list[tuple[str, float, float]] = []

    async def lookup(key: str, *, newer_than: float, timeout: float) -> bool:
        asked.append((key, newer_than, timeout))
        return key == "held"

    server = ControlServer(
        tmp_path / "daemon.sock", status=dict, lookup=lookup, announce=lambda key: None
    )

    def ask() -> tuple[bool, bool, bytes]:
        client = DaemonClient(tmp_path, timeout=2.0)
        found = client.lookup("held", newer_than=1234.5, timeout=0.25)
        missing = client.lookup("other", newer_than=0.0, timeout=0.25)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
            raw.connect(str(tmp_path / "daemon.sock"))
            raw.sendall(encode_message({"op": "lookup", "key": "held", "newer_than": 1.0}))
            raw.settimeout(2.0)
            answer = raw.recv(65536)
        return found, missing, answer[PREFIX_SIZE:]

    async def main() -> tuple[bool, bool, bytes]:
        async with trio.open_nursery() as nursery:
            await nursery.start(server.run)
            result = await trio.to_thread.run_sync(ask)
            nursery.cancel_scope.cancel()
        return result

    found, missing, payload = trio.run(main)
    assert (found, missing) == (True, False)
    assert asked[:2] == [("held", 1234.5, 0.25), ("other", 0.0, 0.25)]
    assert decode_payload(payload) == ({"ok": True, "found": True}, b"")


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
