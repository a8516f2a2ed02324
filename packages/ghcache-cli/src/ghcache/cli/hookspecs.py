"""The hooks ghcache-cli adds to core's (project name ``ghcache``), with ``pm.add_hookspecs``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ghcache.core.hookspecs import hookspec

if TYPE_CHECKING:
    import click


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands or groups to the ``ghcache`` command group ``cli``."""


@hookspec
def config_rows(env: Mapping[str, str]) -> list[tuple[str, str, str]]:  # type: ignore[empty-body]
    """Rows ``(variable, effective value, "env" or "default")`` for ``ghcache config``:
    the settings a plugin owns (core's own rows are shown first)."""


@hookspec
def config_problems(env: Mapping[str, str]) -> list[str]:  # type: ignore[empty-body]
    """One line per unusable setting a plugin owns (``ghcache config`` still shows every
    row, then prints each line as ``ghcache: LINE`` on stderr and exits 1)."""
