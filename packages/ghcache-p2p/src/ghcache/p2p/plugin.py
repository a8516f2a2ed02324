"""ghcache-p2p's plugin: CLI commands and config rows, peer lookups on a miss, announcements.

Loaded by every CLI invocation that loads plugins, so nothing heavy is imported
at module level (no libp2p, trio, cryptography or click): the hooks only talk
to the daemon over its Unix socket with the standard library, and do nothing at
all when p2p is off or no daemon runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ghcache.core.hookspecs import hookimpl

if TYPE_CHECKING:
    import click

    from ghcache.core.config import Settings
    from ghcache.core.entry import Entry
    from ghcache.p2p.settings import P2PSettings

log = logging.getLogger("ghcache.p2p")


@hookimpl
def register_commands(cli: click.Group) -> None:
    from ghcache.p2p.commands import daemon, peers

    cli.add_command(daemon)
    cli.add_command(peers)


@hookimpl
def config_rows(env: Mapping[str, str]) -> list[tuple[str, str, str]]:
    from ghcache.p2p.settings import config_rows as rows

    return rows(env)


@hookimpl
def config_problems(env: Mapping[str, str]) -> list[str]:
    from ghcache.p2p.settings import config_problem

    problem = config_problem(env)
    return [] if problem is None else [problem]


@hookimpl
def lookup_entry(key: str, settings: Settings, newer_than: float) -> bool | None:
    try:
        p2p = enabled_settings(settings)
        if p2p is None or not _daemon_socket_exists(settings):
            return None
        from ghcache.p2p.client import DaemonClient

        found = DaemonClient(settings.cache_dir).lookup(
            key, newer_than=newer_than, timeout=p2p.peer_timeout
        )
    except Exception as exc:  # a lookup must never break the request that asked
        log.debug("peer lookup failed: %r", exc)
        return None
    # The daemon verified and stored the copy it found: core reads it from the store.
    return True if found else None


@hookimpl
def entry_stored(entry: Entry, settings: Settings) -> None:
    if not entry.is_shared:
        return  # identity-scoped entries never leave this machine
    try:
        p2p = enabled_settings(settings)
        if p2p is None or not _daemon_socket_exists(settings):
            return
        from ghcache.p2p.client import DaemonClient

        DaemonClient(settings.cache_dir).send_announce(entry.key, timeout=p2p.peer_timeout)
    except Exception as exc:
        log.debug("announce failed: %r", exc)


class _ParsedOnce:
    """The P2PSettings of the last core Settings seen.

    Core builds one Settings per process and hands that same object to every
    hook call, so keying on its identity parses the environment once and never
    mixes up two environments.
    """

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.parsed: P2PSettings | None = None

    def get(self, settings: Settings) -> P2PSettings | None:
        if settings is not self.settings:
            from ghcache.core.config import ConfigError
            from ghcache.p2p.settings import P2PSettings

            try:
                self.parsed = P2PSettings.from_settings(settings)
            except ConfigError as exc:  # the daemon reports it; the CLI goes on without peers
                log.debug("p2p off: %s", exc)
                self.parsed = None
            self.settings = settings
        return self.parsed


_parsed_once = _ParsedOnce()


def enabled_settings(settings: Settings) -> P2PSettings | None:
    """This process's P2PSettings for ``settings``, or None when p2p is off or misconfigured."""
    p2p = _parsed_once.get(settings)
    return p2p if p2p is not None and p2p.enable_p2p else None


def _daemon_socket_exists(settings: Settings) -> bool:
    from ghcache.p2p.ipc import socket_path

    return socket_path(settings.cache_dir).exists()
