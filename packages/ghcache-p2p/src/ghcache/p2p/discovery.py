"""Who the daemon connects to, and how it finds them.

Bootstrap peers (CACHE_BOOTSTRAP_PEERS), peers remembered from earlier runs
(``p2p_peers.json``), peers found by mDNS, and team peers told of by other team
members (the peer exchange protocol).  Each is redialled with its own backoff
whenever it is not connected.  Team peers seen are remembered every second.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import trio
from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol
from libp2p.discovery.events.peerDiscovery import peerDiscovery
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo
from multiaddr import Multiaddr

from ghcache.crypto import Keyring, OpenError, SealingKey
from ghcache.p2p import codec
from ghcache.p2p.accept import Refused
from ghcache.p2p.node import FrameTooLarge, read_frame
from ghcache.p2p.peers import DialTarget, PeerBook
from ghcache.p2p.ratelimit import PeerRateLimiter

if TYPE_CHECKING:
    # What mypy sees of trio here comes from trio-typing's stubs (a libp2p dependency).
    from trio_typing import TaskStatus

log = logging.getLogger("ghcache.p2p")

PEERS_PROTOCOL = TProtocol(codec.PEERS_PROTOCOL)
EXCHANGE_EVERY = 30.0
EXCHANGE_TIMEOUT = 5.0
MAX_TARGETS = 512
DIAL_EVERY = 0.25
HOUSEKEEPING_EVERY = 1.0  # remember connected team peers, start due exchanges


class Discovery:
    def __init__(
        self,
        *,
        host: IHost,
        keyring: Keyring,
        book: PeerBook,
        limiter: PeerRateLimiter,
        refuse: Callable[[Refused, ID | str], None],
        team_peers: Callable[[], set[str]],
        key_for: Callable[[ID], SealingKey],
    ) -> None:
        self.host = host
        self.peer_id = host.get_id().to_base58()
        self.keyring = keyring
        self.book = book
        self.limiter = limiter  # shared with the fetch protocol: one budget per peer
        self.refuse = refuse
        self.team_peers = team_peers  # teammates: on our topics and passed the team check
        self.key_for = key_for  # the key a teammate proved it holds
        self.targets: dict[str, DialTarget] = {}
        self._exchanged: dict[str, float] = {}  # peer id -> when we last asked for its peers
        self._exchange_seen: set[str] = set()  # team peers at the last exchange round
        # What each teammate last told us of its own teammates (None: a full list, so
        # maybe not all): whether pushing to ours reaches the whole team (push.py).
        self._reported: dict[str, frozenset[str] | None] = {}

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve peer exchange, dial targets and exchange peer lists until cancelled."""
        self.host.set_stream_handler(PEERS_PROTOCOL, self.serve_peers)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._dial_loop, nursery)
                nursery.start_soon(self._housekeeping, nursery)
                task_status.started()
        finally:
            self.host.remove_stream_handler(PEERS_PROTOCOL)

    def add_target(self, peer_id: str, addrs: list[str], source: str) -> None:
        if peer_id == self.peer_id or not addrs:
            return
        target = self.targets.get(peer_id)
        if target is None:
            if len(self.targets) >= MAX_TARGETS:
                return
            self.targets[peer_id] = DialTarget(peer_id, list(addrs), source)
            return
        if source == "bootstrap" or target.source != "bootstrap":
            target.source = source
        target.addrs = sorted(set(target.addrs) | set(addrs))[-8:]

    def should_dial(self, target: DialTarget) -> bool:
        # Two daemons that find each other by mDNS hear of each other at the same
        # moment and would connect twice: only the one with the smaller peer id
        # dials.  Everyone else is dialled by whoever learns of them first (peers
        # told of by a common peer learn at different times; the other side of a
        # remembered or bootstrap peer may only know our old address).
        return target.source != "mdns" or self.peer_id < target.peer_id

    async def _dial_loop(self, nursery: trio.Nursery) -> None:
        while True:
            connected = {p.to_base58() for p in self.host.get_connected_peers()}
            now = trio.current_time()
            for target in list(self.targets.values()):
                if target.peer_id in connected:
                    target.succeeded()
                elif target.due(now) and self.should_dial(target):
                    target.dialing = True
                    nursery.start_soon(self._dial, target)
            await trio.sleep(DIAL_EVERY)

    async def _dial(self, target: DialTarget) -> None:
        try:
            info = PeerInfo(ID.from_base58(target.peer_id), [Multiaddr(a) for a in target.addrs])
            # The swarm refuses to dial a peer for 60 s after all its addresses
            # failed once; our own backoff decides when to try again.
            unblock = getattr(self.host.get_network(), "unblock_peer", None)
            if unblock is not None:
                unblock(info.peer_id)
            with trio.fail_after(DIAL_EVERY + 5.0):
                await self.host.connect(info)
            log.info("connected to %s (%s)", target.peer_id, target.source)
            target.succeeded()
        except trio.Cancelled:
            raise
        except Exception as exc:
            log.debug("dial %s failed: %r", target.peer_id, exc)
            target.failed(trio.current_time())
        finally:
            target.dialing = False

    def watch_mdns(self) -> None:
        token = trio.lowlevel.current_trio_token()

        def discovered(info: PeerInfo) -> None:  # called on zeroconf's thread
            addrs = [str(a) for a in info.addrs]
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(self.add_target, str(info.peer_id), addrs, "mdns")

        peerDiscovery.register_peer_discovered_handler(discovered)

    async def _housekeeping(self, nursery: trio.Nursery) -> None:
        while True:
            await trio.sleep(HOUSEKEEPING_EVERY)
            self.remember_peers()
            self._start_exchanges(nursery)

    # -- peer exchange ----------------------------------------------------------

    def _start_exchanges(self, nursery: trio.Nursery) -> None:
        now = trio.current_time()
        topic_peers = self.team_peers()
        if topic_peers - self._exchange_seen:
            # Someone joined: everyone we know may want to know them, ask all again.
            self._exchanged.clear()
        self._exchange_seen = topic_peers
        for peer in self.host.get_connected_peers():
            peer_id = peer.to_base58()
            if peer_id not in topic_peers:
                continue
            if now - self._exchanged.get(peer_id, -EXCHANGE_EVERY) >= EXCHANGE_EVERY:
                self._exchanged[peer_id] = now
                nursery.start_soon(self._exchange_peers, peer)

    async def _exchange_peers(self, peer: ID) -> None:
        try:
            with trio.fail_after(EXCHANGE_TIMEOUT):
                stream = await self.host.new_stream(peer, [PEERS_PROTOCOL])
                try:
                    request = codec.encode_peers_request(self.key_for(peer))
                    await stream.write(codec.frame(request))
                    payload = await read_frame(stream, limit=64 * 1024)
                finally:
                    with contextlib.suppress(Exception):
                        await stream.close()
            try:
                peers = codec.decode_peers_response(self.keyring, payload)
            except OpenError:
                raise Refused("bad_envelope") from None
        except Refused as refused:
            self.refuse(refused, peer)
            return
        except codec.MalformedMessage as exc:
            self.refuse(Refused("malformed", str(exc)), peer)
            return
        except trio.Cancelled:
            raise
        except Exception as exc:
            log.debug("peer exchange with %s failed: %r", peer, exc)
            # Try again in a couple of seconds rather than at the next full round.
            self._exchanged[peer.to_base58()] = trio.current_time() - EXCHANGE_EVERY + 2.0
            return
        complete = len(peers) < codec.MAX_EXCHANGED_PEERS
        self._reported[peer.to_base58()] = frozenset(p for p, _ in peers) if complete else None
        connected = {p.to_base58() for p in self.host.get_connected_peers()}
        for peer_id, addrs in peers:
            if peer_id not in connected:
                self.add_target(peer_id, addrs, "exchange")

    async def serve_peers(self, stream: INetStream) -> None:
        peer = stream.muxed_conn.peer_id
        try:
            if not self.limiter.allow(str(peer)):
                raise Refused("rate_limited")
            with trio.fail_after(EXCHANGE_TIMEOUT):
                payload = await read_frame(stream, limit=4096)
                try:
                    answer_key = codec.check_peers_request(self.keyring, payload)
                except OpenError:
                    raise Refused("bad_envelope") from None
                topic_peers = self.team_peers()
                known = [
                    (p.to_base58(), [a for a in self.peer_addrs(p) if "/tcp/" in a])
                    for p in self.host.get_connected_peers()
                    if p != peer and p.to_base58() in topic_peers
                ]
                reply = codec.encode_peers_response(answer_key, [k for k in known if k[1]])
                await stream.write(codec.frame(reply))
                await stream.close()
                return
        except Refused as refused:
            self.refuse(refused, peer)
        except FrameTooLarge as exc:
            self.refuse(Refused("oversize", str(exc)), peer)
        except Exception as exc:
            log.debug("serving peers to %s failed: %r", peer, exc)
        with contextlib.suppress(Exception):
            await stream.reset()

    def reported(self, peer_id: str) -> frozenset[str] | None:
        """The teammates ``peer_id`` told us it has (itself and us aside), if it did."""
        return self._reported.get(peer_id)

    def peer_addrs(self, peer: ID) -> list[str]:
        try:
            return [str(a) for a in self.host.get_peerstore().addrs(peer)]
        except Exception:  # PeerStoreError: identify has not told us yet
            return []

    def remember_peers(self) -> None:
        changed = False
        now = time.time()
        topic_peers = self.team_peers()
        for peer in self.host.get_connected_peers():
            peer_id = peer.to_base58()
            if peer_id not in topic_peers:
                continue  # only ghcache peers of our team are worth redialing
            addrs = [a for a in self.peer_addrs(peer) if "/tcp/" in a]
            if self.book.remember(peer_id, addrs, now):
                changed = True
                self.add_target(peer_id, addrs, "remembered")
        if changed:
            self.book.save()
