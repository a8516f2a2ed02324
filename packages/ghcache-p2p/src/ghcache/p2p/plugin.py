"""ghcache-p2p's plugin: CLI commands, peer lookups on a miss, announcements on a store.

Loaded by every CLI invocation that loads plugins, so nothing heavy is imported
at module level (no libp2p, trio, cryptography or click): the hooks only talk
to the daemon over its Unix socket with the standard library, and do nothing at
all when no daemon runs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ghcache.core.hookspecs import hookimpl

if TYPE_CHECKING:
    from ghcache.core.entry import Entry

log = logging.getLogger("ghcache.p2p")


@hookimpl
def register_commands(cli: Any) -> None:
    from ghcache.p2p.commands import daemon, peers

    cli.add_command(daemon)
    cli.add_command(peers)


@hookimpl
def lookup_entry(key: str, cache_dir: Path) -> Entry | None:
    try:
        return _lookup(key, Path(cache_dir))
    except Exception as exc:  # a lookup must never break the request that asked
        log.debug("peer lookup failed: %r", exc)
        return None


@hookimpl
def entry_stored(entry: Entry, cache_dir: Path) -> None:
    if not entry.is_shared:
        return  # identity-scoped entries never leave this machine
    try:
        _announce(entry.key, Path(cache_dir))
    except Exception as exc:
        log.debug("announce failed: %r", exc)


def _peer_timeout() -> float | None:
    """CACHE_PEER_TIMEOUT_MS in seconds, or None when p2p is switched off."""
    from ghcache.core.config import Settings

    settings = Settings.from_env()
    return settings.peer_timeout if settings.enable_p2p else None


def _lookup(key: str, cache_dir: Path) -> Entry | None:
    from ghcache.p2p.client import DaemonClient
    from ghcache.p2p.ipc import socket_path

    if not socket_path(cache_dir).exists():
        return None
    timeout = _peer_timeout()
    if timeout is None:
        return None
    raw = DaemonClient(cache_dir).lookup(key, timeout=timeout)
    if raw is None:
        return None
    from ghcache.core.entry import Entry

    return Entry.from_bytes(raw, trust_data=False)


def _announce(key: str, cache_dir: Path) -> None:
    from ghcache.p2p.client import DaemonClient
    from ghcache.p2p.ipc import socket_path

    if not socket_path(cache_dir).exists():
        return
    timeout = _peer_timeout()
    if timeout is None:
        return
    DaemonClient(cache_dir).send_announce(key, timeout=timeout)
