"""What a peer accepts from another, as plain decisions (sans-IO).

Everything refused raises :class:`Refused` with a reason from ``REASONS``;
the daemon counts it and stores nothing.
"""

from __future__ import annotations

from ghcache.core.entry import BodyMismatch, CorruptEntry, Entry
from ghcache.core.kernel.keys import is_cid

REASONS = (
    "bad_key",  # the cache key is not a CID (it could name a path outside the store)
    "bad_envelope",  # cannot be opened: another team's key, or tampered bytes
    "malformed",  # opened, but not in our format
    "oversize",  # message or entry larger than the configured caps
    "cid_mismatch",  # body does not hash to the announced/stored CID
    "key_mismatch",  # entry inside is for another cache key
    "not_shared",  # identity-scoped and negative entries never cross machines
    "future",  # stamped beyond the allowed clock skew
    "expired",  # envelope older than the replay window
    "not_newer",  # we already hold this key stored at the same time or later
    "rate_limited",  # the peer sends faster than allowed
    "not_team",  # pushed to us without having passed the team check
)

# Announcements and fetch answers are sealed when sent; anything sealed longer
# ago than this is a replay.
REPLAY_WINDOW = 600.0


class Refused(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def check_key(key: str) -> None:
    """Every cache key is a CID: anything else from a peer (``..``, a path) is refused
    before it reaches the store or a lookup."""
    if not is_cid(key):
        raise Refused("bad_key", f"key {key[:80]!r} is not a CID")


def check_envelope_time(sealed_at: float, *, now: float, clock_skew: float) -> None:
    if sealed_at > now + clock_skew:
        raise Refused("future", "envelope sealed in the future")
    if sealed_at < now - REPLAY_WINDOW:
        raise Refused("expired", "envelope sealed too long ago")


def verify_entry(
    raw: bytes, *, key: str, cid: str, now: float, clock_skew: float, max_entry_bytes: int
) -> Entry:
    """The entry from a peer's ``raw`` bytes, if we may store it under ``key``."""
    if len(raw) > max_entry_bytes:
        raise Refused("oversize", f"entry of {len(raw)} bytes")
    try:
        entry = Entry.from_bytes(raw)
    except BodyMismatch as exc:
        raise Refused("cid_mismatch", str(exc)) from None
    except CorruptEntry as exc:
        raise Refused("malformed", str(exc)) from None
    if entry.key != key:
        raise Refused("key_mismatch")
    if entry.body_cid != cid:
        raise Refused("cid_mismatch", "entry body is not the announced one")
    if not entry.is_shared or not 200 <= entry.status < 300:
        raise Refused("not_shared")
    if entry.stored_at > now + clock_skew:
        raise Refused("future", "entry stored in the future")
    # Who a teammate's machine showed it to means nothing here (and could be forged):
    # on this machine it is every identity's candidate, confirmed per caller.
    return entry.replace(access={}) if entry.access else entry


def is_duplicate(stored_at: float, cid: str, existing: Entry | None) -> bool:
    """True when ``existing`` is this very entry; raises when it is newer than the offer."""
    if existing is None or stored_at > existing.stored_at:
        return False
    if stored_at == existing.stored_at and cid == existing.body_cid:
        return True
    raise Refused("not_newer", "we hold a newer or equal entry")
