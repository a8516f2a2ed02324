"""ghcache-cli's own default plugin: the built-in commands, added through the
same ``register_commands`` hook that third-party plugins implement."""

from __future__ import annotations

from typing import Any

from ghcache.core.hookspecs import hookimpl

PLUGIN_NAME = "ghcache.cli.default"


@hookimpl
def register_commands(cli: Any) -> None:
    from ghcache.cli.commands.cache import cache
    from ghcache.cli.commands.config import config
    from ghcache.cli.commands.ratelimit import ratelimit
    from ghcache.cli.commands.stats import stats
    from ghcache.cli.commands.warm import warm

    for command in (cache, config, ratelimit, stats, warm):
        cli.add_command(command)
    api = api_command()
    if api is not None:
        cli.add_command(api, "api")


def api_command() -> Any:
    """The ``api`` command, or None while ``ghcache.cli.api`` is not installed."""
    try:
        from ghcache.cli.api.command import api_command as command
    except ModuleNotFoundError as exc:
        if exc.name not in ("ghcache.cli.api", "ghcache.cli.api.command"):
            raise
        return None
    return command
