"""What ghcache keeps in IPFS, as bytes and names, and what it accepts back (sans-IO).

Block   = ghcache.crypto.entries.seal_entry(entry bytes as peers get them, key, body CID)
          exactly the sealed entry the p2p daemon sends a teammate; stored as a raw
          block (CIDv1, raw, sha2-256) and pinned under a name saying when it expires.
Record  = seal(JSON {"v", "key", "block", "body_cid", "stored_at", "ttl", "size"},
               RECORD_AD + network id + "\\0" + name)
          at ``/ghcache/<network id>/index/<name>`` in Kubo's MFS, where name is the
          keyed name of the cache key: a record opens only in its own slot.

The record's file name is an HMAC of the cache key under the team key
(``SealingKey.keyed_name``): teammates find it from the key alone, while
anyone else listing the node (or walking MFS blocks the node provides) learns
neither which requests the team made nor what they answered.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ghcache.core.cid import cid_for_bytes, is_cid
from ghcache.core.entry import BodyMismatch, CorruptEntry, Entry
from ghcache.crypto.entries import open_entry, seal_entry

if TYPE_CHECKING:
    from ghcache.crypto import Keyring, SealingKey

RECORD_AD = b"ghcache/ipfs-record/1\x00"
RECORD_VERSION = 1
MAX_RECORD_BYTES = 16 * 1024
ROOT = "/ghcache"
PIN_PREFIX = "ghcache/"
# An entry stamped this far ahead of our clock is refused (as CACHE_CLOCK_SKEW for peers).
CLOCK_SKEW = 60.0


class Unreadable(Exception):
    """A record or block that does not open, verify or follow the format; nothing is stored."""


@dataclass(frozen=True)
class Record:
    key: str  # the cache key
    block: str  # CID of the sealed block
    body_cid: str
    stored_at: float
    ttl: float
    size: int  # bytes of the block

    def expires_at(self) -> float:
        return self.stored_at + self.ttl

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "v": RECORD_VERSION,
                "key": self.key,
                "block": self.block,
                "body_cid": self.body_cid,
                "stored_at": self.stored_at,
                "ttl": self.ttl,
                "size": self.size,
            },
            separators=(",", ":"),
        ).encode("utf-8")


def index_dir(network_id: str) -> str:
    return f"{ROOT}/{network_id}/index"


def record_name(key: SealingKey, cache_key: str) -> str:
    return key.keyed_name(cache_key.encode("utf-8"))


def record_path(key: SealingKey, cache_key: str) -> str:
    return f"{index_dir(key.network_id)}/{record_name(key, cache_key)}"


def record_associated(network_id: str, name: str) -> bytes:
    return RECORD_AD + network_id.encode("utf-8") + b"\x00" + name.encode("utf-8")


def seal_block(keyring: Keyring, entry: Entry) -> bytes:
    # the very envelope a teammate's daemon would receive, bound to its key and body
    return seal_entry(keyring, entry.for_peers(), key=entry.key, body_cid=entry.body_cid)


def make_record(entry: Entry, block: bytes) -> Record:
    return Record(
        key=entry.key,
        block=cid_for_bytes(block),
        body_cid=entry.body_cid,
        stored_at=entry.stored_at,
        ttl=entry.ttl,
        size=len(block),
    )


def seal_record(key: SealingKey, record: Record) -> bytes:
    associated = record_associated(key.network_id, record_name(key, record.key))
    return key.seal(record.to_json(), associated=associated)


def open_record(keyring: Keyring, key: SealingKey, name: str, sealed: bytes) -> Record:
    """The record filed as ``name`` in ``key``'s index; raises Unreadable."""
    from ghcache.crypto import OpenError

    try:
        plain = keyring.open(sealed, associated=record_associated(key.network_id, name))
        fields: Any = json.loads(plain)
        record = Record(
            key=_text(fields["key"]),
            block=_text(fields["block"]),
            body_cid=_text(fields["body_cid"]),
            stored_at=_number(fields["stored_at"]),
            ttl=_number(fields["ttl"]),
            size=int(_number(fields["size"])),
        )
        version = fields["v"]
    except OpenError:
        raise Unreadable("record does not open with our keys") from None
    except (ValueError, KeyError, TypeError):
        raise Unreadable("record does not follow the format") from None
    if version != RECORD_VERSION or record_name(key, record.key) != name:
        raise Unreadable("record is for another key or version")
    if not (is_cid(record.key) and is_cid(record.block) and is_cid(record.body_cid)):
        raise Unreadable("record names something that is not a CID")
    return record


def open_block(keyring: Keyring, record: Record, block: bytes, *, now: float) -> Entry:
    """The entry in ``block`` if it is exactly what ``record`` promises and may be stored
    as a teammate's copy (shared, 2xx, not from the future); raises Unreadable."""
    from ghcache.crypto import OpenError

    if cid_for_bytes(block) != record.block:
        raise Unreadable("block does not hash to its CID")
    try:
        raw = open_entry(keyring, block, key=record.key, body_cid=record.body_cid)
        entry = Entry.from_bytes(raw)
    except OpenError:
        raise Unreadable("block does not open with our keys") from None
    except (BodyMismatch, CorruptEntry) as exc:
        raise Unreadable(f"entry does not verify: {exc}") from None
    if entry.key != record.key or entry.body_cid != record.body_cid:
        raise Unreadable("entry is not the one the record names")
    if entry.stored_at != record.stored_at:
        raise Unreadable("entry and record disagree on when it was stored")
    if not entry.is_shared or not 200 <= entry.status < 300:
        raise Unreadable("entry is identity-scoped or not a success")
    if entry.stored_at > now + CLOCK_SKEW:
        raise Unreadable("entry stored in the future")
    # Whom the storing machine showed it to means nothing here: every caller confirms it.
    return entry.replace(access={}) if entry.access else entry


def pin_name(network_id: str, record: Record) -> str:
    """``ghcache/<network id>/<stored_at>/<expires_at>/<size>``: gc and status read the pins
    alone, and a block a newer record replaced is still released when it expires."""
    return (
        f"{PIN_PREFIX}{network_id}/{math.floor(record.stored_at)}/"
        f"{math.ceil(record.expires_at())}/{record.size}"
    )


@dataclass(frozen=True)
class PinInfo:
    network_id: str
    stored_at: int
    expires_at: int
    size: int


def parse_pin_name(name: str) -> PinInfo | None:
    """The pin's facts, or None when ghcache did not name it."""
    if not name.startswith(PIN_PREFIX):
        return None
    parts = name[len(PIN_PREFIX) :].split("/")
    if len(parts) != 4 or not all(part.isdigit() for part in parts[1:]):
        return None
    return PinInfo(parts[0], int(parts[1]), int(parts[2]), int(parts[3]))


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError("not a number")
    if value < 0:
        raise ValueError("negative")
    return float(value)
