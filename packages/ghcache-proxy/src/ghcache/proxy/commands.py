"""The ``proxy`` click group (added to ``ghcache`` by the plugin's register_commands)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from ghcache.core.config import ConfigError, Settings


def _cache_dir() -> Path:
    try:
        return Settings.from_env().cache_dir
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("proxy")
def proxy() -> None:
    """Serve the cache as a GitHub API base URL for any client (PyGithub, octokit, curl)."""


@proxy.command("run")
def proxy_run() -> None:
    """Run the proxy in the foreground (Ctrl-C to stop)."""
    from ghcache.proxy.server import main

    raise SystemExit(main())


@proxy.command("start")
def proxy_start() -> None:
    """Start the proxy in the background."""
    from ghcache.proxy.control import ControlError, start

    try:
        status = start(_cache_dir())
    except ControlError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(exc.status) from None
    click.echo(f"proxy started (pid {status['pid']}) at {status['url']}")


@proxy.command("stop")
def proxy_stop() -> None:
    """Stop the background proxy."""
    from ghcache.proxy.control import stop

    pid = stop(_cache_dir())
    click.echo(f"proxy stopped (pid {pid})" if pid else "proxy not running")


@proxy.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def proxy_status(as_json: bool) -> None:
    """Show whether the proxy runs, where, and what it answered since it started."""
    from ghcache.proxy.control import running_status

    status = running_status(_cache_dir())
    if status is None:
        click.echo(json.dumps({"running": False}) if as_json else "proxy not running")
        raise SystemExit(1)
    status = {"running": True, **status}
    if as_json:
        click.echo(json.dumps(status, indent=2, sort_keys=True))
        return
    uptime = int(time.time() - float(status.get("started_at", time.time())))
    click.echo(f"proxy running (pid {status['pid']}, up {uptime} s) at {status['url']}")
    click.echo(f"upstream: {status['upstream']}")
    outcomes = status.get("outcomes", {})
    if outcomes:
        click.echo("answers:  " + ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))
