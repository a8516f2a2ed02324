"""How a ghcache cache entry is sealed for another machine: the same envelope whether a
teammate's daemon receives it (ghcache-p2p) or it is kept as an IPFS block (ghcache-ipfs).

The associated data binds the envelope to the entry's cache key and body CID, so a valid
envelope cannot be replayed as the answer to another request or with another body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ghcache.crypto.keyring import Keyring
    from ghcache.crypto.sealing import SealingKey

ENTRY_AD = b"ghcache/entry/1\x00"


def entry_associated(key: str, body_cid: str) -> bytes:
    return ENTRY_AD + key.encode("utf-8") + b"\x00" + body_cid.encode("utf-8")


def seal_entry(sealer: Keyring | SealingKey, raw_entry: bytes, *, key: str, body_cid: str) -> bytes:
    """The envelope of an entry's bytes (as peers get them), bound to its key and body."""
    return sealer.seal(raw_entry, associated=entry_associated(key, body_cid))


def open_entry(keyring: Keyring, sealed: bytes, *, key: str, body_cid: str) -> bytes:
    """The entry bytes; raises ``OpenError`` on any tampering or a mismatched key/body."""
    return keyring.open(sealed, associated=entry_associated(key, body_cid))
