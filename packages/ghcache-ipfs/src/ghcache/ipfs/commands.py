"""``ghcache ipfs status|sync|gc`` (added by the plugin's register_commands hook)."""

from __future__ import annotations

import json
import time
from typing import Any

import click

from ghcache.core.config import ConfigError, Settings

# The commands walk the whole index: a budget for all their calls, not a lookup's.
COMMAND_TIMEOUT = 120.0


def _open() -> tuple[Settings, Any, Any]:
    from ghcache.ipfs.plugin import open_backend
    from ghcache.ipfs.settings import IPFSSettings

    try:
        settings = Settings.from_env()
        endpoint, why = IPFSSettings.from_settings(settings).endpoint()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if endpoint is None:
        raise click.ClickException(f"no IPFS node: {why}")
    opened = open_backend(settings)
    if opened is None:
        raise click.ClickException(
            "no shared secret: set CACHE_SHARED_SECRET (or GH_TOKEN/GITHUB_TOKEN)"
        )
    return settings, opened[0], endpoint


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(f"IPFS node: {' '.join(str(exc).split())}")


@click.group("ipfs")
def ipfs() -> None:
    """Keep shared answers in a Kubo IPFS node, for machines born empty."""


@ipfs.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(as_json: bool) -> None:
    """Endpoint, Kubo version, pinned entries and bytes, index age."""
    from ghcache.ipfs.kubo import Deadline, KuboError

    _, backend, endpoint = _open()
    deadline = Deadline(COMMAND_TIMEOUT)
    try:
        version = backend.kubo.version(deadline)
        peer_id = str(backend.kubo.id(deadline).get("ID", "?"))
        summary = backend.status(deadline)
    except KuboError as exc:
        raise _fail(exc) from None
    age = None if summary.newest_stored_at is None else time.time() - summary.newest_stored_at
    shown = {
        "endpoint": endpoint.url,
        "endpoint_source": endpoint.source,
        "kubo_version": version,
        "peer_id": peer_id,
        "network_id": backend.keyring.network_id,
        "entries": summary.entries,
        "bytes": summary.bytes,
        "index_age_seconds": None if age is None else round(age),
    }
    if as_json:
        click.echo(json.dumps(shown, indent=2, sort_keys=True))
        return
    click.echo(f"endpoint: {endpoint.url} (from {endpoint.source})")
    click.echo(f"kubo:     {version}, peer id {peer_id}")
    click.echo(f"network:  {backend.keyring.network_id}")
    click.echo(f"pinned:   {summary.entries} entries, {summary.bytes} bytes")
    click.echo(f"index:    {'empty' if age is None else f'newest entry stored {round(age)} s ago'}")


@ipfs.command("sync")
def sync() -> None:
    """Put the shared entries of this cache that the node lacks (or holds older)."""
    from ghcache.core.store import DiskStore
    from ghcache.ipfs.kubo import Deadline, KuboError

    settings, backend, _ = _open()
    store = DiskStore(settings.cache_dir, max_bytes=settings.max_bytes)
    try:
        summary = backend.sync(
            store, now=time.time(), max_stale=settings.max_stale, deadline=Deadline(COMMAND_TIMEOUT)
        )
    except KuboError as exc:
        raise _fail(exc) from None
    counts = summary.counts
    click.echo(
        f"put {counts.get('put', 0)}, already there {counts.get('present', 0)}, "
        f"too large {counts.get('too_large', 0)}, past CACHE_MAX_STALE {counts.get('past_max_stale', 0)}"
    )


@ipfs.command("gc")
def gc() -> None:
    """Release the pins (and records) of entries more than CACHE_MAX_STALE past expiry."""
    from ghcache.ipfs.kubo import Deadline, KuboError

    settings, backend, _ = _open()
    try:
        summary = backend.gc(
            now=time.time(), max_stale=settings.max_stale, deadline=Deadline(COMMAND_TIMEOUT)
        )
    except KuboError as exc:
        raise _fail(exc) from None
    counts = summary.counts
    click.echo(
        f"released {counts.get('released', 0)} pins ({summary.bytes} bytes), "
        f"removed {counts.get('records_removed', 0)} index records"
    )


@click.group()
def standalone() -> None:
    """ghcache IPFS persistence (also available as ``ghcache ipfs``)."""


standalone.add_command(ipfs)
