"""Announcements over gossipsub: publishing ours in paced batches, reading the team's.

One gossip message carries a sealed batch of announcements (format in
:mod:`ghcache.p2p.codec`).  Small entries travel inside their announcement and
are stored on arrival; bigger ones are handed to the fetch client.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio
from libp2p.peer.id import ID
from libp2p.pubsub.pubsub import Pubsub

from ghcache.core.kernel.keys import is_cid
from ghcache.core.store import DiskStore
from ghcache.crypto import Keyring, OpenError, envelope_timestamp
from ghcache.p2p import codec
from ghcache.p2p.accept import Refused, check_envelope_time, check_key, is_duplicate
from ghcache.p2p.counters import P2PCounters
from ghcache.p2p.fetch import FetchClient
from ghcache.p2p.intake import Intake
from ghcache.p2p.ratelimit import PeerRateLimiter
from ghcache.p2p.settings import P2PSettings
from ghcache.p2p.team import TeamCheck

if TYPE_CHECKING:
    # What mypy sees of trio here comes from trio-typing's stubs (a libp2p dependency).
    from trio_typing import TaskStatus

log = logging.getLogger("ghcache.p2p")

ANNOUNCE_QUEUE = 100_000
MAX_BATCH_ITEMS = 500
# At most 50 gossip messages/s (py-libp2p sustains ~200).  No wait before the first:
# what queues during the pause after a message is the next batch.
PUBLISH_INTERVAL = 0.02
ENVELOPE_SLACK = 4096
MAX_OPENED = 4096  # the subscription queue's size (node.SUBSCRIPTION_QUEUE)
MAX_TAKEN = 65536


class Announcer:
    """Builds announcements of stored entries and publishes them on our topic.

    Every announcement first goes to :class:`ghcache.p2p.push.PushSender`, which
    hands it back here (:meth:`gossip`) when a teammate may be out of its reach.
    """

    def __init__(
        self,
        *,
        pubsub: Pubsub,
        topic: str,
        keyring: Keyring,
        settings: P2PSettings,
        store: DiskStore,
        counters: P2PCounters,
    ) -> None:
        self.pubsub = pubsub
        self.topic = topic
        self.keyring = keyring
        self.settings = settings
        self.store = store
        self.counters = counters
        self._send, self._receive = trio.open_memory_channel[codec.Announcement](ANNOUNCE_QUEUE)

    def prepare(self, key: str) -> codec.Announcement | str:
        """The announcement of the stored entry ``key``, or the reason there is none."""
        if not is_cid(key):
            return "bad_key"  # peers would refuse it
        entry = self.store.read(key)
        if entry is None:
            return "missing"
        if not entry.is_shared or not 200 <= entry.status < 300:
            return "not_shared"  # identity-scoped and negative entries never leave the machine
        raw = entry.for_peers()
        if len(raw) > self.settings.max_entry_bytes:
            return "too_large"
        sealed = b""
        if len(raw) + ENVELOPE_SLACK <= self.settings.inline_entry_bytes:
            sealed = codec.seal_entry(self.keyring, raw, key=key, cid=entry.body_cid)
        return codec.Announcement(
            key=key,
            cid=entry.body_cid,
            stored_at=entry.stored_at,
            ttl=entry.ttl,
            size=len(raw),
            sealed_entry=sealed,
        )

    def gossip(self, item: codec.Announcement) -> bool:
        """Queue ``item`` for publishing; False when the queue is full (counted)."""
        try:
            self._send.send_nowait(item)
        except trio.WouldBlock:
            self.counters.add("announce_dropped")
            return False
        return True

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Publish queued announcements in batches, paced below what gossipsub sustains."""
        task_status.started()
        budget = self.settings.max_announce_bytes - ENVELOPE_SLACK
        carried: codec.Announcement | None = None
        while True:
            first = carried or await self._receive.receive()
            batch, carried = take_batch(first, self._receive, budget)
            await self.pubsub.publish(
                self.topic, codec.encode_batch(self.keyring, self.topic, batch)
            )
            self.counters.add("announce_messages_sent")
            await trio.sleep(PUBLISH_INTERVAL)


def take_batch(
    first: codec.Announcement,
    queue: trio.MemoryReceiveChannel[codec.Announcement],
    budget: int,
) -> tuple[list[codec.Announcement], codec.Announcement | None]:
    """``first`` and what is queued behind it, up to ``budget`` bytes and MAX_BATCH_ITEMS:
    (the batch, the announcement that did not fit, to lead the next one)."""
    batch, size = [first], first.encoded_size()
    while len(batch) < MAX_BATCH_ITEMS:
        try:
            item = queue.receive_nowait()
        except trio.WouldBlock:
            break
        if size + item.encoded_size() > budget:
            return batch, item
        batch.append(item)
        size += item.encoded_size()
    return batch, None


class GossipReader:
    """Reads announcements on our topics (the current secret's and, during a rotation,
    the previous ones'), and stores or fetches what they announce.

    Every message is checked by gossipsub's topic validator (:meth:`validate`)
    before gossipsub forwards it: what we refuse, the rest of the team never gets
    from us.  Gossipsub forwards whatever its validators pass, so an outsider's
    garbage would otherwise travel through us to every teammate.
    """

    def __init__(
        self,
        *,
        pubsub: Pubsub,
        topics: list[str],
        me: ID,
        intake: Intake,
        fetch: FetchClient,
        limiter: PeerRateLimiter,
        team: TeamCheck,
    ) -> None:
        self.pubsub = pubsub
        self.topics = topics
        self.me = me
        self.intake = intake
        self.fetch = fetch
        self.limiter = limiter
        self.team = team
        # Opened batches, from the validator to the reader (keyed by origin, seqno,
        # topic): a message is opened once.  Bounded: pubsub drops a message when a
        # subscription queue is full, and its batch would stay here otherwise.
        self._opened: OrderedDict[tuple[bytes, bytes, str], list[codec.Announcement]] = (
            OrderedDict()
        )
        # Announcements taken lately (stored, or queued for fetching), by key, stored_at, cid.
        self._taken: OrderedDict[tuple[str, float, str], None] = OrderedDict()

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        for topic in self.topics:
            self.pubsub.set_topic_validator(topic, self._validator(topic), False)
        subscriptions = [(topic, await self.pubsub.subscribe(topic)) for topic in self.topics]
        async with trio.open_nursery() as nursery:
            for topic, subscription in subscriptions:
                nursery.start_soon(self._read, topic, subscription)
            task_status.started()

    def _validator(self, topic: str) -> Callable[[ID, Any], bool]:
        def validate(forwarder: ID, message: Any) -> bool:
            return self.validate(topic, forwarder, message)

        return validate

    def validate(self, topic: str, forwarder: ID, message: Any) -> bool:
        """Whether gossipsub may deliver ``message`` to us and forward it to the team."""
        origin = ID(message.from_id)
        if origin == self.me:
            return forwarder == self.me  # our publish (ours coming back is no news)
        self.intake.counters.add("announce_messages_received")
        try:
            if list(message.topicIDs) != [topic]:
                raise Refused("malformed", "message for more than one topic")
            data = bytes(message.data)
            self._check(origin, data)
            items = self._open(topic, data)
        except Refused as refused:
            if refused.reason == "bad_envelope":
                # A teammate never forwards what does not open: whoever handed it to
                # us is not in the team (unless it proved otherwise).
                self.team.outsider(forwarder, refused)
            else:
                self.intake.refuse(refused, origin)
            return False
        self._opened[(bytes(message.from_id), bytes(message.seqno), topic)] = items
        while len(self._opened) > MAX_OPENED:
            self._opened.popitem(last=False)
        return True

    async def _read(self, topic: str, subscription: Any) -> None:
        while True:
            message = await subscription.get()
            origin = ID(message.from_id)
            if origin == self.me:
                continue
            items = self._opened.pop((bytes(message.from_id), bytes(message.seqno), topic), None)
            if items is None:  # validated, but its batch was dropped above: open it again
                try:
                    items = self._open(topic, bytes(message.data))
                except Refused as refused:
                    self.intake.refuse(refused, origin)
                    continue
            self._take_items(origin, items)

    def take_pushed(self, origin: ID, data: bytes) -> None:
        """A batch a teammate pushed to us (:mod:`ghcache.p2p.push`): the checks of a
        gossip message (its size and rate were checked by the push stream), then its items."""
        try:
            items = self._open_any(data)
        except Refused as refused:
            if refused.reason == "bad_envelope":
                self.team.outsider(origin, refused)
            else:
                self.intake.refuse(refused, origin)
            return
        self._take_items(origin, items)

    def _open_any(self, data: bytes) -> list[codec.Announcement]:
        # A push names no topic: during a rotation it is sealed for one of ours.
        for topic in self.topics[:-1]:
            try:
                return self._open(topic, data)
            except Refused as refused:
                if refused.reason != "bad_envelope":
                    raise
        return self._open(self.topics[-1], data)

    def _take_items(self, origin: ID, items: list[codec.Announcement]) -> None:
        self.intake.counters.add("announcements_received", len(items))
        for item in items:
            try:
                self._take(origin, item)
            except Refused as refused:
                self.intake.refuse(refused, origin)

    def _check(self, origin: ID, data: bytes) -> None:
        """What is refused before spending a decryption on it."""
        if len(data) > self.intake.settings.max_announce_bytes:
            raise Refused("oversize", f"announcement of {len(data)} bytes")
        if not self.limiter.allow(str(origin)):
            raise Refused("rate_limited")

    def _open(self, topic: str, data: bytes) -> list[codec.Announcement]:
        settings = self.intake.settings
        try:
            plain = codec.open_batch(self.intake.keyring, topic, data)
            sealed_at = envelope_timestamp(data)
        except (OpenError, ValueError):
            raise Refused("bad_envelope") from None
        check_envelope_time(sealed_at, now=time.time(), clock_skew=settings.clock_skew)
        try:
            return codec.decode_items(plain)
        except codec.MalformedMessage as exc:
            raise Refused("malformed", str(exc)) from None

    def _take(self, origin: ID, item: codec.Announcement) -> None:
        settings = self.intake.settings
        check_key(item.key)
        if item.stored_at > time.time() + settings.clock_skew:
            raise Refused("future", "announced entry stored in the future")
        if item.size > settings.max_entry_bytes:
            raise Refused("oversize", f"announced entry of {item.size} bytes")
        # An announcement can come twice (pushed, and by gossip), and the copies of two
        # versions can cross: the first copy is the news, the second is no replay.
        seen = (item.key, item.stored_at, item.cid)
        if seen in self._taken:
            self.intake.counters.add("duplicates")
            return
        if is_duplicate(item.stored_at, item.cid, self.intake.store.read(item.key)):
            self.intake.counters.add("duplicates")
            return
        if not item.sealed_entry:
            self.fetch.fetch_announced(origin, item)
        else:
            entry = self.intake.open_verified(item.sealed_entry, key=item.key, cid=item.cid)
            if entry.stored_at != item.stored_at:
                raise Refused("malformed", "announcement does not describe its entry")
            self.intake.keep(entry)
        self._taken[seen] = None
        while len(self._taken) > MAX_TAKEN:
            self._taken.popitem(last=False)
