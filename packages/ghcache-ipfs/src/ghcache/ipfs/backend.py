"""Kubo as the team's long memory: put what is stored, find what is missed, release what expired.

One owner per datum: whatever :meth:`IpfsBackend.find` verifies it writes to
the store itself, as the p2p daemon does with a teammate's entry; core reads it
from there.  Every call runs within one :class:`~ghcache.ipfs.kubo.Deadline`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ghcache.ipfs import records
from ghcache.ipfs.kubo import MAX_BLOCK_BYTES, Deadline, Kubo
from ghcache.ipfs.records import Record, Unreadable

if TYPE_CHECKING:
    from ghcache.core.entry import Entry
    from ghcache.core.store import DiskStore
    from ghcache.crypto import Keyring

log = logging.getLogger("ghcache.ipfs")


class TooLarge(Exception):
    """The sealed entry is over Kubo's 1 MiB block limit: it is not kept in IPFS."""


@dataclass
class Summary:
    """What ``status``, ``sync`` and ``gc`` report."""

    entries: int = 0
    bytes: int = 0
    newest_stored_at: float | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, amount: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount


class IpfsBackend:
    def __init__(self, kubo: Kubo, keyring: Keyring, *, timeout: float) -> None:
        self.kubo = kubo
        self.keyring = keyring
        self.timeout = timeout

    # -- the hooks' work ----------------------------------------------------------

    def put(self, entry: Entry, deadline: Deadline | None = None) -> Record:
        """Seal ``entry`` as a block, put and pin it, then file its record (in this order, so
        a record found always names a block that is there)."""
        deadline = deadline or Deadline(self.timeout)
        block = records.seal_block(self.keyring, entry)
        if len(block) > MAX_BLOCK_BYTES:
            raise TooLarge(f"sealed entry of {len(block)} bytes")
        record = records.make_record(entry, block)
        key = self.keyring.current
        self.kubo.block_put(block, deadline)
        self.kubo.pin_add(record.block, records.pin_name(key.network_id, record), deadline)
        self.kubo.files_write(
            records.record_path(key, entry.key), records.seal_record(key, record), deadline
        )
        return record

    def record_for(self, cache_key: str, deadline: Deadline) -> Record | None:
        """The newest readable record for ``cache_key`` (current key's index first)."""
        for key in self.keyring.keys:
            name = records.record_name(key, cache_key)
            sealed = self.kubo.files_read(
                f"{records.index_dir(key.network_id)}/{name}",
                deadline,
                max_bytes=records.MAX_RECORD_BYTES,
            )
            if sealed is None:
                continue
            try:
                return records.open_record(self.keyring, key, name, sealed)
            except Unreadable as exc:
                log.debug("ipfs record for %s refused: %s", cache_key, exc)
        return None

    def find(self, cache_key: str, newer_than: float, store: DiskStore) -> Entry | None:
        """A verified copy of ``cache_key`` stored after ``newer_than``, written to ``store``."""
        deadline = Deadline(self.timeout)
        record = self.record_for(cache_key, deadline)
        if record is None or record.stored_at <= newer_than:
            return None
        block = self.kubo.block_get(record.block, deadline, max_bytes=MAX_BLOCK_BYTES)
        entry = records.open_block(self.keyring, record, block, now=time.time())
        held = store.read(cache_key, touch=False)
        if held is not None and held.stored_at >= entry.stored_at:
            return None  # someone stored a newer copy here meanwhile
        if held is not None and held.body_cid == entry.body_cid and held.access:
            # The same body was shown to people here: their confirmations stay true.
            entry = entry.replace(access=held.access)
        store.write(entry)
        return entry

    # -- commands -------------------------------------------------------------------

    def pins(self, deadline: Deadline) -> dict[str, records.PinInfo]:
        """Our team's pins (any of our keys' network ids), by block CID."""
        ours = set(self.keyring.network_ids)
        found = {}
        for cid, name in self.kubo.pin_ls_names(deadline).items():
            info = records.parse_pin_name(name)
            if info is not None and info.network_id in ours:
                found[cid] = info
        return found

    def status(self, deadline: Deadline) -> Summary:
        summary = Summary()
        for info in self.pins(deadline).values():
            summary.entries += 1
            summary.bytes += info.size
            if summary.newest_stored_at is None or info.stored_at > summary.newest_stored_at:
                summary.newest_stored_at = float(info.stored_at)
        return summary

    def sync(
        self, store: DiskStore, *, now: float, max_stale: float, deadline: Deadline
    ) -> Summary:
        """Put every shared 2xx entry of ``store`` that IPFS lacks or holds older."""
        summary = Summary()
        for entry in store.entries():
            if not entry.is_shared or not 200 <= entry.status < 300:
                continue
            if entry.stored_at + entry.ttl + max_stale < now:
                summary.add("past_max_stale")
                continue
            record = self.record_for(entry.key, deadline)
            if record is not None and record.stored_at >= entry.stored_at:
                summary.add("present")
                continue
            try:
                self.put(entry, deadline)
            except TooLarge:
                summary.add("too_large")
                continue
            summary.add("put")
        return summary

    def gc(self, *, now: float, max_stale: float, deadline: Deadline) -> Summary:
        """Release pins of entries more than ``max_stale`` past expiry, then drop the records
        whose block is no longer pinned by us."""
        summary = Summary()
        pins = self.pins(deadline)
        for cid, info in list(pins.items()):
            if info.expires_at + max_stale < now:
                if self.kubo.pin_rm(cid, deadline):
                    summary.add("released")
                    summary.bytes += info.size
                del pins[cid]
        for key in self.keyring.keys:
            directory = records.index_dir(key.network_id)
            for name in self.kubo.files_ls(directory, deadline) or []:
                path = f"{directory}/{name}"
                sealed = self.kubo.files_read(path, deadline, max_bytes=records.MAX_RECORD_BYTES)
                if sealed is None:
                    continue
                try:
                    record = records.open_record(self.keyring, key, name, sealed)
                except Unreadable:
                    summary.add("unreadable")  # not ours to judge: left in place
                    continue
                if record.block not in pins:
                    self.kubo.files_rm(path, deadline)
                    summary.add("records_removed")
        return summary
