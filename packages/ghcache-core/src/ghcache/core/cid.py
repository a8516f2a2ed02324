"""CIDv1 (raw codec, sha2-256, base32) with the standard library only.

``import multiformats`` costs ~130 ms, more than a whole CLI cache hit, so the
hot path computes the same bytes by hand.  ``tests/test_cid.py`` proves this
equal to multiformats' result over many inputs.
"""

from __future__ import annotations

import base64
import hashlib

# <cid version 1><multicodec raw 0x55><multihash sha2-256 0x12><digest length 32>
_RAW_SHA256_PREFIX = b"\x01\x55\x12\x20"


def cid_for_bytes(data: bytes) -> str:
    """The CIDv1 that ``ipfs block put`` gives for ``data`` (``bafkrei...``)."""
    digest = hashlib.sha256(data).digest()
    encoded = base64.b32encode(_RAW_SHA256_PREFIX + digest).decode("ascii")
    return "b" + encoded.rstrip("=").lower()


_BASE32 = frozenset("abcdefghijklmnopqrstuvwxyz234567")


def is_cid(text: str) -> bool:
    """Whether ``text`` has the shape of a CID this module produces."""
    return len(text) == 59 and text.startswith("bafkrei") and _BASE32.issuperset(text)
