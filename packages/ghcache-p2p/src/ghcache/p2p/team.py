"""The team check: which connected peers hold our team's key.

The gossipsub topic name is no secret (every connected peer learns who is
subscribed to what), so subscribing to it proves nothing.  Each daemon sends
every peer on its topics a hello (:func:`ghcache.p2p.codec.encode_hello`):
proofs sealed with each of its keys for "from me to you".  A peer whose hello
opens is a teammate, and the key it opened with is the one we share with it
(during a rotation it may be a previous one).  Only teammates are asked for
anything (fetch, peer exchange).

A peer whose hello does not open, or that sends gossip we cannot open before
it proved itself, is an outsider: pubsub blacklists it, which takes it out of
the mesh and drops what it sends, until it disconnects (a teammate who fixed
their secret reconnects and is checked again).
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import trio
from libp2p.abc import IHost, INetConn, INetStream, INetwork, INotifee
from libp2p.custom_types import TProtocol
from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import GossipSub
from libp2p.pubsub.pubsub import Pubsub
from multiaddr import Multiaddr

from ghcache.crypto import Keyring, OpenError, SealingKey
from ghcache.p2p import codec
from ghcache.p2p.accept import Refused
from ghcache.p2p.node import FrameTooLarge, read_frame
from ghcache.p2p.ratelimit import PeerRateLimiter

if TYPE_CHECKING:
    # What mypy sees of trio here comes from trio-typing's stubs (a libp2p dependency).
    from trio_typing import TaskStatus

log = logging.getLogger("ghcache.p2p")

HELLO_PROTOCOL = TProtocol(codec.HELLO_PROTOCOL)
CHECK_EVERY = 0.1  # how soon a peer that subscribed gets our hello
HELLO_TIMEOUT = 5.0
HELLO_RETRY = 5.0  # after a hello could not be sent (e.g. a peer that does not speak it)
MAX_HELLO_BYTES = 4096


class TeamCheck:
    def __init__(
        self,
        *,
        host: IHost,
        pubsub: Pubsub,
        gossipsub: GossipSub,
        keyring: Keyring,
        topics: list[str],
        limiter: PeerRateLimiter,
        refuse: Callable[[Refused, ID | str], None],
    ) -> None:
        self.host = host
        self.me = host.get_id().to_base58()
        self.pubsub = pubsub
        self.gossipsub = gossipsub
        self.keyring = keyring
        self.topics = topics
        self.limiter = limiter  # shared with fetch and peer exchange: one budget per peer
        self.refuse = refuse
        self.verified: dict[str, SealingKey] = {}  # teammate -> the key we share
        self.outsiders: set[str] = set()
        self._next_hello: dict[str, float] = {}  # when to (re)send ours; inf once sent
        host.get_network().register_notifee(_ForgetOnDisconnect(self.forget))

    def subscribed(self) -> set[str]:
        """Peers subscribed to one of our topics (what they claim, not what they are)."""
        return {str(p) for t in self.topics for p in self.pubsub.peer_topics.get(t, set())}

    def team_peers(self) -> set[str]:
        """Connected teammates: on our topics, and proved to hold a team key."""
        return {p for p in self.subscribed() if p in self.verified}

    def key_for(self, peer: ID | str) -> SealingKey:
        """The key to seal for ``peer`` with: the one it proved it holds."""
        return self.verified.get(str(peer), self.keyring.current)

    def outsider(self, peer: ID, refused: Refused) -> None:
        """Count ``refused``; unless ``peer`` proved itself already, it is an outsider."""
        self.refuse(refused, peer)
        peer_id = str(peer)
        if peer_id in self.verified or peer_id in self.outsiders:
            return
        self.outsiders.add(peer_id)
        log.info("%s is not in our team: left out of gossip until it disconnects", peer_id)
        self.pubsub.add_to_blacklist(peer)
        self.gossipsub.remove_peer(peer)  # out of the mesh now, not at the next heartbeat

    def forget(self, peer: ID) -> None:
        peer_id = str(peer)
        self.verified.pop(peer_id, None)
        self._next_hello.pop(peer_id, None)
        if peer_id in self.outsiders:
            self.outsiders.discard(peer_id)
            self.pubsub.remove_from_blacklist(peer)

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Answer hellos and send ours to every peer that subscribes, until cancelled."""
        self.host.set_stream_handler(HELLO_PROTOCOL, self._receive)
        try:
            async with trio.open_nursery() as nursery:
                task_status.started()
                while True:
                    self._send_due(nursery)
                    await trio.sleep(CHECK_EVERY)
        finally:
            self.host.remove_stream_handler(HELLO_PROTOCOL)

    def _send_due(self, nursery: trio.Nursery) -> None:
        now = trio.current_time()
        connected = {p.to_base58(): p for p in self.host.get_connected_peers()}
        for peer_id in self.subscribed() - self.outsiders:
            peer = connected.get(peer_id)
            if peer is not None and now >= self._next_hello.get(peer_id, 0.0):
                self._next_hello[peer_id] = math.inf
                nursery.start_soon(self._send_hello, peer)

    async def _send_hello(self, peer: ID) -> None:
        hello = codec.encode_hello(self.keyring, sender=self.me, receiver=peer.to_base58())
        try:
            with trio.fail_after(HELLO_TIMEOUT):
                stream = await self.host.new_stream(peer, [HELLO_PROTOCOL])
                try:
                    await stream.write(codec.frame(hello))
                finally:
                    with contextlib.suppress(Exception):
                        await stream.close()
        except trio.Cancelled:
            raise
        except Exception as exc:
            log.debug("hello to %s failed: %r", peer, exc)
            if peer.to_base58() in self._next_hello:  # not forgotten meanwhile
                self._next_hello[peer.to_base58()] = trio.current_time() + HELLO_RETRY

    async def _receive(self, stream: INetStream) -> None:
        peer = stream.muxed_conn.peer_id
        try:
            if not self.limiter.allow(str(peer)):
                raise Refused("rate_limited")
            with trio.fail_after(HELLO_TIMEOUT):
                payload = await read_frame(stream, limit=MAX_HELLO_BYTES)
            try:
                key = codec.open_hello(
                    self.keyring, payload, sender=peer.to_base58(), receiver=self.me
                )
            except OpenError:
                raise Refused("bad_envelope", "team check failed") from None
            if peer.to_base58() not in self.outsiders:  # an outsider stays one this connection
                self.verified[peer.to_base58()] = key
            with contextlib.suppress(Exception):
                await stream.close()
            return
        except Refused as refused:
            if refused.reason == "rate_limited":
                self.refuse(refused, peer)
            else:
                self.outsider(peer, refused)
        except codec.MalformedMessage as exc:
            self.outsider(peer, Refused("malformed", str(exc)))
        except FrameTooLarge as exc:
            self.outsider(peer, Refused("oversize", str(exc)))
        except Exception as exc:
            log.debug("hello from %s failed: %r", peer, exc)
        with contextlib.suppress(Exception):
            await stream.reset()


class _ForgetOnDisconnect(INotifee):
    """A peer that disconnects is checked again when it comes back."""

    def __init__(self, forget: Callable[[ID], None]) -> None:
        self._forget = forget

    async def disconnected(self, network: INetwork, conn: INetConn) -> None:
        self._forget(conn.muxed_conn.peer_id)

    async def connected(self, network: INetwork, conn: INetConn) -> None:
        return None

    async def opened_stream(self, network: INetwork, stream: INetStream) -> None:
        return None

    async def closed_stream(self, network: INetwork, stream: INetStream) -> None:
        return None

    async def listen(self, network: INetwork, multiaddr: Multiaddr) -> None:
        return None

    async def listen_close(self, network: INetwork, multiaddr: Multiaddr) -> None:
        return None
