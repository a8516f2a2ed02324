"""An outsider (no team secret) that joins the team's gossipsub topic.

The topic name is public to every connected peer, so anyone can subscribe to it.
Such a peer must not be taken for a teammate: what it publishes is refused and
not forwarded to the team, and it is never asked for entries or for peers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import trio
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.custom_types import TProtocol
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.tools.anyio_service import background_trio_service
from multiaddr import Multiaddr
from p2p_helpers import Daemon, Network, make_entry, wait_until

from ghcache.core.cid import cid_for_bytes
from ghcache.crypto import Keyring
from ghcache.p2p import codec
from ghcache.p2p.node import build_host, build_pubsub

pytestmark = pytest.mark.slow

WRONG = Keyring.from_env({"CACHE_SHARED_SECRET": "not-the-team-secret-at-all-987"})
assert WRONG is not None
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


@pytest.fixture(scope="module")
def team(network: Network) -> tuple[Daemon, Daemon]:
    victim = network.start("victim")
    friend = network.start("friend", bootstrap=[victim])
    victim.wait_topic_peers(friend)
    friend.wait_topic_peers(victim)
    return victim, friend


class Outsider:
    """Subscribes to the victim's topic, publishes what it cannot seal for the team, and
    notes every request the victim sends it."""

    def __init__(self, victim: Daemon) -> None:
        self.victim = victim
        self.topic = str(victim.info["topic"])
        self.requests: list[str] = []
        self.peer_id = ""
        self.seen_as_team: set[str] = set()

    async def main(self) -> None:
        listen = Multiaddr("/ip4/127.0.0.1/tcp/0")
        host = build_host(create_new_key_pair(), enable_mdns=False, listen=listen)
        pubsub, gossipsub = build_pubsub(host, max_message_bytes=8 * 1024 * 1024)
        for protocol in (codec.FETCH_PROTOCOL, codec.PEERS_PROTOCOL):
            host.set_stream_handler(TProtocol(protocol), self.record)
        self.peer_id = host.get_id().to_base58()
        async with (
            host.run([listen]),
            background_trio_service(pubsub),
            background_trio_service(gossipsub),
        ):
            await pubsub.wait_until_ready()
            await pubsub.subscribe(self.topic)
            await host.connect(info_from_p2p_addr(Multiaddr(self.victim.addr)))
            await trio.sleep(2.0)  # a heartbeat or two: the victim has seen us subscribe
            garbage = codec.encode_batch(WRONG, self.topic, [])
            for _ in range(5):
                await pubsub.publish(self.topic, garbage)
                await trio.sleep(0.1)
            # A miss at the victim asks its team; a new team peer is asked for its peers
            # within a second or two.
            await trio.to_thread.run_sync(
                lambda: self.victim.lookup(cid_for_bytes(b"nobody has it"), timeout_ms=1500)
            )
            await trio.sleep(2.5)
            self.seen_as_team = await trio.to_thread.run_sync(self.victim.topic_peers)

    async def record(self, stream: Any) -> None:
        self.requests.append(str(stream.get_protocol()))
        await stream.reset()


def log_size(daemon: Daemon) -> int:
    return (daemon.cache_dir / "test-daemon.log").stat().st_size


def log_since(daemon: Daemon, offset: int) -> str:
    path: Path = daemon.cache_dir / "test-daemon.log"
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read().decode(errors="replace")


def test_an_outsider_on_the_topic_is_refused_not_forwarded_and_never_asked(
    team: tuple[Daemon, Daemon],
) -> None:
    victim, friend = team
    victim_before, friend_before = victim.status(), friend.status()
    offset = log_size(victim)
    outsider = Outsider(victim)
    trio.run(outsider.main)

    wait_until(
        lambda: victim.refused()["bad_envelope"] > victim_before["refused"]["bad_envelope"],
        10,
        "the victim to refuse the outsider's messages",
    )
    # Not forwarded: the friend (in the victim's mesh) never saw the garbage.
    friend_after = friend.status()
    for name in ("announce_messages_received",):
        assert friend_after["counters"][name] == friend_before["counters"][name]
    assert friend_after["refused"] == friend_before["refused"]
    # Not a teammate, so never asked for entries or peers.
    assert outsider.peer_id not in outsider.seen_as_team
    assert outsider.requests == []
    # Refusals are one log line each: no tracebacks, no multi-line stream errors.
    text = log_since(victim, offset)
    assert "Traceback" not in text, text[-3000:]
    strays = [line for line in text.splitlines() if line and not LOG_LINE.match(line)]
    assert strays == [], text[-3000:]
    # And the team still shares.
    entry = make_entry("after-outsider")
    victim.put(entry)
    wait_until(lambda: friend.has(entry.key), 10, "push after the outsider")
