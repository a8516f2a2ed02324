"""Direct push (``/ghcache/push/1.0.0``): announcements straight to connected teammates.

Real daemons on 127.0.0.1, and a test-process libp2p node that subscribes to the
team's topic without passing the team check (it even holds the team key: a mesh
member that captured a batch must not get it in by pushing it).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import trio
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.custom_types import TProtocol
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.tools.anyio_service import background_trio_service
from multiaddr import Multiaddr
from p2p_helpers import SECRET, Daemon, Network, make_entry, wait_until

from ghcache.crypto import Keyring
from ghcache.p2p import codec
from ghcache.p2p.node import build_host, build_pubsub
from ghcache.p2p.push import whole_team

pytestmark = pytest.mark.slow

RIGHT = Keyring.from_env({"CACHE_SHARED_SECRET": SECRET})
assert RIGHT is not None
# Peer exchange runs every second once a peer joins; after it, a daemon knows
# its teammates' teammates and skips gossip when its pushes reach them all.
EXCHANGED = 3.0


@pytest.fixture(scope="module")
def pair(network: Network) -> tuple[Daemon, Daemon]:
    a = network.start("a")
    b = network.start("b", bootstrap=[a])
    a.wait_topic_peers(b)
    b.wait_topic_peers(a)
    time.sleep(EXCHANGED)
    return a, b


def test_an_entry_reaches_a_connected_teammate_by_push_alone(pair: tuple[Daemon, Daemon]) -> None:
    a, b = pair
    before_a, before_b = a.counters(), b.counters()
    entry = make_entry("pushed")
    a.put(entry)
    wait_until(lambda: b.has(entry.key), 10, "the push")
    copy = b.store().read(entry.key)
    assert copy is not None and copy.body == entry.body and copy.stored_at == entry.stored_at
    after_a, after_b = a.counters(), b.counters()
    assert after_a["announcements_sent"] == before_a["announcements_sent"] + 1
    # No gossip message: a pushed to everyone on its topic, and b has no teammate a lacks.
    assert after_a["announce_messages_sent"] == before_a["announce_messages_sent"]
    assert after_b["announce_messages_received"] == before_b["announce_messages_received"]
    assert after_b["entries_accepted"] == before_b["entries_accepted"] + 1


def test_a_thousand_pushed_entries_none_lost(pair: tuple[Daemon, Daemon]) -> None:
    a, b = pair
    before_a, refused_before = a.counters(), b.refused()
    entries = [make_entry("bulk-push") for _ in range(1000)]
    for entry in entries:
        a.put(entry)
    wait_until(lambda: all(b.has(e.key) for e in entries), 60, "1000 pushed entries")
    assert a.counters()["announce_messages_sent"] == before_a["announce_messages_sent"]
    # Paced below b's per-peer rate: nothing refused.
    assert b.refused() == refused_before


class Stranger:
    """Subscribes to the victim's topic and never says hello; notes every stream the
    daemons open to it, then pushes a batch sealed with the team key."""

    def __init__(self, victim: Daemon) -> None:
        self.victim = victim
        self.topic = str(victim.info["topic"])
        self.entry = make_entry("stranger-push")
        self.requests: list[str] = []
        self.push_answer: Any = None
        self.pushed_while_here: list[str] = []

    async def main(self, friend: Daemon) -> None:
        listen = Multiaddr("/ip4/127.0.0.1/tcp/0")
        host = build_host(create_new_key_pair(), enable_mdns=False, listen=listen)
        pubsub, gossipsub = build_pubsub(host, max_message_bytes=8 * 1024 * 1024)
        for protocol in (codec.PUSH_PROTOCOL, codec.FETCH_PROTOCOL, codec.PEERS_PROTOCOL):
            host.set_stream_handler(TProtocol(protocol), self.record)
        async with (
            host.run([listen]),
            background_trio_service(pubsub),
            background_trio_service(gossipsub),
        ):
            await pubsub.wait_until_ready()
            await pubsub.subscribe(self.topic)
            victim = info_from_p2p_addr(Multiaddr(self.victim.addr))
            await host.connect(victim)
            await trio.sleep(1.5)  # the victim has seen us subscribe
            # The team shares while we sit on the topic: pushed to the friend, never to us.
            for source in (self.victim, friend):
                entry = make_entry("while-stranger")
                await trio.to_thread.run_sync(source.put, entry)
                self.pushed_while_here.append(entry.key)
            await trio.sleep(1.0)
            # A batch the team key opens, pushed by a peer that never passed the check.
            item = codec.Announcement(
                key=self.entry.key,
                cid=self.entry.body_cid,
                stored_at=self.entry.stored_at,
                ttl=self.entry.ttl,
                size=len(self.entry.to_bytes()),
                sealed_entry=codec.seal_entry(
                    RIGHT, self.entry.to_bytes(), key=self.entry.key, cid=self.entry.body_cid
                ),
            )
            stream = await host.new_stream(victim.peer_id, [TProtocol(codec.PUSH_PROTOCOL)])
            await stream.write(codec.frame(codec.encode_batch(RIGHT, self.topic, [item])))
            try:
                with trio.fail_after(10):
                    self.push_answer = await stream.read(1)
            except Exception as exc:
                self.push_answer = type(exc).__name__

    async def record(self, stream: Any) -> None:
        self.requests.append(str(stream.get_protocol()))
        await stream.reset()


@pytest.fixture(scope="module")
def victim_and_friend(network: Network) -> tuple[Daemon, Daemon]:
    victim = network.start("victim")
    friend = network.start("friend", bootstrap=[victim])
    victim.wait_topic_peers(friend)
    friend.wait_topic_peers(victim)
    time.sleep(EXCHANGED)
    return victim, friend


def test_a_peer_outside_the_team_gets_no_push_and_its_pushes_are_refused(
    victim_and_friend: tuple[Daemon, Daemon],
) -> None:
    victim, friend = victim_and_friend
    refused_before = victim.refused()
    friend_before = friend.counters()
    stranger = Stranger(victim)
    trio.run(stranger.main, friend)

    assert stranger.requests == []  # no push stream (nor fetch or peer list) opened to it
    assert stranger.push_answer not in (None, b"")  # reset, not read and closed
    assert not isinstance(stranger.push_answer, bytes)
    after = victim.refused()
    assert after["not_team"] == refused_before["not_team"] + 1
    assert not victim.has(stranger.entry.key) and not friend.has(stranger.entry.key)
    # The team shared all along, and with a stranger on the topic gossip went too: the
    # second copy of each entry was a duplicate, not a refusal.
    for key in stranger.pushed_while_here:
        wait_until(lambda k=key: victim.has(k) and friend.has(k), 10, "the team's entries")  # type: ignore[misc]
    friend_after = friend.counters()
    assert friend_after["entries_accepted"] - friend_before["entries_accepted"] == 1
    wait_until(
        lambda: friend.counters()["duplicates"] > friend_before["duplicates"],
        10,
        "the gossip copy of the victim's entry",
    )
    assert sum(friend.refused().values()) == 0


class Middle:
    """A teammate (it holds the key and says hello) that speaks gossipsub but neither
    push nor peer exchange, connected to two daemons that do not know each other:
    what one announces reaches the other only by gossip, through it."""

    def __init__(self, left: Daemon, right: Daemon) -> None:
        self.daemons = (left, right)
        self.topic = str(left.info["topic"])
        self.done = trio.Event()

    async def main(self, share: Any) -> None:
        listen = Multiaddr("/ip4/127.0.0.1/tcp/0")
        host = build_host(create_new_key_pair(), enable_mdns=False, listen=listen)
        pubsub, gossipsub = build_pubsub(host, max_message_bytes=8 * 1024 * 1024)
        me = host.get_id().to_base58()
        async with (
            host.run([listen]),
            background_trio_service(pubsub),
            background_trio_service(gossipsub),
        ):
            await pubsub.wait_until_ready()
            await pubsub.subscribe(self.topic)
            for daemon in self.daemons:
                info = info_from_p2p_addr(Multiaddr(daemon.addr))
                await host.connect(info)
                stream = await host.new_stream(info.peer_id, [TProtocol(codec.HELLO_PROTOCOL)])
                hello = codec.encode_hello(RIGHT, sender=me, receiver=info.peer_id.to_base58())
                await stream.write(codec.frame(hello))
                await stream.close()
            for daemon in self.daemons:
                await trio.to_thread.run_sync(
                    lambda d=daemon: wait_until(lambda: me in d.topic_peers(), 10, "hello")
                )
            await trio.sleep(2.0)  # heartbeats: both daemons are in our mesh
            await trio.to_thread.run_sync(share)


def test_a_teammate_out_of_push_reach_gets_announcements_by_gossip(network: Network) -> None:
    left = network.start("left")
    right = network.start("right")
    middle = Middle(left, right)
    sent = [make_entry("from-left"), make_entry("from-right")]

    def share() -> None:
        left.put(sent[0])
        right.put(sent[1])
        wait_until(lambda: right.has(sent[0].key), 15, "left's entry at right, two hops")
        wait_until(lambda: left.has(sent[1].key), 15, "right's entry at left, two hops")

    trio.run(middle.main, share)
    assert right.peer_id not in {p["peer_id"] for p in left.status()["peers"]}
    assert left.counters()["announce_messages_sent"] >= 1
    assert sum(right.refused().values()) == 0 and sum(left.refused().values()) == 0


def test_the_push_covers_the_team_only_when_no_teammate_is_out_of_reach() -> None:
    reports = {"b": frozenset({"c"}), "c": frozenset({"b"}), "d": None}

    def covers(subscribed: set[str], reached: set[str]) -> bool:
        return whole_team(me="a", subscribed=subscribed, reached=reached, reported=reports.get)

    assert covers({"b", "c"}, {"b", "c"})  # a full mesh
    assert covers(set(), set())  # alone
    assert not covers({"b", "c", "x"}, {"b", "c"})  # x on the topic was not pushed to
    assert not covers({"b"}, {"b"})  # b has c, whom we did not reach: gossip hops
    assert not covers({"b", "c", "d"}, {"b", "c", "d"})  # d has not told us its peers
    assert covers({"b", "c", "e"}, {"b", "c", "e"}) is False  # e never reported either
    reports["e"] = frozenset({"a", "b"})  # we are in e's list: that is no one new
    assert covers({"b", "c", "e"}, {"b", "c", "e"})
