"""``ghcache stats``: what the cache has saved, from the counters every process adds to."""

from __future__ import annotations

import json
from typing import Any

import click

from ghcache.cli.commands import load_settings, open_store
from ghcache.core.stats import summarize

# (field, label) in the order a person reads them.
ROWS = (
    ("hits", "hits"),
    ("misses", "misses"),
    ("hit_rate", "hit rate"),
    ("stale_served", "stale served"),
    ("revalidated", "revalidated (304)"),
    ("upstream_requests", "upstream requests"),
    ("peer_hits", "peer hits"),
    ("rate_limit_units_saved", "rate-limit units saved"),
    ("entries", "entries on disk"),
    ("bytes", "bytes on disk"),
)


def collect_stats() -> dict[str, Any]:
    settings = load_settings()
    store = open_store(settings)
    summary = summarize(store.stats.read())
    summary["entries"], summary["bytes"] = store.disk_usage()
    summary["cache_dir"] = str(settings.cache_dir)
    return summary


def format_value(field: str, value: Any) -> str:
    if field == "hit_rate":
        return f"{value * 100:.1f}%"
    if field == "bytes":
        return f"{value} ({human_bytes(value)})"
    return str(value)


def human_bytes(size: int) -> str:
    amount = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{size} B"  # unreachable; keeps type checkers content


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def stats(as_json: bool) -> None:
    """Show cache hits, misses, hit rate, rate-limit units saved and disk use."""
    summary = collect_stats()
    if as_json:
        click.echo(json.dumps(summary, sort_keys=True))
        return
    width = max(len(label) for _, label in ROWS)
    click.echo(f"{'cache dir':<{width}}  {summary['cache_dir']}")
    for field, label in ROWS:
        click.echo(f"{label:<{width}}  {format_value(field, summary.get(field, 0))}")
