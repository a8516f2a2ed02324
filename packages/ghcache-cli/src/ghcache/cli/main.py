"""The ``ghcache`` click group: built-in commands and those of installed plugins.

Every command, the built-in ones included, arrives through the pluggy hook
``register_commands(cli)`` (a hookspec of ghcache-cli, :mod:`ghcache.cli.hookspecs`):
the built-ins from :mod:`ghcache.cli.default_plugin` (registered on the plugin
manager like any third party), the rest from the ``ghcache`` entry-point group.
Scanning entry points costs ~100 ms, so it happens only when a name is not
built in or the command list is shown.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ghcache.cli import __version__
from ghcache.cli.errors import USAGE_EXIT, GhcacheError, UsageErrorAsGh, one_line

BUILTIN_COMMANDS = ("api", "cache", "config", "ratelimit", "stats", "warm")
DEBUG_ENV = "GHCACHE_DEBUG"


class GhcacheGroup(click.Group):
    """A group whose commands come from plugins, loaded only when needed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hooked_plugins: frozenset[int] = frozenset()
        self._entry_points_loaded = False

    def register_plugin_commands(self, *, entry_points: bool) -> None:
        """Call ``register_commands`` on the plugins registered since the last call."""
        from ghcache.cli.plugins import cli_plugin_manager
        from ghcache.core.plugins import load_plugins

        pm = cli_plugin_manager()
        if entry_points and not self._entry_points_loaded:
            self._entry_points_loaded = True
            try:
                load_plugins()
            except Exception as exc:  # a broken plugin must not take the built-ins with it
                click.echo(f"ghcache: cannot load plugins: {_one_line(exc)}", err=True)
        current = frozenset(id(plugin) for plugin in pm.get_plugins())
        if current != self._hooked_plugins:
            self._hooked_plugins = current
            try:
                pm.hook.register_commands(cli=self)
            except Exception as exc:
                click.echo(
                    f"ghcache: a plugin failed to add its commands: {_one_line(exc)}", err=True
                )

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self.register_plugin_commands(entry_points=cmd_name not in BUILTIN_COMMANDS)
        command = super().get_command(ctx, cmd_name)
        if command is None and not self._entry_points_loaded:
            self.register_plugin_commands(entry_points=True)
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        self.register_plugin_commands(entry_points=True)
        return super().list_commands(ctx)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            if exc.exit_code == USAGE_EXIT:
                raise
            raise UsageErrorAsGh(exc) from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # a command's or a plugin's: gh's status, not click's
            if exc.exit_code == USAGE_EXIT:
                raise
            raise UsageErrorAsGh(exc) from exc
        except (click.ClickException, click.exceptions.Exit, click.Abort, BrokenPipeError):
            raise  # click reports these itself (a closed pipe: quietly, exit 1)
        except Exception as exc:
            raise as_ghcache_error(exc) from exc


def as_ghcache_error(exc: Exception) -> GhcacheError:
    """The one-line error for a known failure (bad setting, cache dir, API)."""
    from ghcache.core.config import ConfigError
    from ghcache.core.store import CacheDirError

    if isinstance(exc, ConfigError | CacheDirError):
        return GhcacheError(str(exc))
    client = sys.modules.get("ghcache.core.client")  # loaded if it raised; httpx is costly
    if client is not None and isinstance(exc, client.ApiError):
        return GhcacheError(_one_line(exc))
    if os.environ.get(DEBUG_ENV):
        raise exc
    return GhcacheError(f"internal error: {type(exc).__name__}: {_one_line(exc)}")


def _one_line(exc: BaseException) -> str:
    return one_line(str(exc)) or type(exc).__name__


@click.group(
    cls=GhcacheGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "--version", prog_name="ghcache", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """ghcache: a shared, caching drop-in for `gh api`.

    `ghcache api ENDPOINT` answers like `gh api ENDPOINT`, from a local cache
    when it can.

    \b
    Exit codes, as gh's: 0 success; 1 a failure or a usage error, said in one
    line on stderr (a bad setting such as CACHE_DEFAULT_TTL=abc, an unusable
    cache directory, an API error, an unknown flag).
    Debugging aids: GHCACHE_NO_FASTPATH=1 answers cache hits through the
    full command instead of the standard-library fast path (same output,
    slower); GHCACHE_DEBUG=1 shows the traceback of an unexpected error.
    """
    if ctx.invoked_subcommand is None:  # bare `ghcache`: the help, and success, like gh
        click.echo(ctx.get_help())


def run(args: list[str], prog_name: str = "ghcache") -> int:
    """Run the group on ``args`` and return the exit code (usage errors: 1, as gh's)."""
    try:
        cli.main(args=args, prog_name=prog_name, standalone_mode=True)
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            return done.code or 0
        click.echo(str(done.code), err=True)
        return 1
    return 0
