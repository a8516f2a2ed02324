"""``ghcache cache ls|show|clear|prune``: look into and tidy the disk store."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from ghcache.cli.commands import EndpointError, endpoint_url, load_settings, open_store
from ghcache.cli.commands.stats import human_bytes
from ghcache.cli.errors import GhcacheError
from ghcache.core.cid import is_cid
from ghcache.core.entry import CorruptEntry, Entry
from ghcache.core.kernel import serving
from ghcache.core.store import Row, read_untouched


@click.group()
def cache() -> None:
    """List, inspect, clear and prune cached responses."""


def describe(entry: Entry | Row, size: int, now: float) -> dict[str, Any]:
    return {
        "key": entry.key,
        "method": entry.method,
        "url": entry.url,
        "scope": entry.scope,
        "status": entry.status,
        "stored_at": entry.stored_at,
        "age": round(serving.age(entry.stored_at, now), 3),
        "ttl": entry.ttl,
        "fresh": serving.is_fresh(entry.stored_at, entry.ttl, now),
        "etag": entry.etag,
        "body_cid": entry.body_cid,
        "bytes": size,
    }


def short_age(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


@cache.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def list_entries(as_json: bool) -> None:
    """List cached responses, most recently stored first."""
    settings = load_settings()
    store = open_store(settings)
    now = time.time()
    # From the store's index, newest first: no entry file is read, no access time moves.
    found, unreadable = store.listing(detail=as_json)
    if as_json:
        click.echo(json.dumps([describe(row, row.size, now) for row in found]))
    else:
        sizes: dict[int, str] = {}  # entries share few sizes: format each once
        lines = []
        for row in found:
            state = "fresh" if serving.is_fresh(row.stored_at, row.ttl, now) else "stale"
            scope = "shared" if row.scope == "shared" else "identity"
            size = sizes.get(row.size) or sizes.setdefault(row.size, human_bytes(row.size))
            lines.append(
                f"{row.key}  {row.status:>3}  {state:<5}"
                f"  {short_age(serving.age(row.stored_at, now)):>4}"
                f"  {scope:<8}  {size:>9}  {row.method} {row.url}\n"
            )
        click.echo("".join(lines), nl=False)  # one write: 100,000 echo calls cost a second
        if not found:
            click.echo(f"no cached responses in {settings.cache_dir}", err=True)
    if unreadable:
        click.echo(f"ghcache: {unreadable} unreadable entry file(s) skipped", err=True)


@cache.command("show")
@click.argument("target", metavar="KEY|ENDPOINT")
@click.option("--hostname", help="The GitHub host an ENDPOINT belongs to.")
@click.option("--body", "body_only", is_flag=True, help="Print only the stored body, as is.")
@click.option("--json", "as_json", is_flag=True, help="Print the stored entry as JSON.")
def show(target: str, hostname: str | None, body_only: bool, as_json: bool) -> None:
    """Show one cached response by its key or by the endpoint `ghcache api` would key.

    An ENDPOINT is keyed as `ghcache api ENDPOINT` keys it: GET, no extra headers.
    """
    if body_only and as_json:
        raise click.UsageError("--body and --json cannot be used together")
    settings = load_settings()
    store = open_store(settings)
    key = target if is_cid(target) else key_for_endpoint(target, hostname)
    path = store.path_for(key)
    try:
        raw = read_untouched(path)
    except FileNotFoundError:
        raise GhcacheError(f"no cached response for {target}") from None
    except OSError as exc:
        raise GhcacheError(f"cannot read {path}: {exc.strerror}") from None
    try:
        entry = Entry.from_bytes(raw)
    except CorruptEntry as exc:
        raise GhcacheError(f"the entry for {target} is corrupt ({exc})") from None
    if body_only:
        sys.stdout.buffer.write(entry.body)
        return
    if as_json:
        click.echo(json.dumps(entry.to_dict(), ensure_ascii=False))
        return
    now = time.time()
    info = describe(entry, len(raw), now)
    stored = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(entry.stored_at))
    state = "fresh" if info["fresh"] else "stale"
    lines = [
        ("key", entry.key),
        ("url", f"{entry.method} {entry.url}"),
        ("scope", entry.scope),
        ("status", f"{entry.http_version} {entry.status} {entry.reason}".rstrip()),
        ("stored", f"{stored} ({short_age(info['age'])} ago)"),
        ("ttl", f"{entry.ttl:g}s ({state})"),
        ("body", f"{len(entry.body)} bytes, {entry.body_cid}"),
        ("file", str(path)),
    ]
    for label, value in lines:
        click.echo(f"{label:<7} {value}")
    click.echo("")
    for name, value in entry.headers:
        click.echo(f"{name}: {value}")


def key_for_endpoint(endpoint: str, hostname: str | None) -> str:
    from ghcache.core.hosts import resolve_host, resolve_token
    from ghcache.core.request import ApiRequest
    from ghcache.core.scope import build_request, is_identity_path

    host = resolve_host(hostname)
    try:
        url = endpoint_url(endpoint, host, hostname=hostname)
    except EndpointError as exc:
        raise GhcacheError(str(exc)) from None
    api_request = ApiRequest.for_url("GET", url, host)
    token = resolve_token(host)[0] if is_identity_path(api_request.path) else None
    request = build_request(api_request, host, token=token)
    if request is None:  # pragma: no cover - a GET without a body is always cacheable
        raise GhcacheError(f"{endpoint} is never cached")
    return request.key


@cache.command("clear")
def clear() -> None:
    """Remove every cached response (the statistics stay)."""
    settings = load_settings()
    store = open_store(settings)
    before = sum(1 for _ in store.paths())
    removed = store.clear()
    click.echo(f"removed {removed} cached response(s) from {settings.cache_dir}")
    if removed < before:
        raise GhcacheError(f"{before - removed} file(s) could not be removed")


@cache.command("prune")
def prune() -> None:
    """Remove responses expired for longer than CACHE_MAX_STALE, then keep under CACHE_MAX_BYTES."""
    settings = load_settings()
    store = open_store(settings)
    removed = store.prune(now=time.time(), max_stale=settings.max_stale)
    evicted = store.evict()
    count, size = store.disk_usage()
    click.echo(
        f"pruned {removed} expired or corrupt, evicted {evicted} least recently used; "
        f"{count} left ({human_bytes(size)} of {human_bytes(settings.max_bytes)})"
    )
