"""The CLI's failures: each prints as one line on stderr, never a traceback.

Apart from :mod:`ghcache.cli.main` and importing nothing of ghcache, so that
commands and the ``api`` command raise them without importing the group that
loads those commands.
"""

from __future__ import annotations

from typing import Any

import click

PROG = "ghcache"


def error_line(message: str) -> str:
    """``ghcache: MESSAGE\\n`` (messages may span lines, as gh's do for GraphQL)."""
    return f"{PROG}: {message}\n"


def one_line(text: str) -> str:
    """``text`` with each run of whitespace, line breaks included, as one space."""
    return " ".join(text.split())


class GhcacheError(click.ClickException):
    """A one-line failure printed as ``ghcache: MESSAGE`` (exit 1), never a traceback."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(f"{PROG}: {self.format_message()}", err=True)


# gh (cobra) exits 1 for a usage error, not click's 2; every ghcache command follows gh.
USAGE_EXIT = 1


class UsageErrorAsGh(click.UsageError):
    """click's usage error ``original``, shown as click shows it, exiting with gh's status."""

    exit_code = USAGE_EXIT

    def __init__(self, original: click.UsageError) -> None:
        super().__init__(original.message, original.ctx)
        self.original = original

    def show(self, file: Any = None) -> None:
        self.original.show(file)


class ApiUsageError(click.UsageError):
    """A one-line usage error of ``ghcache api``, exit 1 as gh's."""

    exit_code = USAGE_EXIT

    def show(self, file: Any = None) -> None:
        click.echo(error_line(self.format_message()).rstrip("\n"), err=True)


class ApiFailure(click.ClickException):
    """A failure of ``ghcache api``, exit 1: ``ghcache: MESSAGE`` for ghcache's own failures
    (API unreachable, offline miss, settings); ``bare`` ones print the message alone, as gh
    does for the same failures (jq/template errors, unreadable files, placeholders)."""

    exit_code = 1

    def __init__(self, message: str, *, bare: bool = False) -> None:
        super().__init__(message)
        self.bare = bare

    def show(self, file: Any = None) -> None:
        message = self.format_message()
        # gh's own messages (a jq halt_error's text, say) are printed as they are, escape
        # sequences included; click would strip those from a stderr that is no terminal.
        click.echo(
            message if self.bare else error_line(message).rstrip("\n"), err=True, color=self.bare
        )
