"""Direct push (``/ghcache/push/1.0.0``): our announcements straight to each connected teammate.

Gossipsub costs ~10 ms per message on loopback, and a few ms of CPU in every
daemon (py-libp2p signs each message, wraps a signed peer record into each RPC,
checks both on arrival, and forwards to the mesh); a frame on a stream that is
already open costs ~2 ms.  So each batch travels over one long-lived stream per
peer that passed the team check, as length-prefixed frames holding exactly what
a gossip message holds (a sealed batch, :mod:`ghcache.p2p.codec`), and gossip
carries it only when a teammate may be out of the push's reach (multi-hop).

The receiver hands each frame to the gossip reader's own checks
(:meth:`ghcache.p2p.gossip.GossipReader.take_pushed`): one place for the rules,
and whichever copy comes second is a duplicate.  It never forwards a pushed
frame: reaching who we are not connected to is gossip's job.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import trio
from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol
from libp2p.peer.id import ID

from ghcache.crypto import Keyring
from ghcache.p2p import codec
from ghcache.p2p.accept import Refused
from ghcache.p2p.counters import P2PCounters
from ghcache.p2p.gossip import ENVELOPE_SLACK, Announcer, take_batch
from ghcache.p2p.node import FrameTooLarge, read_frame
from ghcache.p2p.ratelimit import PeerRateLimiter
from ghcache.p2p.settings import P2PSettings
from ghcache.p2p.team import TeamCheck

if TYPE_CHECKING:
    # What mypy sees of trio here comes from trio-typing's stubs (a libp2p dependency).
    from trio_typing import TaskStatus

log = logging.getLogger("ghcache.p2p")

PUSH_PROTOCOL = TProtocol(codec.PUSH_PROTOCOL)
PUSH_QUEUE = 100_000  # announcements waiting to be pushed (as the gossip queue)
PEER_QUEUE = 256  # frames waiting for one peer; beyond, that peer gets them by gossip
REFRESH_EVERY = 0.5  # how soon a new teammate gets its stream (gossip reaches it meanwhile)
PUSH_RETRY = 2.0  # after a push stream failed (the peer left, or does not speak push)
OPEN_TIMEOUT = 5.0
# A teammate may open its stream a moment before its hello has reached us.
TEAM_WAIT = 2.0
TEAM_POLL = 0.02


def whole_team(
    *,
    me: str,
    subscribed: set[str],
    reached: set[str],
    reported: Callable[[str], frozenset[str] | None],
) -> bool:
    """Whether gossip would tell no teammate more than a push that ``reached`` these peers.

    Every peer on our topics must have been reached (one not checked yet, an
    outsider, one without a push stream, one on a previous secret: gossip is what
    reaches it, or tells it nothing it can open, as before), and none of them may
    have a teammate we did not reach (then gossip hops there): the team is then
    exactly us and whom we reached.  A peer that has not told us its teammates yet
    could have any.
    """
    if subscribed - reached:
        return False
    for peer_id in reached:
        theirs = reported(peer_id)
        if theirs is None or theirs - reached - {me}:
            return False
    return True


class _Pacer:
    """At most ``rate`` frames/s to a peer, bursts of ``rate``: a lone batch leaves at
    once, and a receiver with the same CACHE_PEER_RATE (bucket of 2x) never refuses us."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.updated = trio.current_time()

    async def take(self) -> None:
        now = trio.current_time()
        self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            await trio.sleep((1 - self.tokens) / self.rate)
            self.tokens, self.updated = 1.0, trio.current_time()
        self.tokens -= 1


class PushSender:
    """Where every announcement goes first.

    Batches what is queued without waiting, writes each batch to every connected
    teammate that holds our current key, over its own stream, and hands the batch
    to gossip (:meth:`ghcache.p2p.gossip.Announcer.gossip`) unless the push
    reached the whole team as far as we can tell: every peer on our topics got
    it, and none of them reported (peer exchange) a teammate we are not pushing to.
    Gossip costs every daemon a few ms of CPU per message, which on a busy machine
    delayed the pushes themselves.
    """

    def __init__(
        self,
        *,
        host: IHost,
        keyring: Keyring,
        topic: str,
        settings: P2PSettings,
        team: TeamCheck,
        announcer: Announcer,
        reported: Callable[[str], frozenset[str] | None],
        counters: P2PCounters,
    ) -> None:
        self.host = host
        self.me = host.get_id().to_base58()
        self.keyring = keyring
        self.topic = topic
        self.settings = settings
        self.team = team
        self.announcer = announcer
        self.reported = reported  # a teammate's own teammates, None until it told us
        self.counters = counters
        self._send, self._receive = trio.open_memory_channel[codec.Announcement](PUSH_QUEUE)
        self._pipes: dict[str, trio.MemorySendChannel[bytes]] = {}
        self._open: set[str] = set()  # peers whose push stream is open
        self._retry_at: dict[str, float] = {}

    def announce(self, key: str) -> str | None:
        """Queue the stored entry ``key`` to be announced; the reason it was not, or None."""
        item = self.announcer.prepare(key)
        if isinstance(item, str):
            return item
        try:
            self._send.send_nowait(item)
        except trio.WouldBlock:
            self.counters.add("announce_dropped")
            return "queue_full"
        return None

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._keep_pipes, nursery)
            nursery.start_soon(self._push_batches)
            task_status.started()

    def _targets(self) -> dict[str, ID]:
        """Connected teammates we can seal for with our current key (one sealing for all;
        a peer on a previous secret alone gets gossip and fetches, as before)."""
        team = self.team.team_peers()
        current = self.keyring.current
        return {
            p.to_base58(): p
            for p in self.host.get_connected_peers()
            if p.to_base58() in team and self.team.key_for(p) is current
        }

    async def _keep_pipes(self, nursery: trio.Nursery) -> None:
        # Opening a stream costs a few ms: open it as soon as a peer proves itself,
        # not on the first announcement it should get.
        while True:
            now = trio.current_time()
            for peer_id, peer in self._targets().items():
                if peer_id not in self._pipes and now >= self._retry_at.get(peer_id, 0.0):
                    send, receive = trio.open_memory_channel[bytes](PEER_QUEUE)
                    self._pipes[peer_id] = send
                    nursery.start_soon(self._write_to, peer_id, peer, send, receive)
            await trio.sleep(REFRESH_EVERY)

    async def _push_batches(self) -> None:
        budget = self.settings.max_announce_bytes - ENVELOPE_SLACK
        pacer = _Pacer(float(self.settings.peer_rate))
        carried: codec.Announcement | None = None
        while True:
            first = carried or await self._receive.receive()
            # No linger: what queued while the last frame went out is the batch.
            batch, carried = take_batch(first, self._receive, budget)
            self.counters.add("announcements_sent", len(batch))
            if not self._whole_team(self._push(batch)):
                for item in batch:
                    self.announcer.gossip(item)
            await pacer.take()

    def _push(self, batch: list[codec.Announcement]) -> set[str]:
        """Queue ``batch`` for every target; the peers it will surely reach."""
        reached: set[str] = set()
        targets = [p for p in self._targets() if p in self._pipes]
        if not targets:
            return reached
        data = codec.frame(codec.encode_batch(self.keyring, self.topic, batch))
        for peer_id in targets:
            try:
                self._pipes[peer_id].send_nowait(data)
            except trio.WouldBlock:  # a slow peer: gossip reaches it
                log.debug("push to %s skipped: %d frames waiting", peer_id, PEER_QUEUE)
                continue
            except trio.BrokenResourceError:
                continue  # its writer just gave up
            if peer_id in self._open:
                reached.add(peer_id)
        return reached

    def _whole_team(self, reached: set[str]) -> bool:
        return whole_team(
            me=self.me, subscribed=self.team.subscribed(), reached=reached, reported=self.reported
        )

    async def _write_to(
        self,
        peer_id: str,
        peer: ID,
        send: trio.MemorySendChannel[bytes],
        receive: trio.MemoryReceiveChannel[bytes],
    ) -> None:
        """Own one peer's stream: open it, write every frame queued for it, until it fails."""
        stream: INetStream | None = None
        try:
            with trio.fail_after(OPEN_TIMEOUT):
                stream = await self.host.new_stream(peer, [PUSH_PROTOCOL])
            self._open.add(peer_id)
            async for data in receive:
                await stream.write(data)
        except trio.Cancelled:
            raise
        except Exception as exc:  # gone, reset, or not speaking push: gossip covers it
            log.debug("push stream to %s ended: %r", peer_id, exc)
            self._retry_at[peer_id] = trio.current_time() + PUSH_RETRY
        finally:
            if self._pipes.get(peer_id) is send:
                del self._pipes[peer_id]
                self._open.discard(peer_id)
            receive.close()
            if stream is not None:
                with contextlib.suppress(Exception):
                    await stream.reset()


class PushReceiver:
    """Reads teammates' push streams; everyone else's are refused (``not_team``) and reset."""

    def __init__(
        self,
        *,
        host: IHost,
        team: TeamCheck,
        settings: P2PSettings,
        limiter: PeerRateLimiter,
        take: Callable[[ID, bytes], None],
        refuse: Callable[[Refused, ID | str], None],
    ) -> None:
        self.host = host
        self.team = team
        self.settings = settings
        self.limiter = limiter  # its own budget: a batch may also arrive by gossip
        self.take = take
        self.refuse = refuse

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.host.set_stream_handler(PUSH_PROTOCOL, self._receive)
        try:
            task_status.started()
            await trio.sleep_forever()
        finally:
            self.host.remove_stream_handler(PUSH_PROTOCOL)

    async def _is_teammate(self, peer_id: str) -> bool:
        if peer_id in self.team.outsiders:
            return False
        with trio.move_on_after(TEAM_WAIT):
            while peer_id not in self.team.verified:
                await trio.sleep(TEAM_POLL)
            return True
        return False

    async def _receive(self, stream: INetStream) -> None:
        peer = stream.muxed_conn.peer_id
        try:
            if not await self._is_teammate(peer.to_base58()):
                raise Refused("not_team", "push from a peer that did not pass the team check")
            while True:
                try:
                    data = await read_frame(stream, limit=self.settings.max_announce_bytes)
                except EOFError:
                    break
                if not self.limiter.allow(peer.to_base58()):
                    self.refuse(Refused("rate_limited", "push"), peer)
                    continue
                self.take(peer, data)
        except Refused as refused:
            self.refuse(refused, peer)
        except FrameTooLarge as exc:
            self.refuse(Refused("oversize", str(exc)), peer)
        except Exception as exc:  # the peer went away mid-frame
            log.debug("push stream from %s ended: %r", peer, exc)
        with contextlib.suppress(Exception):
            await stream.reset()
