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
    if status.get("forward_url"):
        intercepted = ", ".join(status.get("intercepted") or []) or "no host"
        click.echo(f"forward:  {status['forward_url']} (answers CONNECT to {intercepted})")
    outcomes = status.get("outcomes", {})
    if outcomes:
        click.echo("answers:  " + ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))


@proxy.command("env")
def proxy_env() -> None:
    """Print the variables that send HTTPS through the forward proxy, for `eval`.

    Starts the proxy in the background when none runs.
    """
    from ghcache.proxy.launch import LaunchError, ensure_proxy, forward_variables, shell_lines

    try:
        status, started = ensure_proxy(_cache_dir())
        variables = forward_variables(status)
    except LaunchError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(exc.status) from None
    if started:
        click.echo(f"proxy started (pid {status['pid']}) at {status['url']}", err=True)
    click.echo(shell_lines(variables), nl=False)


@click.command(
    "run",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(command: tuple[str, ...]) -> None:
    """Run COMMAND with its HTTPS through the proxy: gh, git, curl, any client.

    Sets HTTPS_PROXY to the forward proxy and SSL_CERT_FILE to the system's CA bundle plus
    the proxy's local CA, whose certificates name the GitHub API host only; that host's
    requests are answered through the cache, every other host is tunnelled untouched.
    Starts the proxy in the background when none runs.

        ghcache run -- gh issue list -R cli/cli
    """
    import os
    import shutil

    from ghcache.proxy.launch import LaunchError, ensure_proxy, forward_variables, host_mismatch

    if shutil.which(command[0]) is None:  # before a proxy is started for nothing
        click.echo(f"Error: cannot run {command[0]!r}: command not found", err=True)
        raise SystemExit(127)
    try:
        status, started = ensure_proxy(_cache_dir())
        variables = forward_variables(status)
    except LaunchError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(exc.status) from None
    if started:
        click.echo(f"ghcache: proxy started (pid {status['pid']}) at {status['url']}", err=True)
    problem = host_mismatch(status, os.environ)
    if problem is not None:
        click.echo(f"ghcache: warning: {problem}", err=True)
    env = {**os.environ, **variables}
    try:
        # The command takes this process's place: its exit status, signals and terminal
        # are its own, as without ghcache.
        os.execvpe(command[0], list(command), env)
    except OSError as exc:
        click.echo(f"Error: cannot run {command[0]!r}: {exc.strerror or exc}", err=True)
        raise SystemExit(127 if isinstance(exc, FileNotFoundError) else 126) from None
