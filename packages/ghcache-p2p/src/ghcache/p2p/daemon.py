"""The ghcache p2p daemon: one libp2p node per machine sharing shared-scope entries.

:class:`Daemon` builds the host and its components (control socket, fetch client
and server, gossip announcer and reader, discovery) and runs each one's ``run``
in one nursery, inside one ``async with`` block.  ``python -m ghcache.p2p.daemon``
(or ``ghcache daemon run``) runs it in the foreground through :mod:`ghcache.p2p.process`.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import trio
from libp2p.tools.anyio_service import background_trio_service

from ghcache.core.store import DiskStore
from ghcache.crypto import Keyring
from ghcache.p2p import codec
from ghcache.p2p.control_server import ControlServer
from ghcache.p2p.counters import P2PCounters
from ghcache.p2p.discovery import Discovery
from ghcache.p2p.fetch import FetchClient, FetchServer
from ghcache.p2p.gossip import Announcer, GossipReader
from ghcache.p2p.identity import load_key_pair
from ghcache.p2p.intake import Intake
from ghcache.p2p.ipc import PEERS_NAME, STATS_NAME, socket_path
from ghcache.p2p.metrics import start_metrics_server
from ghcache.p2p.node import build_host, build_pubsub, listen_multiaddr
from ghcache.p2p.peers import PeerBook, split_p2p_addr
from ghcache.p2p.push import PushReceiver, PushSender
from ghcache.p2p.ratelimit import PeerRateLimiter
from ghcache.p2p.settings import P2PSettings
from ghcache.p2p.team import TeamCheck

log = logging.getLogger("ghcache.p2p")

COUNTERS_SAVE_EVERY = 1.0
MIN_GOSSIP_MESSAGE = 4 * 1024 * 1024


class Daemon:
    def __init__(self, settings: P2PSettings, keyring: Keyring) -> None:
        """Build the host and every component (nothing runs yet)."""
        self.settings = settings
        self.keyring = keyring
        cache_dir = settings.core.cache_dir
        self.counters = P2PCounters.load(cache_dir / STATS_NAME)
        store = DiskStore(cache_dir, max_bytes=settings.core.max_bytes)
        self.intake = Intake(
            keyring=keyring, settings=settings, store=store, counters=self.counters
        )
        self.listen = listen_multiaddr(settings.listen_addr, settings.listen_port)
        self.host = build_host(
            load_key_pair(cache_dir),
            enable_mdns=settings.enable_mdns,
            listen=self.listen,
            on_stream_error=self.intake.stream_failed,
        )
        self.peer_id = self.host.get_id().to_base58()
        self.pubsub, self.gossipsub = build_pubsub(
            self.host, max_message_bytes=max(2 * settings.max_announce_bytes, MIN_GOSSIP_MESSAGE)
        )
        self.topic = codec.topic_for(keyring.network_id)
        # During a secret rotation, peers still on a previous secret publish on its
        # topic: listen there too (the keyring opens their envelopes), publish on ours.
        self.topics = [codec.topic_for(n) for n in keyring.network_ids]
        rate, burst = settings.peer_rate, settings.peer_rate * 2
        # Fetches, peer lists and hellos: one budget.
        request_limiter = PeerRateLimiter(rate, burst)
        self.team = TeamCheck(
            host=self.host,
            pubsub=self.pubsub,
            gossipsub=self.gossipsub,
            keyring=keyring,
            topics=self.topics,
            limiter=request_limiter,
            refuse=self.intake.refuse,
        )
        self.discovery = Discovery(
            host=self.host,
            keyring=keyring,
            book=PeerBook.load(cache_dir / PEERS_NAME),
            limiter=request_limiter,
            refuse=self.intake.refuse,
            team_peers=self.team_peers,
            key_for=self.team.key_for,
        )
        for text in settings.bootstrap_peers:
            addr, peer_id = split_p2p_addr(text)
            self.discovery.add_target(peer_id, [addr], "bootstrap")
        for peer_id in self.discovery.book.peers:
            self.discovery.add_target(peer_id, self.discovery.book.addrs(peer_id), "remembered")
        self.fetch_client = FetchClient(
            host=self.host,
            intake=self.intake,
            team_peers=self.team_peers,
            key_for=self.team.key_for,
        )
        self.fetch_server = FetchServer(host=self.host, intake=self.intake, limiter=request_limiter)
        self.announcer = Announcer(
            pubsub=self.pubsub,
            topic=self.topic,
            keyring=keyring,
            settings=settings,
            store=store,
            counters=self.counters,
        )
        self.push_sender = PushSender(
            host=self.host,
            keyring=keyring,
            topic=self.topic,
            settings=settings,
            team=self.team,
            announcer=self.announcer,
            reported=self.discovery.reported,
            counters=self.counters,
        )
        self.gossip_reader = GossipReader(
            pubsub=self.pubsub,
            topics=self.topics,
            me=self.host.get_id(),
            intake=self.intake,
            fetch=self.fetch_client,
            limiter=PeerRateLimiter(rate, burst),
            team=self.team,
        )
        self.push_receiver = PushReceiver(
            host=self.host,
            team=self.team,
            settings=settings,
            limiter=PeerRateLimiter(rate, burst),
            take=self.gossip_reader.take_pushed,
            refuse=self.intake.refuse,
        )
        self.control = ControlServer(
            socket_path(cache_dir),
            status=self.status,
            lookup=self.fetch_client.lookup,
            announce=self.push_sender.announce,
        )
        self.started_at = time.time()
        self.failure: str | None = None  # why run() gave up, for the exit message
        self.metrics_port: int | None = None

    async def run(self, *, on_ready: Callable[[], None] | None = None) -> None:
        try:
            if self.settings.enable_mdns:
                self.discovery.watch_mdns()  # before the host starts announcing and listening
            async with (
                self.host.run([self.listen]),
                background_trio_service(self.pubsub),
                background_trio_service(self.gossipsub),
            ):
                if not self.host.get_addrs():  # libp2p logs a failed listen and carries on
                    self.failure = f"cannot listen on {self.listen} (address in use or not local?)"
                    return
                await self.pubsub.wait_until_ready()
                async with trio.open_nursery() as nursery:
                    for component in (
                        self.team,
                        self.gossip_reader,
                        self.push_receiver,
                        self.push_sender,
                        self.announcer,
                        self.fetch_server,
                        self.fetch_client,
                        self.discovery,
                        self.control,
                    ):
                        await nursery.start(component.run)
                    nursery.start_soon(self._save_counters)
                    self._ready(on_ready)
        finally:
            self.counters.save()
            self.discovery.book.save()

    def _ready(self, on_ready: Callable[[], None] | None) -> None:
        log.info("peer id %s listening on %s", self.peer_id, self._addrs())
        if self.settings.metrics_port is not None:
            self.metrics_port = start_metrics_server(
                self.settings.metrics_port,
                self.counters.snapshot,
                self._peer_counts,
                cache_dir=self.settings.core.cache_dir,
                started_at=self.started_at,
            )
        if on_ready is not None:
            on_ready()

    async def _save_counters(self) -> None:
        while True:
            await trio.sleep(COUNTERS_SAVE_EVERY)
            if self.counters.dirty:
                self.counters.save()

    def team_peers(self) -> set[str]:
        """Peer ids of our teammates: on one of our topics, and passed the team check."""
        return self.team.team_peers()

    def _peer_counts(self) -> tuple[int, int]:
        return len(self.host.get_connected_peers()), len(self.team_peers())

    def _addrs(self) -> list[str]:
        return [str(addr) for addr in self.host.get_addrs()]

    def status(self) -> dict[str, Any]:
        team = sorted(self.team_peers())
        return {
            "ok": True,
            "pid": os.getpid(),
            "peer_id": self.peer_id,
            "addrs": self._addrs(),
            "network_id": self.keyring.network_id,
            "topic": self.topic,
            "topics": self.topics,
            "started_at": self.started_at,
            "peers": [
                {
                    "peer_id": peer.to_base58(),
                    "addrs": self.discovery.peer_addrs(peer),
                    "topic": peer.to_base58() in team,
                }
                for peer in self.host.get_connected_peers()
            ],
            "topic_peers": team,
            "metrics_port": self.metrics_port,
            **self.counters.snapshot(),
        }


if __name__ == "__main__":
    from ghcache.p2p.process import main

    sys.exit(main())
