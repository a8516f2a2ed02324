"""Freshness, and whom a stored answer may be shown to without asking GitHub.

The serving rule (``CACHE_SHARING``):

- ``verified`` (the default): identity X sees a shared entry with no request
  only if X fetched it or GitHub confirmed it for X (a ``304`` to X's own
  conditional request carrying the ETag X's request would get for that body).
  The entry's ``access`` map records when each identity was last shown to have
  it; X's confirmation lasts one TTL from then.  Anyone else's copy (another
  token's, an anonymous one, a peer's) is only a candidate to confirm.
- ``team``: a shared entry is served to anyone while it is fresh.
- ``off``: like ``verified``, and another identity's copy is not even a candidate.

Identity-scoped entries are keyed to their identity, so only it can find them.
"""

from __future__ import annotations

from ghcache.core.kernel.identity import SHARED_SCOPE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class EntryFields(Protocol):
        """What the rule reads of an entry (kernel.entries.EntryFields, core.entry.Entry)."""

        scope: str
        status: int
        stored_at: float
        ttl: float
        access: dict[str, float]


VERIFIED, TEAM, OFF = "verified", "team", "off"
# A stored time this far ahead of the clock was not written by a sane writer.
CLOCK_SKEW = 60.0


def age(stored_at: float, now: float) -> float:
    return max(0.0, now - stored_at)


def is_fresh(stored_at: float, ttl: float, now: float, ttl_override: float | None = None) -> bool:
    """Younger than its TTL (or the caller's ``--ttl``/``--cache``), and not from the future."""
    if stored_at > now + CLOCK_SKEW:
        return False
    return age(stored_at, now) < (ttl if ttl_override is None else ttl_override)


def shown_at(entry: EntryFields, identity: str, sharing: str) -> float | None:
    """Since when ``identity`` may see ``entry`` with no request (None: it must ask)."""
    if entry.scope != SHARED_SCOPE or sharing == TEAM:
        return entry.stored_at
    return entry.access.get(identity)


def serves_fresh(
    entry: EntryFields, identity: str, sharing: str, now: float, ttl_override: float | None
) -> bool:
    """Whether ``entry`` answers ``identity`` now with no request at all."""
    if not 200 <= entry.status < 300 and entry.status != 404:
        return False
    since = shown_at(entry, identity, sharing)
    return since is not None and is_fresh(since, entry.ttl, now, ttl_override)


def is_candidate(entry: EntryFields, identity: str, sharing: str) -> bool:
    """Whether someone else's copy may be confirmed for ``identity`` with a conditional request."""
    return sharing != OFF or shown_at(entry, identity, sharing) is not None
