"""A hostile peer (this test process, its own libp2p host) against a real daemon.

It holds the team key (it passes the team check) and speaks our protocols with
that key and with a wrong one: tampered envelopes, CID mismatches,
identity-scoped entries, future stamps, replays, oversized messages and answers,
keys that are not CIDs, and a flood.  Everything must be refused,
counted by reason and never stored, while the daemon keeps serving a friend.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import replace
from typing import Any

import pytest
import trio
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.custom_types import TProtocol
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.tools.anyio_service import background_trio_service
from multiaddr import Multiaddr
from p2p_helpers import SECRET, Daemon, Network, make_entry, wait_until

from ghcache.core.cid import cid_for_bytes
from ghcache.core.entry import Entry
from ghcache.crypto import Keyring
from ghcache.p2p import codec
from ghcache.p2p.node import build_host, build_pubsub, read_frame

pytestmark = pytest.mark.slow

RIGHT = Keyring.from_env({"CACHE_SHARED_SECRET": SECRET})
WRONG = Keyring.from_env({"CACHE_SHARED_SECRET": "not-the-team-secret-at-all-987"})
assert RIGHT is not None and WRONG is not None
# A low per-peer rate for the victim, so that a flood trips it even on a loaded box.
PEER_RATE = 20
# Keys the victim asks us for on a lookup miss, and we answer with poison.
POISON = {
    name: cid_for_bytes(f"poison-{name}".encode()) for name in ("oversize", "wrong-key", "forged")
}
BAD_KEYS = ["../../../../tmp/ghcache-p2p-test/pwned", "..", "not-a-cid"]


def item_for(
    entry: Entry, keyring: Keyring, *, cid: str | None = None, raw: bytes | None = None
) -> codec.Announcement:
    cid = cid or entry.body_cid
    raw = raw if raw is not None else entry.to_bytes()
    return codec.Announcement(
        key=entry.key,
        cid=cid,
        stored_at=entry.stored_at,
        ttl=entry.ttl,
        size=len(raw),
        sealed_entry=codec.seal_entry(keyring, raw, key=entry.key, cid=cid),
    )


def tampered_body(entry: Entry) -> bytes:
    record = entry.to_dict()
    record["body"] = '{"evil": true}'
    return json.dumps(record).encode()


@pytest.fixture(scope="module")
def victim_and_friend(network: Network) -> tuple[Daemon, Daemon]:
    victim = network.start("victim", CACHE_PEER_RATE=str(PEER_RATE))
    friend = network.start("friend", bootstrap=[victim])
    victim.wait_topic_peers(friend)
    friend.wait_topic_peers(victim)
    return victim, friend


class Hostile:
    """The hostile node's script, run inside trio.run."""

    def __init__(self, victim: Daemon, *, script: str = "attack") -> None:
        self.victim = victim
        self.script = script
        self.topic = str(victim.info["topic"])
        self.stored_keys: list[str] = []
        self.results: dict[str, Any] = {}
        self.fetch_requests: list[str] = []  # keys the victim asked us for

    async def main(self) -> None:
        key_pair = create_new_key_pair()
        listen = Multiaddr("/ip4/127.0.0.1/tcp/0")
        host = build_host(key_pair, enable_mdns=False, listen=listen)
        pubsub, gossipsub = build_pubsub(host, max_message_bytes=8 * 1024 * 1024)
        host.set_stream_handler(TProtocol(codec.FETCH_PROTOCOL), self.serve_poison)
        async with (
            host.run([listen]),
            background_trio_service(pubsub),
            background_trio_service(gossipsub),
        ):
            await pubsub.wait_until_ready()
            await pubsub.subscribe(self.topic)
            victim = info_from_p2p_addr(Multiaddr(self.victim.addr))
            await host.connect(victim)
            me = host.get_id().to_base58()
            # It holds the team key: it passes the team check like any teammate.
            stream = await host.new_stream(victim.peer_id, [TProtocol(codec.HELLO_PROTOCOL)])
            hello = codec.encode_hello(RIGHT, sender=me, receiver=victim.peer_id.to_base58())
            await stream.write(codec.frame(hello))
            await stream.close()
            await trio.to_thread.run_sync(
                lambda: wait_until(lambda: me in self.victim.topic_peers(), 10, "victim sees us")
            )
            await trio.sleep(1.5)  # one gossipsub heartbeat: we are in the victim's mesh
            self.host, self.pubsub = host, pubsub
            await getattr(self, self.script)()

    async def publish(self, data: bytes) -> None:
        await self.pubsub.publish(self.topic, data)
        await trio.sleep(0.05)

    async def attack(self) -> None:
        victim_id = info_from_p2p_addr(Multiaddr(self.victim.addr)).peer_id
        now = time.time()

        # Wrong key: a perfectly formed announcement the team cannot open.
        wrong = make_entry("wrong-key")
        await self.publish(codec.encode_batch(WRONG, self.topic, [item_for(wrong, WRONG)]))
        self.stored_keys.append(wrong.key)

        # Right key, tampered bytes.
        tampered = make_entry("tampered")
        data = bytearray(codec.encode_batch(RIGHT, self.topic, [item_for(tampered, RIGHT)]))
        data[len(data) // 2] ^= 0x01
        await self.publish(bytes(data))
        self.stored_keys.append(tampered.key)

        # Right key: body changed under its CID, and an entry under another CID.
        forged = make_entry("forged-body")
        other = make_entry("other-cid")
        not_shared = make_entry("identity", scope="token:feedfacefeedface")
        future = make_entry("future", stored_at=now + 3600)
        items = [
            item_for(forged, RIGHT, raw=tampered_body(forged)),
            item_for(other, RIGHT, cid=cid_for_bytes(b"something else")),
            item_for(not_shared, RIGHT),
            item_for(future, RIGHT),
        ]
        await self.publish(codec.encode_batch(RIGHT, self.topic, items))
        self.stored_keys += [forged.key, other.key, not_shared.key, future.key]

        # Replay: an older version of an entry the victim holds.
        held = make_entry("held")
        await trio.to_thread.run_sync(lambda: self.victim.store().write(held))
        older = replace(
            held, stored_at=held.stored_at - 100, body=b'{"old": true}', body_cid="", data=None
        )
        await self.publish(codec.encode_batch(RIGHT, self.topic, [item_for(older, RIGHT)]))
        self.results["held"] = held

        # Envelopes sealed an hour ago (a captured message replayed) or an hour ahead.
        stale = make_entry("stale-envelope")
        plain = codec.encode_items([item_for(stale, RIGHT)])
        associated = codec.ANNOUNCE_AD + self.topic.encode()
        for stamp in (int(now) - 3600, int(now) + 3600):
            await self.publish(RIGHT.current._seal_at(plain, associated=associated, now=stamp))
        self.stored_keys.append(stale.key)

        # Oversized: 1.5 MiB announcement (cap 1 MiB).
        big = make_entry("big", body=b'"' + os.urandom(700_000).hex().encode() + b'"')
        big_item = codec.Announcement(
            big.key, big.body_cid, now, 300, 1_500_000, os.urandom(1_500_000)
        )
        await self.publish(codec.encode_batch(RIGHT, self.topic, [big_item]))
        self.stored_keys.append(big.key)

        # Fetch with the wrong key: no answer at all (learns nothing, not even "not found").
        stream = await self.host.new_stream(victim_id, [TProtocol(codec.FETCH_PROTOCOL)])
        await stream.write(codec.frame(codec.encode_fetch_request(WRONG, held.key)))
        try:
            with trio.fail_after(5):
                self.results["wrong_key_fetch"] = await read_frame(stream, limit=1 << 20)
        except Exception as exc:
            self.results["wrong_key_fetch"] = type(exc).__name__

        # Asking for the team's peer list with the wrong key: no answer either.
        stream = await self.host.new_stream(victim_id, [TProtocol(codec.PEERS_PROTOCOL)])
        await stream.write(codec.frame(codec.encode_peers_request(WRONG)))
        try:
            with trio.fail_after(5):
                self.results["wrong_key_peers"] = await read_frame(stream, limit=1 << 20)
        except Exception as exc:
            self.results["wrong_key_peers"] = type(exc).__name__

        # Garbage where gossipsub expects a protobuf RPC: py-libp2p would let the
        # parse error take the whole host down; the daemon drops just that stream.
        for protocol in ("/meshsub/1.1.0", codec.FETCH_PROTOCOL, codec.PEERS_PROTOCOL):
            stream = await self.host.new_stream(victim_id, [TProtocol(protocol)])
            await stream.write(b"\x10" + b"\xff" * 16)
            with contextlib.suppress(Exception):
                await stream.close()
        await trio.sleep(0.5)

        # Poisoned fetch answers: the victim asks us on a lookup miss.
        for key in POISON.values():
            answer = await trio.to_thread.run_sync(
                lambda k=key: self.victim.client.lookup(k, newer_than=0.0, timeout=2.0)  # type: ignore[misc]
            )
            self.results[key] = answer
            self.stored_keys.append(key)

    async def bad_keys(self) -> None:
        """Keys that are not CIDs: announced inline and without the entry, asked for."""
        victim_id = info_from_p2p_addr(Multiaddr(self.victim.addr)).peer_id
        items = []
        for key in BAD_KEYS:
            entry = replace(make_entry("bad-key"), key=key)
            items.append(item_for(entry, RIGHT))
            items.append(replace(item_for(entry, RIGHT), sealed_entry=b""))  # "fetch it"
        await self.publish(codec.encode_batch(RIGHT, self.topic, items))
        stream = await self.host.new_stream(victim_id, [TProtocol(codec.FETCH_PROTOCOL)])
        await stream.write(codec.frame(codec.encode_fetch_request(RIGHT, "..")))
        try:
            with trio.fail_after(5):
                self.results["fetch"] = await read_frame(stream, limit=1 << 20)
        except Exception as exc:
            self.results["fetch"] = type(exc).__name__
        self.results["lookup"] = await trio.to_thread.run_sync(
            lambda: self.victim.client.lookup(BAD_KEYS[0], newer_than=0.0, timeout=2.0)
        )
        await trio.sleep(1.0)  # time for the victim to (wrongly) ask us for the others

    async def flood_victim(self) -> None:
        """Five times the messages the victim's per-peer rate allows.

        Paced at ~100/s: an unpaced burst mostly dies in py-libp2p's own queues,
        which would test py-libp2p rather than the daemon.
        """
        flood = codec.encode_batch(RIGHT, self.topic, [])
        started = time.monotonic()
        for _ in range(400):
            await self.pubsub.publish(self.topic, flood)
            await trio.sleep(0.01)
        await trio.sleep(2.0)  # let our queue drain before the host goes away
        self.results["flood_seconds"] = time.monotonic() - started

    async def serve_poison(self, stream: Any) -> None:
        payload = await read_frame(stream, limit=1 << 20)
        key, _ = codec.decode_fetch_request(RIGHT, payload)
        self.fetch_requests.append(key)
        if key == POISON["oversize"]:
            await stream.write((200 * 1024 * 1024).to_bytes(4, "big") + b"x" * 1024)
        elif key == POISON["wrong-key"]:
            entry = make_entry("pw")
            raw = replace(entry, key=key).to_bytes()
            sealed = codec.seal_entry(WRONG, raw, key=key, cid=entry.body_cid)
            await stream.write(codec.frame(codec.encode_fetch_found(entry.body_cid, sealed)))
        else:
            entry = make_entry("pf")
            entry = replace(entry, key=key)
            sealed = codec.seal_entry(RIGHT, tampered_body(entry), key=key, cid=entry.body_cid)
            await stream.write(codec.frame(codec.encode_fetch_found(entry.body_cid, sealed)))
        await stream.close()


def test_hostile_peer_is_refused_counted_and_the_daemon_keeps_serving(
    victim_and_friend: tuple[Daemon, Daemon],
) -> None:
    victim, friend = victim_and_friend
    before = victim.refused()
    hostile = Hostile(victim)
    trio.run(hostile.main)

    after = victim.refused()
    gained = {reason: after[reason] - before.get(reason, 0) for reason in after}
    # wrong key, tampered, wrong-key fetch, wrong-key peer list request, wrong-key answer
    assert gained["bad_envelope"] >= 5
    assert gained["cid_mismatch"] >= 3  # forged body, other CID, forged fetch answer
    assert gained["malformed"] >= 1  # the garbage gossipsub frame
    assert gained["not_shared"] >= 1
    assert gained["future"] >= 2  # entry stamped ahead, envelope sealed ahead
    assert gained["expired"] >= 1
    assert gained["not_newer"] >= 1
    assert gained["oversize"] >= 2  # 1.5 MiB announcement, 200 MiB fetch answer
    assert gained["rate_limited"] == 0

    assert hostile.results["wrong_key_fetch"] != b""  # reset: not even "not found"
    assert not isinstance(hostile.results["wrong_key_fetch"], bytes)
    assert not isinstance(hostile.results["wrong_key_peers"], bytes)
    for key in POISON.values():
        assert hostile.results[key] is False
    for key in hostile.stored_keys:
        assert not victim.has(key), key
        assert not friend.has(key), key
    held = hostile.results["held"]
    kept = victim.store().read(held.key)
    assert kept is not None and kept.body == held.body  # the replay did not overwrite it

    assert_still_serving(victim, friend)


def assert_still_serving(victim: Daemon, friend: Daemon) -> None:
    for source, target in ((friend, victim), (victim, friend)):
        entry = make_entry("after-attack")
        source.put(entry)
        wait_until(lambda t=target, e=entry: t.has(e.key), 10, "push after attack")  # type: ignore[misc]
        quiet = make_entry("quiet-after-attack")
        source.store().write(quiet)
        found = target.lookup(quiet.key)
        assert found is not None and found.body == quiet.body


def test_keys_that_are_not_cids_are_refused_and_never_stored_or_asked_for(
    victim_and_friend: tuple[Daemon, Daemon],
) -> None:
    victim, friend = victim_and_friend
    before = victim.refused()["bad_key"]
    hostile = Hostile(victim, script="bad_keys")
    trio.run(hostile.main)
    # Six announced items (inline and "fetch it"), the fetch request, the lookup.
    assert victim.refused()["bad_key"] - before >= 2 * len(BAD_KEYS) + 2
    assert not isinstance(hostile.results["fetch"], bytes)  # reset: not even "not found"
    assert hostile.results["lookup"] is False
    assert hostile.fetch_requests == []  # the victim asked nobody for them
    for daemon in (victim, friend):
        assert not daemon.store().path_for("..").exists()
        assert not daemon.store().path_for("not-a-cid").exists()
        assert not any(daemon.cache_dir.glob("*pwned*"))
    assert not os.path.exists("/tmp/ghcache-p2p-test/pwned")
    assert_still_serving(victim, friend)


def test_a_flood_is_rate_limited_and_the_daemon_keeps_serving(
    victim_and_friend: tuple[Daemon, Daemon],
) -> None:
    victim, friend = victim_and_friend
    before = victim.refused()["rate_limited"]
    received = victim.counters()["announce_messages_received"]
    hostile = Hostile(victim, script="flood_victim")
    trio.run(hostile.main)
    limited = victim.refused()["rate_limited"] - before
    got = victim.counters()["announce_messages_received"] - received
    # py-libp2p itself drops part of a burst; what arrives beyond the burst and
    # what the rate refills while it lasts is refused.
    allowed = 2 * PEER_RATE + PEER_RATE * hostile.results["flood_seconds"]
    assert got >= 200
    assert limited >= got - allowed
    assert limited > 0
    assert_still_serving(victim, friend)


def test_stats_of_refusals_persist(victim_and_friend: tuple[Daemon, Daemon]) -> None:
    victim, _ = victim_and_friend
    path = victim.cache_dir / "p2p_stats.json"
    saved = wait_until(
        lambda: (s := json.loads(path.read_text()))["refused"] == victim.refused() and s,
        15,
        "stats saved",
    )
    assert saved["refused"]["bad_envelope"] >= 1
