"""``ghcache ratelimit``: the rate-limit waits every process on this machine respects."""

from __future__ import annotations

import json
import time

import click

from ghcache.cli.commands import load_settings


def remembered() -> list[dict[str, object]]:
    """Active waits: host, identity fingerprint, resource and until when (newest last)."""
    from ghcache.core.ratelimit import RateLimitMemory

    settings = load_settings()
    rows = []
    for name, until in sorted(RateLimitMemory(settings.cache_dir).active(time.time()).items()):
        host, _, rest = name.partition(":")
        identity, _, resource = rest.partition(":")
        rows.append(
            {"host": host, "identity": identity, "resource": resource or "core", "until": until}
        )
    return rows


@click.group("ratelimit", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def ratelimit(ctx: click.Context, as_json: bool) -> None:
    """Show the rate-limit waits GitHub asked for, per host, identity and resource.

    Until a wait ends no process on this machine asks GitHub for that identity and
    resource: answers come from the cache (stale, with a notice) or the call fails.
    """
    if ctx.invoked_subcommand is not None:
        return
    rows = remembered()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no rate limit remembered")
        return
    for row in rows:
        until = float(str(row["until"]))
        clock = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(until))
        left = int(until - time.time())
        click.echo(
            f"{row['host']}  {row['identity']}  {row['resource']:<12} until {clock} ({left}s)"
        )


@ratelimit.command("clear")
def clear() -> None:
    """Forget every remembered wait (GitHub is asked again on the next call)."""
    from ghcache.core.ratelimit import RateLimitMemory

    settings = load_settings()
    count = RateLimitMemory(settings.cache_dir).forget()
    click.echo(f"forgot {count} rate-limit wait(s) in {settings.cache_dir}")
