"""Entries from peers: opening and verifying them, storing them, counting what is refused.

The gossip reader (pushed entries) and the fetch client (pulled ones) both go
through here: whoever verifies an entry from a peer stores it, once.
"""

from __future__ import annotations

import logging
import time

from libp2p.peer.id import ID

from ghcache.core.entry import Entry
from ghcache.core.store import CacheDirError, DiskStore
from ghcache.crypto import Keyring, OpenError, envelope_timestamp
from ghcache.p2p import codec
from ghcache.p2p.accept import Refused, check_envelope_time, verify_entry
from ghcache.p2p.counters import P2PCounters
from ghcache.p2p.settings import P2PSettings

log = logging.getLogger("ghcache.p2p")


class Intake:
    def __init__(
        self,
        *,
        keyring: Keyring,
        settings: P2PSettings,
        store: DiskStore,
        counters: P2PCounters,
    ) -> None:
        self.keyring = keyring
        self.settings = settings
        self.store = store
        self.counters = counters

    def open_verified(self, sealed: bytes, *, key: str, cid: str) -> Entry:
        """The entry sealed in ``sealed``, if we may store it under ``key``; raises Refused."""
        try:
            raw = codec.open_entry(self.keyring, sealed, key=key, cid=cid)
            sealed_at = envelope_timestamp(sealed)
        except (OpenError, ValueError):
            raise Refused("bad_envelope") from None
        now = time.time()
        check_envelope_time(sealed_at, now=now, clock_skew=self.settings.clock_skew)
        return verify_entry(
            raw,
            key=key,
            cid=cid,
            now=now,
            clock_skew=self.settings.clock_skew,
            max_entry_bytes=self.settings.max_entry_bytes,
        )

    def keep(self, entry: Entry) -> None:
        """Write a verified entry to the store (a full or read-only disk is only logged).

        When the same body is held already, who GitHub showed it to here stays true
        (``access``): a newer copy of that body does not cost anyone a confirmation.
        """
        held = self.store.read(entry.key, touch=False)
        if held is not None and held.body_cid == entry.body_cid and held.access:
            entry = entry.replace(access=held.access)
        try:
            self.store.write(entry)
        except CacheDirError as exc:
            log.warning("%s", exc)
            return
        self.counters.add("entries_accepted")

    def refuse(self, refused: Refused, peer: ID | str) -> None:
        self.counters.refuse(refused.reason)
        log.info("refused from %s: %s", peer, refused)

    def stream_failed(self, peer: str, exc: BaseException) -> None:
        # A handler (ours or libp2p's, e.g. gossipsub parsing a garbage frame) failed:
        # only that stream is dropped.
        self.refuse(Refused("malformed", f"stream handler failed: {exc!r}"[:200]), peer)
