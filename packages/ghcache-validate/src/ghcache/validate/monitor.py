"""``ghcache-validate monitor``: what the cache and the daemon are doing, refreshed live.

Everything comes from files every ghcache process already keeps in the cache
dir (the counters, the entries, the rate-limit memory) and from the daemon's
status over its socket; the monitor changes nothing.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# How many of the newest entries to open looking for rate-limit headers.
RATE_LIMIT_SCAN = 20
CACHE_ROWS = (
    ("hit_rate", "hit rate"),
    ("lookups", "lookups"),
    ("hits", "hits (fresh, local)"),
    ("peer_hits", "hits from peers"),
    ("misses", "misses"),
    ("revalidated", "  revalidated (304)"),
    ("stale_served", "stale answers"),
    ("upstream_requests", "upstream requests"),
    ("rate_limit_units_saved", "rate-limit units saved"),
    ("entries", "entries on disk"),
    ("bytes", "bytes on disk"),
)
DAEMON_COUNTERS = (
    ("announcements_sent", "announcements sent"),
    ("announcements_received", "announcements received"),
    ("entries_accepted", "entries accepted"),
    ("lookup_peer_hits", "lookups answered by peers"),
    ("fetches_served", "fetches served"),
)


def snapshot(env: Mapping[str, str] | None = None, now: float | None = None) -> dict[str, Any]:
    """One reading of the cache (counters, disk, rate limit) and the daemon."""
    from ghcache.core.config import Settings
    from ghcache.core.stats import Stats, summarize
    from ghcache.core.store import DiskStore

    settings = Settings.from_env(env)
    now = time.time() if now is None else now
    store = DiskStore(settings.cache_dir, max_bytes=settings.max_bytes)
    cache = summarize(Stats(settings.cache_dir).read())
    cache["entries"], cache["bytes"] = store.disk_usage()
    return {
        "time": now,
        "cache_dir": str(settings.cache_dir),
        "cache": cache,
        "rate_limit": newest_rate_limit(store.directory, now),
        "limited_until": limited_until(settings.cache_dir, now),
        "daemon": daemon_snapshot(settings.cache_dir) if p2p_enabled(settings) else None,
    }


def p2p_enabled(settings: Any) -> bool:
    from ghcache.p2p.settings import P2PSettings

    return P2PSettings.from_settings(settings).enable_p2p


def newest_rate_limit(directory: Path, now: float) -> dict[str, Any] | None:
    """GitHub's x-ratelimit-* headers of the most recently written entry that has them."""
    from ghcache.core.entry import CorruptEntry, Entry
    from ghcache.core.ratelimit import parse_rate_limit
    from ghcache.core.store import DiskStore

    paths = []
    for path in DiskStore(directory).paths():
        try:
            paths.append((path.stat().st_mtime, path))
        except OSError:
            continue
    paths.sort(reverse=True)
    for mtime, path in paths[:RATE_LIMIT_SCAN]:
        try:
            # Read the file, not through the store: the monitor must not touch LRU times.
            entry = Entry.from_bytes(path.read_bytes())
        except (OSError, CorruptEntry):
            continue
        info = parse_rate_limit(entry.headers)
        if info.remaining is None:
            continue
        return {
            "limit": info.limit,
            "remaining": info.remaining,
            "used": info.used,
            "reset": info.reset,
            "resource": info.resource,
            "observed_at": mtime,
            "window_passed": info.reset is not None and info.reset <= now,
        }
    return None


def limited_until(directory: Path, now: float) -> float | None:
    """The latest time some identity on this machine was told to wait until, if still ahead."""
    from ghcache.core.ratelimit import RateLimitMemory

    ahead = RateLimitMemory(directory).active(now).values()
    return max(ahead, default=None)


def daemon_snapshot(cache_dir: Path) -> dict[str, Any]:
    from ghcache.p2p.client import DaemonClient, DaemonError, DaemonUnavailable

    client = DaemonClient(cache_dir, timeout=1.0)
    if not client.is_present():
        return {"running": False}
    try:
        status = client.status()
    except (DaemonUnavailable, DaemonError) as exc:
        return {"running": False, "error": str(exc)}
    peers = status.get("peers", [])
    return {
        "running": True,
        "pid": status.get("pid"),
        "peer_id": status.get("peer_id"),
        "network_id": status.get("network_id"),
        "started_at": status.get("started_at"),
        "team_peers": len(status.get("topic_peers", [])),
        "other_peers": sum(1 for p in peers if not p.get("topic")),
        "counters": dict(status.get("counters", {})),
        "refused": {k: v for k, v in status.get("refused", {}).items() if v},
    }


# -- rendering -----------------------------------------------------------------------


def _human_bytes(size: int) -> str:
    amount = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{size} B"


def _cache_value(field: str, value: Any) -> str:
    if field == "hit_rate":
        return f"{value * 100:.1f}%"
    if field == "bytes":
        return _human_bytes(int(value))
    return str(value)


def _clock(epoch: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(epoch))


def rate_limit_lines(snap: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    info = snap.get("rate_limit")
    if info is None:
        rows.append(("remaining", "unknown (no stored answer carries rate-limit headers)"))
    else:
        left = f"{info['remaining']}/{info['limit']}"
        if info.get("resource"):
            left += f" ({info['resource']})"
        if info.get("window_passed"):
            left += ", window since reset"
        rows.append(("remaining", left))
        if info.get("reset"):
            wait = max(0, int(info["reset"] - snap["time"]))
            rows.append(("reset", f"{_clock(info['reset'])} (in {wait // 60}m{wait % 60:02d}s)"))
        rows.append(("as of", _clock(info["observed_at"])))
    until = snap.get("limited_until")
    rows.append(("limited until", _clock(until) if until else "not limited"))
    return rows


def daemon_lines(snap: Mapping[str, Any]) -> list[tuple[str, str]]:
    daemon = snap.get("daemon")
    if daemon is None:
        return [("daemon", "p2p off (CACHE_ENABLE_P2P)")]
    if not daemon.get("running"):
        return [("daemon", "not running (ghcache daemon start)")]
    uptime = int(snap["time"] - float(daemon.get("started_at") or snap["time"]))
    rows = [
        ("daemon", f"pid {daemon['pid']}, up {uptime // 60}m{uptime % 60:02d}s"),
        ("peer id", str(daemon["peer_id"])),
        ("peers", f"{daemon['team_peers']} in the team, {daemon['other_peers']} others"),
    ]
    counters = daemon.get("counters", {})
    rows += [(label, str(counters.get(name, 0))) for name, label in DAEMON_COUNTERS]
    refused = daemon.get("refused", {})
    text = ", ".join(f"{k} {v}" for k, v in sorted(refused.items())) if refused else "none"
    rows.append(("refused", text))
    return rows


def plain_text(snap: Mapping[str, Any]) -> str:
    lines = [f"ghcache monitor  {_clock(snap['time'])}  {snap['cache_dir']}"]
    cache = snap["cache"]
    rows = [(label.strip(), _cache_value(f, cache.get(f, 0))) for f, label in CACHE_ROWS]
    rows += rate_limit_lines(snap) + daemon_lines(snap)
    width = max(len(label) for label, _ in rows)
    lines += [f"{label:<{width}}  {value}" for label, value in rows]
    return "\n".join(lines)


def dashboard(snap: Mapping[str, Any], first: Mapping[str, Any] | None = None) -> Any:
    """The rich renderable: cache, rate limit and daemon panels side by side."""
    from rich.columns import Columns
    from rich.console import Group
    from rich.table import Table

    cache = snap["cache"]
    table = Table(title="cache", title_justify="left")
    table.add_column("")
    table.add_column("total", justify="right")
    if first is not None:
        table.add_column("since start", justify="right")
    for field, label in CACHE_ROWS:
        value = cache.get(field, 0)
        row = [label, _cache_value(field, value)]
        if first is not None:
            counts = field not in ("hit_rate", "bytes", "entries")
            delta = value - first["cache"].get(field, 0) if counts else 0
            row.append(f"+{delta}" if delta else "")
        table.add_row(*row)
    limits = Table(title="rate limit", title_justify="left", show_header=False)
    for label, value in rate_limit_lines(snap):
        limits.add_row(label, value)
    daemon = Table(title="p2p", title_justify="left", show_header=False)
    for label, value in daemon_lines(snap):
        daemon.add_row(label, value)
    heading = f"[bold]ghcache monitor[/] {_clock(snap['time'])}  {snap['cache_dir']}"
    return Group(heading, Columns([table, Group(limits, daemon)]))


def run_monitor(
    *, interval: float, once: bool, as_json: bool, env: Mapping[str, str] | None = None
) -> None:
    first = snapshot(env)
    if as_json:
        print(json.dumps(first, sort_keys=True), flush=True)
        while not once:
            time.sleep(interval)
            print(json.dumps(snapshot(env), sort_keys=True), flush=True)
        return
    if not sys.stdout.isatty():
        print(plain_text(first), flush=True)
        while not once:
            time.sleep(interval)
            print("\n" + plain_text(snapshot(env)), flush=True)
        return
    from rich.console import Console
    from rich.live import Live

    console = Console()
    if once:
        console.print(dashboard(first))
        return
    with Live(dashboard(first, first), console=console, refresh_per_second=4, screen=False) as live:
        while True:
            time.sleep(interval)
            live.update(dashboard(snapshot(env), first))
