"""What travels between peers, as bytes: announcements and the fetch protocol.

No I/O here (sans-IO): the daemon moves these bytes over libp2p, tests build
hostile variants of them.  Everything a peer sends is sealed with the team
keyring; associated data binds each sealed entry to its cache key and body
CID, so an envelope cannot be replayed under another key or body.

Announcement (one gossipsub message) = seal(batch, associated=topic)
    batch = item*, item = u32 len, JSON header {key, cid, stored_at, ttl, size},
                          u32 len, sealed entry (empty: fetch it instead)
Fetch request  = u32 len, seal(key, associated=FETCH_REQUEST_AD)
Fetch response = u32 len, then b"\\x00" (not found)
                 or b"\\x01", u16 len, cid, sealed entry (associated=key+cid)
Hello (team check) = u32 len, (u32 len, seal("", associated=HELLO_AD+sender+receiver))*
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ghcache.crypto import entries

if TYPE_CHECKING:
    from ghcache.crypto import Keyring, SealingKey

    # What seals: the keyring (its current key), or the one key we share with a peer
    # (during a rotation it can be a previous one).  Opening always takes the keyring.
    Sealer = Keyring | SealingKey

FETCH_PROTOCOL = "/ghcache/fetch/1.0.0"
# Frames of the same sealed batches as gossip, straight to each connected teammate.
PUSH_PROTOCOL = "/ghcache/push/1.0.0"
TOPIC_PREFIX = "/ghcache/1/"
ANNOUNCE_AD = b"ghcache/announce/1\x00"
FETCH_REQUEST_AD = b"ghcache/fetch-request/1"
NOT_FOUND = b"\x00"
FOUND = b"\x01"

_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")


class MalformedMessage(ValueError):
    """Bytes that opened fine but do not follow the format (a buggy or hostile peer)."""


def topic_for(network_id: str) -> str:
    return f"{TOPIC_PREFIX}{network_id}"


def seal_entry(sealer: Sealer, raw_entry: bytes, *, key: str, cid: str) -> bytes:
    """An entry as a teammate receives it (the envelope of ``ghcache.crypto.entries``)."""
    return entries.seal_entry(sealer, raw_entry, key=key, body_cid=cid)


def open_entry(keyring: Keyring, sealed: bytes, *, key: str, cid: str) -> bytes:
    """The entry bytes; raises ``ghcache.crypto.OpenError`` on any tampering."""
    return entries.open_entry(keyring, sealed, key=key, body_cid=cid)


@dataclass(frozen=True)
class Announcement:
    key: str
    cid: str
    stored_at: float
    ttl: float
    size: int  # length of the entry's serialized form
    sealed_entry: bytes = b""  # empty: too big to inline, receivers fetch it

    def header(self) -> bytes:
        record = {
            "key": self.key,
            "cid": self.cid,
            "stored_at": self.stored_at,
            "ttl": self.ttl,
            "size": self.size,
        }
        return json.dumps(record, separators=(",", ":")).encode("utf-8")

    def encoded_size(self) -> int:
        return 2 * _U32.size + len(self.header()) + len(self.sealed_entry)


def encode_items(items: list[Announcement]) -> bytes:
    parts: list[bytes] = []
    for item in items:
        head = item.header()
        parts += [_U32.pack(len(head)), head, _U32.pack(len(item.sealed_entry)), item.sealed_entry]
    return b"".join(parts)


def encode_batch(keyring: Keyring, topic: str, items: list[Announcement]) -> bytes:
    return keyring.seal(encode_items(items), associated=ANNOUNCE_AD + topic.encode("utf-8"))


def open_batch(keyring: Keyring, topic: str, data: bytes) -> bytes:
    """The batch plaintext; raises ``OpenError`` (wrong key, tampered)."""
    return keyring.open(data, associated=ANNOUNCE_AD + topic.encode("utf-8"))


def decode_items(plain: bytes) -> list[Announcement]:
    return list(_iter_items(plain))


def _iter_items(plain: bytes) -> Iterator[Announcement]:
    view = memoryview(plain)
    offset = 0
    while offset < len(view):
        head, offset = _take(view, offset)
        sealed, offset = _take(view, offset)
        try:
            record: Any = json.loads(bytes(head))
            yield Announcement(
                key=_str(record["key"]),
                cid=_str(record["cid"]),
                stored_at=_number(record["stored_at"]),
                ttl=_number(record["ttl"]),
                size=int(record["size"]),
                sealed_entry=bytes(sealed),
            )
        except MalformedMessage:
            raise
        except (KeyError, TypeError, ValueError):
            raise MalformedMessage("bad announcement header") from None


def _take(view: memoryview, offset: int, what: str = "announcement") -> tuple[memoryview, int]:
    if offset + _U32.size > len(view):
        raise MalformedMessage(f"truncated {what}")
    (length,) = _U32.unpack_from(view, offset)
    start = offset + _U32.size
    if start + length > len(view):
        raise MalformedMessage(f"truncated {what}")
    return view[start : start + length], start + length


def _str(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 256:
        raise MalformedMessage("bad string field")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise MalformedMessage("bad number field")
    return float(value)


def frame(payload: bytes) -> bytes:
    """A length-prefixed frame, as used on fetch streams."""
    return _U32.pack(len(payload)) + payload


def frame_size(prefix: bytes) -> int:
    (length,) = _U32.unpack(prefix)
    return int(length)


FRAME_PREFIX = _U32.size


def encode_fetch_request(sealer: Sealer, key: str) -> bytes:
    return sealer.seal(key.encode("utf-8"), associated=FETCH_REQUEST_AD)


def decode_fetch_request(keyring: Keyring, payload: bytes) -> tuple[str, SealingKey]:
    """The requested key, and the key to answer with (the one the request was sealed
    with); raises ``OpenError`` for requests from outside the team."""
    key = keyring.open(payload, associated=FETCH_REQUEST_AD)
    try:
        return _str(key.decode("utf-8")), sealed_with(keyring, payload)
    except UnicodeDecodeError:
        raise MalformedMessage("key is not UTF-8") from None


def encode_fetch_found(cid: str, sealed_entry: bytes) -> bytes:
    raw_cid = cid.encode("utf-8")
    return FOUND + _U16.pack(len(raw_cid)) + raw_cid + sealed_entry


def decode_fetch_response(payload: bytes) -> tuple[str, bytes] | None:
    """(cid, sealed entry), or None when the peer does not have the entry."""
    if payload == NOT_FOUND:
        return None
    if len(payload) < 1 + _U16.size or payload[:1] != FOUND:
        raise MalformedMessage("bad fetch response")
    (cid_len,) = _U16.unpack_from(payload, 1)
    start = 1 + _U16.size
    try:
        cid = payload[start : start + cid_len].decode("ascii")
    except UnicodeDecodeError:
        raise MalformedMessage("bad fetch response cid") from None
    return _str(cid), payload[start + cid_len :]


# Peer exchange: team members tell each other which team peers they are connected
# to, so a daemon bootstrapped to one member finds the rest.
PEERS_PROTOCOL = "/ghcache/peers/1.0.0"
PEERS_REQUEST_AD = b"ghcache/peers-request/1"
PEERS_RESPONSE_AD = b"ghcache/peers-response/1"
MAX_EXCHANGED_PEERS = 64
MAX_EXCHANGED_ADDRS = 8


def encode_peers_request(sealer: Sealer) -> bytes:
    return sealer.seal(b"", associated=PEERS_REQUEST_AD)


def check_peers_request(keyring: Keyring, payload: bytes) -> SealingKey:
    """The key to answer with (the request's); ``OpenError`` unless it comes from the team."""
    keyring.open(payload, associated=PEERS_REQUEST_AD)
    return sealed_with(keyring, payload)


def encode_peers_response(sealer: Sealer, peers: list[tuple[str, list[str]]]) -> bytes:
    record = [
        {"peer_id": peer_id, "addrs": addrs[:MAX_EXCHANGED_ADDRS]}
        for peer_id, addrs in peers[:MAX_EXCHANGED_PEERS]
    ]
    return sealer.seal(json.dumps(record).encode("utf-8"), associated=PEERS_RESPONSE_AD)


def decode_peers_response(keyring: Keyring, payload: bytes) -> list[tuple[str, list[str]]]:
    """(peer id, addresses) pairs; ``OpenError`` or ``MalformedMessage`` otherwise."""
    plain = keyring.open(payload, associated=PEERS_RESPONSE_AD)
    try:
        record: Any = json.loads(plain)
        peers = [
            (_str(item["peer_id"]), [_str(a) for a in item["addrs"]][:MAX_EXCHANGED_ADDRS])
            for item in record[:MAX_EXCHANGED_PEERS]
        ]
    except MalformedMessage:
        raise
    except (KeyError, TypeError, ValueError):
        raise MalformedMessage("bad peer list") from None
    return peers


# The team check: each daemon proves to every peer on its topics that it holds a
# team key, by sealing nothing for "from me to you" with each key it has (during a
# rotation the peer may hold only a previous one).  Binding both peer ids (which
# Noise authenticates) means a proof cannot be replayed or relayed by anyone else.
HELLO_PROTOCOL = "/ghcache/hello/1.0.0"
HELLO_AD = b"ghcache/hello/1\x00"
MAX_HELLO_PROOFS = 8


def hello_associated(sender: str, receiver: str) -> bytes:
    return HELLO_AD + sender.encode("ascii") + b"\x00" + receiver.encode("ascii")


def encode_hello(keyring: Keyring, *, sender: str, receiver: str) -> bytes:
    associated = hello_associated(sender, receiver)
    proofs = [key.seal(b"", associated=associated) for key in keyring.keys[:MAX_HELLO_PROOFS]]
    return b"".join(_U32.pack(len(proof)) + proof for proof in proofs)


def open_hello(keyring: Keyring, payload: bytes, *, sender: str, receiver: str) -> SealingKey:
    """The key we share with ``sender`` (our newest one its proofs open with).

    ``OpenError`` when no proof opens (not the team), ``MalformedMessage`` when the
    payload is not a list of proofs.
    """
    from ghcache.crypto import OpenError

    associated = hello_associated(sender, receiver)
    view = memoryview(payload)
    offset, count, shared = 0, 0, []
    while offset < len(view):
        proof, offset = _take(view, offset, "hello")
        count += 1
        if count > MAX_HELLO_PROOFS:
            raise MalformedMessage("too many proofs in a hello")
        try:
            keyring.open(bytes(proof), associated=associated)
        except OpenError:
            continue
        shared.append(sealed_with(keyring, bytes(proof)))
    if not shared:
        raise OpenError("no proof opens with our keys")
    return min(shared, key=keyring.keys.index)


def sealed_with(keyring: Keyring, envelope: bytes) -> SealingKey:
    """The key of ``keyring`` that sealed ``envelope`` (which opened with it)."""
    from ghcache.crypto.envelope import split_envelope

    _, key_id, _ = split_envelope(envelope)
    return next(key for key in keyring.keys if key.key_id_bytes == key_id)
