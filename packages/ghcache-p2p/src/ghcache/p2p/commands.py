"""The ``daemon`` and ``peers`` click commands (added by the plugin's register_commands)."""

from __future__ import annotations

import json
import time
from typing import Any

import click

from ghcache.core.config import ConfigError, Settings


def _cache_dir() -> Any:
    try:
        return Settings.from_env().cache_dir
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("daemon")
def daemon() -> None:
    """Run the p2p daemon that shares cached entries with your team."""


@daemon.command("run")
def daemon_run() -> None:
    """Run the daemon in the foreground (Ctrl-C to stop)."""
    from ghcache.p2p.process import main

    raise SystemExit(main())


@daemon.command("start")
def daemon_start() -> None:
    """Start the daemon in the background."""
    from ghcache.p2p.control import ControlError, start

    try:
        status = start(_cache_dir())
    except ControlError as exc:
        # As click prints its errors, but with the status `daemon run` would exit with
        # (2: bad configuration).
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(exc.status) from None
    click.echo(f"daemon started (pid {status['pid']}), peer id {status['peer_id']}")


@daemon.command("stop")
def daemon_stop() -> None:
    """Stop the background daemon."""
    from ghcache.p2p.control import stop

    pid = stop(_cache_dir())
    click.echo(f"daemon stopped (pid {pid})" if pid else "daemon not running")


@daemon.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the full status as JSON.")
def daemon_status(as_json: bool) -> None:
    """Show whether the daemon runs, its peer id, addresses, peers and counters."""
    from ghcache.p2p.control import running_status

    status = running_status(_cache_dir())
    if status is None:
        if as_json:
            click.echo(json.dumps({"running": False}))
        else:
            click.echo("daemon not running")
        raise SystemExit(1)
    status = {"running": True, **{k: v for k, v in status.items() if k != "ok"}}
    if as_json:
        click.echo(json.dumps(status, indent=2, sort_keys=True))
        return
    uptime = int(time.time() - float(status.get("started_at", time.time())))
    click.echo(f"daemon running (pid {status['pid']}, up {uptime} s)")
    click.echo(f"peer id:  {status['peer_id']}")
    click.echo(f"network:  {status['network_id']}")
    for addr in status.get("addrs", []):
        click.echo(f"address:  {addr}")
    click.echo(f"peers:    {len(status.get('peers', []))} connected")
    for name, value in sorted(status.get("counters", {}).items()):
        if value:
            click.echo(f"  {name}: {value}")
    refused = {k: v for k, v in status.get("refused", {}).items() if v}
    if refused:
        click.echo("refused: " + ", ".join(f"{k}={v}" for k, v in sorted(refused.items())))


@click.command("peers")
@click.option("--json", "as_json", is_flag=True, help="Print peers as JSON.")
def peers(as_json: bool) -> None:
    """List the peers the daemon is connected to."""
    from ghcache.p2p.control import running_status

    status = running_status(_cache_dir())
    if status is None:
        raise click.ClickException("daemon not running (start it with: ghcache daemon start)")
    connected = status.get("peers", [])
    if as_json:
        click.echo(json.dumps(connected, indent=2, sort_keys=True))
        return
    if not connected:
        click.echo("no peers connected")
    for peer in connected:
        addrs = ", ".join(peer.get("addrs", [])[:3])
        team = "" if peer.get("topic") else " (not in our network)"
        click.echo(f"{peer['peer_id']}  {addrs}{team}")


@click.group()
def standalone() -> None:
    """ghcache p2p daemon control (also available as ``ghcache daemon``/``ghcache peers``)."""


standalone.add_command(daemon)
standalone.add_command(peers)
