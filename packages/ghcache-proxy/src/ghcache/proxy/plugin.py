"""ghcache-proxy's plugin: the ``proxy`` and ``run`` commands and its ``ghcache config`` rows.

Loaded by every CLI call that loads plugins, so it imports nothing heavy (no
uvicorn, httpx or click) at module level.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ghcache.core.hookspecs import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def register_commands(cli: click.Group) -> None:
    from ghcache.proxy.commands import proxy, run

    cli.add_command(proxy)
    cli.add_command(run)


@hookimpl
def config_rows(env: Mapping[str, str]) -> list[tuple[str, str, str]]:
    from ghcache.proxy.settings import config_rows as rows

    return rows(env)


@hookimpl
def config_problems(env: Mapping[str, str]) -> list[str]:
    from ghcache.proxy.settings import config_problem

    problem = config_problem(env)
    return [] if problem is None else [problem]
