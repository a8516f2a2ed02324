"""The fetch protocol (``/ghcache/fetch/1.0.0``): asking peers for entries, and answering them.

:class:`FetchClient` asks on a CLI lookup and for announced entries too big to
travel inline; :class:`FetchServer` answers peers from the store.  Formats are
in :mod:`ghcache.p2p.codec`, acceptance rules in :mod:`ghcache.p2p.accept`.
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
from libp2p.peer.id import ID

from ghcache.core.entry import Entry
from ghcache.crypto import OpenError, SealingKey, envelope_timestamp
from ghcache.p2p import codec
from ghcache.p2p.accept import Refused, check_envelope_time, check_key
from ghcache.p2p.intake import Intake
from ghcache.p2p.node import FrameTooLarge, read_frame
from ghcache.p2p.ratelimit import PeerRateLimiter

if TYPE_CHECKING:
    # What mypy sees of trio here comes from trio-typing's stubs (a libp2p dependency).
    from trio_typing import TaskStatus

log = logging.getLogger("ghcache.p2p")

FETCH_PROTOCOL = TProtocol(codec.FETCH_PROTOCOL)
FETCH_CONCURRENCY = 8  # announced entries fetched at once
MAX_PENDING_FETCHES = 2000  # announced entries waiting to be fetched
FETCH_TIMEOUT = 5.0
MAX_LOOKUP_TIMEOUT = 10.0
# A fetch answer holds an entry plus its envelope.
ENVELOPE_ROOM = 64 * 1024


class FetchClient:
    def __init__(
        self,
        *,
        host: IHost,
        intake: Intake,
        team_peers: Callable[[], set[str]],
        key_for: Callable[[ID], SealingKey],
    ) -> None:
        self.host = host
        self.intake = intake
        self.team_peers = team_peers
        self.key_for = key_for  # the key a teammate proved it holds (a previous one, mid-rotation)
        self.max_frame = intake.settings.max_entry_bytes + ENVELOPE_ROOM
        self._announced_send, self._announced_receive = trio.open_memory_channel[
            tuple[ID, codec.Announcement]
        ](MAX_PENDING_FETCHES)

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Fetch announced entries, a few at a time, until cancelled."""
        async with trio.open_nursery() as nursery:
            for _ in range(FETCH_CONCURRENCY):
                nursery.start_soon(self._fetch_announced)
            task_status.started()

    def fetch_announced(self, origin: ID, item: codec.Announcement) -> None:
        """Queue ``item`` (announced by ``origin`` without its entry) to be fetched."""
        try:
            self._announced_send.send_nowait((origin, item))
        except trio.WouldBlock:
            raise Refused(
                "rate_limited", "too many announced entries waiting to be fetched"
            ) from None

    async def _fetch_announced(self) -> None:
        async for origin, item in self._announced_receive:
            team = self.team_peers()
            connected = [p for p in self.host.get_connected_peers() if p.to_base58() in team]
            peers = [origin] if origin in connected else connected
            await self.fetch_first(peers, item.key, FETCH_TIMEOUT)

    async def lookup(self, key: str, *, newer_than: float, timeout: float) -> bool:
        """Whether the store now holds a fresh copy of ``key`` stored after ``newer_than``.

        A copy already here counts (pushed since the CLI looked); otherwise every
        team peer is asked at once within ``timeout``, and the first copy that
        qualifies is stored (by :meth:`fetch_from`) and ends the lookup.
        """
        counters = self.intake.counters
        counters.add("lookups")
        try:
            check_key(key)  # a lookup's key goes to peers and comes back as a file name
        except Refused as refused:
            self.intake.refuse(refused, "the local CLI")
            return False

        def wanted(entry: Entry) -> bool:
            return entry.stored_at > newer_than and entry.is_fresh(time.time())

        held = self.intake.store.read(key)
        if held is not None and held.is_shared and wanted(held):
            counters.add("lookup_local_hits")
            return True
        team = self.team_peers()
        peers = [p for p in self.host.get_connected_peers() if p.to_base58() in team]
        timeout = min(MAX_LOOKUP_TIMEOUT, max(0.0, timeout))
        if await self.fetch_first(peers, key, timeout, wanted=wanted) is None:
            return False
        counters.add("lookup_peer_hits")
        return True

    async def fetch_first(
        self,
        peers: list[ID],
        key: str,
        timeout: float,
        *,
        wanted: Callable[[Entry], bool] | None = None,
    ) -> Entry | None:
        """Ask ``peers`` in parallel; the first valid (and ``wanted``) entry wins, the rest
        are cancelled."""
        found: list[Entry] = []

        async def ask(peer: ID, cancel: trio.CancelScope) -> None:
            entry = await self.fetch_from(peer, key, wanted=wanted)
            if entry is not None and not found:
                found.append(entry)
                cancel.cancel()

        with trio.move_on_after(timeout):
            async with trio.open_nursery() as nursery:
                for peer in peers:
                    nursery.start_soon(ask, peer, nursery.cancel_scope)
        return found[0] if found else None

    async def fetch_from(
        self, peer: ID, key: str, *, wanted: Callable[[Entry], bool] | None = None
    ) -> Entry | None:
        """The peer's verified entry for ``key`` (stored when newer than ours), or None.

        An answer older than what we hold is ignored, not refused: we asked, and
        the peer merely has an older copy.  So is one that is not ``wanted``.
        """
        counters = self.intake.counters
        counters.add("fetches_made")
        try:
            stream = await self.host.new_stream(peer, [FETCH_PROTOCOL])
            try:
                request = codec.encode_fetch_request(self.key_for(peer), key)
                await stream.write(codec.frame(request))
                payload = await read_frame(stream, limit=self.max_frame)
            finally:
                with contextlib.suppress(Exception):
                    await stream.close()
            answer = codec.decode_fetch_response(payload)
            if answer is None:
                return None
            cid, sealed = answer
            entry = self.intake.open_verified(sealed, key=key, cid=cid)
            held = self.intake.store.read(key)
            if held is not None and entry.stored_at < held.stored_at:
                return None
            if held is None or entry.stored_at > held.stored_at:
                self.intake.keep(entry)
            if wanted is not None and not wanted(entry):
                return None
            counters.add("fetch_hits")
            return entry
        except Refused as refused:
            self.intake.refuse(refused, peer)
        except FrameTooLarge as exc:
            self.intake.refuse(Refused("oversize", str(exc)), peer)
        except codec.MalformedMessage as exc:
            self.intake.refuse(Refused("malformed", str(exc)), peer)
        except trio.Cancelled:
            raise
        except Exception as exc:  # the peer vanished, reset the stream, or is not ghcache
            log.debug("fetch %s from %s failed: %r", key, peer, exc)
        return None


class FetchServer:
    def __init__(self, *, host: IHost, intake: Intake, limiter: PeerRateLimiter) -> None:
        self.host = host
        self.intake = intake
        self.limiter = limiter  # shared with peer exchange: one request budget per peer

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Answer fetch requests until cancelled.

        libp2p runs each request's handler in its own nursery; this bounds how
        long the protocol is offered.
        """
        self.host.set_stream_handler(FETCH_PROTOCOL, self._serve)
        try:
            task_status.started()
            await trio.sleep_forever()
        finally:
            self.host.remove_stream_handler(FETCH_PROTOCOL)

    async def _serve(self, stream: INetStream) -> None:
        peer = stream.muxed_conn.peer_id
        intake = self.intake
        try:
            if not self.limiter.allow(str(peer)):
                raise Refused("rate_limited")
            with trio.fail_after(FETCH_TIMEOUT):
                payload = await read_frame(stream, limit=4096)
                try:
                    # Answered with the request's key: during a rotation a peer on the
                    # previous secret alone cannot open our current one.
                    key, answer_key = codec.decode_fetch_request(intake.keyring, payload)
                    sealed_at = envelope_timestamp(payload)
                except (OpenError, ValueError):
                    raise Refused("bad_envelope") from None
                check_envelope_time(
                    sealed_at, now=time.time(), clock_skew=intake.settings.clock_skew
                )
                check_key(key)
                entry = intake.store.read(key)
                if entry is None or not entry.is_shared or not 200 <= entry.status < 300:
                    reply = codec.NOT_FOUND
                    intake.counters.add("fetches_not_found")
                else:
                    raw = entry.for_peers()
                    sealed = codec.seal_entry(answer_key, raw, key=key, cid=entry.body_cid)
                    reply = codec.encode_fetch_found(entry.body_cid, sealed)
                    intake.counters.add("fetches_served")
                await stream.write(codec.frame(reply))
                await stream.close()
                return
        except Refused as refused:
            intake.refuse(refused, peer)
        except FrameTooLarge as exc:
            intake.refuse(Refused("oversize", str(exc)), peer)
        except codec.MalformedMessage as exc:
            intake.refuse(Refused("malformed", str(exc)), peer)
        except Exception as exc:
            log.debug("serving fetch to %s failed: %r", peer, exc)
        with contextlib.suppress(Exception):
            await stream.reset()
