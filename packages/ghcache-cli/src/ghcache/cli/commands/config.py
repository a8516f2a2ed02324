"""``ghcache config``: the effective configuration and where each value came from:
core's settings, then those that plugins own (the ``config_rows`` hook), the host
and the token.

Secrets are reported only as present or absent, with their source, never
their value.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import click

from ghcache.cli.commands import load_settings
from ghcache.cli.errors import error_line, one_line
from ghcache.core.config import Settings
from ghcache.core.hosts import resolve_host, resolve_token

SHARED_SECRET_ENV = "CACHE_SHARED_SECRET"


def setting_values(settings: Settings) -> dict[str, Any]:
    """Each of core's variables with its effective (parsed) value, JSON-ready."""
    return {
        "CACHE_DIR": str(settings.cache_dir),
        "CACHE_DEFAULT_TTL": settings.default_ttl,
        "CACHE_MAX_BYTES": settings.max_bytes,
        "CACHE_MAX_STALE": settings.max_stale,
        "CACHE_NEGATIVE_TTL": settings.negative_ttl,
        "CACHE_SHARING": settings.sharing,
    }


def plugin_rows(env: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """``(variable, value, source)`` of the settings that plugins own (ghcache-p2p's...)."""
    from ghcache.cli.plugins import cli_plugin_manager
    from ghcache.core.plugins import load_plugins

    pm = cli_plugin_manager()
    load_plugins()
    return [row for rows in pm.hook.config_rows(env=env) for row in rows]


def plugin_problems(env: Mapping[str, str]) -> list[str]:
    """What plugins find unusable in the settings they own, one line each.

    Core's own settings never get here: a bad one stops the command before.
    """
    from ghcache.cli.plugins import cli_plugin_manager
    from ghcache.core.plugins import load_plugins

    pm = cli_plugin_manager()
    load_plugins()
    return [line for lines in pm.hook.config_problems(env=env) for line in lines]


def effective_config(hostname: str | None, env: Mapping[str, str]) -> dict[str, Any]:
    settings = load_settings(env)
    host = resolve_host(hostname, env)
    token, token_source = resolve_token(host, env)
    if hostname is not None:
        host_source = "--hostname"
    elif env.get("GITHUB_API_URL", "").strip():
        host_source = "GITHUB_API_URL"
    elif env.get("GH_HOST"):
        host_source = "GH_HOST"
    else:
        host_source = "default"
    secret_present = bool(env.get(SHARED_SECRET_ENV, "").strip())
    rows = {
        name: {"value": value, "source": settings.sources.get(name, "default")}
        for name, value in setting_values(settings).items()
    }
    for name, value, source in plugin_rows(env):
        rows[name] = {"value": value, "source": source}
    return {
        "settings": rows,
        "host": {
            "hostname": host.hostname,
            "rest_url": host.rest_url,
            "graphql_url": host.graphql_url,
            "source": host_source,
        },
        "token": {"present": token is not None, "source": token_source},
        "shared_secret": {
            "present": secret_present,
            "source": SHARED_SECRET_ENV if secret_present else None,
        },
        "problems": plugin_problems(env),
    }


def show_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(value) if value else "(none)"
    if value is None:
        return "(off)"
    return str(value)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--hostname", help="Show the host and token for this GitHub host.")
def config(as_json: bool, hostname: str | None) -> None:
    """Show the effective configuration and where each value came from.

    The token and CACHE_SHARED_SECRET are shown only as present or absent. A setting
    that cannot be used is named on stderr after the rows, and the exit status is 1.
    """
    report = effective_config(hostname, os.environ)
    if as_json:
        click.echo(json.dumps(report))
        fail_on_problems(report["problems"])
        return
    rows = [
        (name, show_value(item["value"]), item["source"])
        for name, item in report["settings"].items()
    ]
    host = report["host"]
    rows.append(("host", f"{host['hostname']} ({host['rest_url']})", host["source"]))
    token = report["token"]
    rows.append(("token", "present" if token["present"] else "absent", token["source"] or "-"))
    secret = report["shared_secret"]
    rows.append(
        (SHARED_SECRET_ENV, "present" if secret["present"] else "absent", secret["source"] or "-")
    )
    width = max(len(name) for name, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    for name, value, source in rows:
        click.echo(f"{name:<{width}}  {value:<{value_width}}  ({source})")
    fail_on_problems(report["problems"])


def fail_on_problems(problems: list[str]) -> None:
    # The rows are printed first: they are where people look for the bad value.
    if problems:
        for problem in problems:
            click.echo(error_line(one_line(problem)), err=True, nl=False)
        raise click.exceptions.Exit(1)
