"""The checks of ``ghcache-validate verify`` that ask this machine's daemon
(conventions in :mod:`ghcache.validate.checks`)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ghcache.validate.checks import Context, probe_entry
from ghcache.validate.report import CheckFailed, CheckSkipped

PEER_ROUND_TRIP_TIMEOUT = 8.0


def check_daemon(ctx: Context, details: dict[str, Any]) -> str:
    from ghcache.p2p.client import DaemonClient, DaemonError, DaemonUnavailable

    settings = ctx.require_settings()
    if not p2p_settings(settings).enable_p2p:
        raise CheckSkipped("CACHE_ENABLE_P2P is off")
    client = DaemonClient(settings.cache_dir, timeout=2.0)
    if not client.is_present():
        raise CheckFailed(f"no daemon socket in {settings.cache_dir} (start: ghcache daemon start)")
    try:
        status = client.status()
    except (DaemonUnavailable, DaemonError) as exc:
        raise CheckFailed(str(exc)) from None
    ctx.daemon_status = status
    details.update(
        pid=status.get("pid"), peer_id=status.get("peer_id"), addrs=status.get("addrs", [])
    )
    uptime = int(time.time() - float(status.get("started_at", time.time())))
    return f"pid {status.get('pid')}, peer id {status.get('peer_id')}, up {uptime} s"


def check_daemon_secret(ctx: Context, details: dict[str, Any]) -> str:
    """The daemon seals with the secret this environment names.

    Compared by network id: a one-way HMAC of the derived key that the daemon
    reports in its status and already publishes as its gossip topic's name, so
    neither side reveals its secret.
    """
    from ghcache.crypto import Keyring

    status = ctx.daemon_status
    if status is None:
        raise CheckSkipped("no daemon to ask")
    keyring = Keyring.from_env(ctx.env)
    if keyring is None:
        raise CheckSkipped("no CACHE_SHARED_SECRET, GH_TOKEN or GITHUB_TOKEN here to compare")
    theirs = status.get("network_id")
    details.update(network_id=keyring.network_id, daemon_network_id=theirs)
    if not isinstance(theirs, str) or not theirs:
        raise CheckFailed("the daemon does not report its network id; restart it")
    if theirs != keyring.network_id:
        raise CheckFailed(
            f"the daemon runs with another secret than {keyring.secret_source} here "
            f"(its network {theirs[:12]}, this environment's {keyring.network_id[:12]}): "
            "restart it from this environment (ghcache daemon stop; ghcache daemon start)"
        )
    return f"the daemon seals with the secret from {keyring.secret_source} here"


def p2p_settings(settings: Any) -> Any:
    """ghcache-p2p's settings, from the environment core's ``settings`` were read from."""
    from ghcache.core.config import ConfigError
    from ghcache.p2p.settings import P2PSettings

    try:
        return P2PSettings.from_settings(settings)
    except ConfigError as exc:
        raise CheckFailed(str(exc)) from None


def team_peers(status: Mapping[str, Any]) -> list[str]:
    return [str(p) for p in status.get("topic_peers", [])]


def check_peers(ctx: Context, details: dict[str, Any]) -> str:
    status = ctx.daemon_status
    if status is None:
        raise CheckSkipped("no daemon to ask")
    team = team_peers(status)
    others = [p["peer_id"] for p in status.get("peers", []) if not p.get("topic")]
    details.update(team_peers=team, other_peers=others)
    settings = p2p_settings(ctx.require_settings())
    if not team:
        if not settings.bootstrap_peers and not settings.enable_mdns:
            raise CheckSkipped("no CACHE_BOOTSTRAP_PEERS and mDNS off: this daemon runs alone")
        extra = f"; {len(others)} connected outside the team (another secret?)" if others else ""
        raise CheckFailed(f"no team peers connected{extra}")
    extra = f", {len(others)} outside the team" if others else ""
    return f"{len(team)} team peer(s) connected{extra}"


def check_peer_round_trip(ctx: Context, details: dict[str, Any]) -> str:
    """Announce a probe entry, forget it locally, and get it back from a peer."""
    from ghcache.core.store import DiskStore
    from ghcache.p2p.client import DaemonClient

    status = ctx.daemon_status
    if status is None or not team_peers(status):
        raise CheckSkipped("no team peers connected")
    settings = ctx.require_settings()
    store = DiskStore(settings.cache_dir, max_bytes=settings.max_bytes)
    client = DaemonClient(settings.cache_dir, timeout=2.0)
    entry = probe_entry(ttl=60)
    store.write(entry)
    try:
        if not client.announce(entry.key, timeout=2.0):
            raise CheckFailed("the daemon did not queue the announcement")
        started = time.monotonic()
        deadline = started + PEER_ROUND_TRIP_TIMEOUT
        while True:
            store.delete(entry.key)  # so the daemon has to ask its peers
            # Found means the daemon verified a peer's copy and stored it here.
            if client.lookup(entry.key, newer_than=0.0, timeout=1.0):
                break
            if time.monotonic() > deadline:
                raise CheckFailed(
                    f"no peer returned the announced probe entry within {PEER_ROUND_TRIP_TIMEOUT} s"
                )
            time.sleep(0.2)
        back = store.read(entry.key)
        if back is None or back.body != entry.body:
            raise CheckFailed("a peer returned a different body for the probe entry")
    finally:
        store.delete(entry.key)
    details["seconds"] = round(time.monotonic() - started, 3)
    return f"probe entry announced, then fetched back from a peer in {details['seconds']} s"
