"""ghcache-ipfs's plugin: IPFS asked on a miss (after peers), shared entries put on store,
``ghcache ipfs ...`` and its config rows.

Loaded by every CLI call that loads plugins, so nothing heavy at module level:
httpx and cryptography load only when a Kubo endpoint is configured and a hook
has work for it.  A failing node never fails a request: the call goes on to
GitHub, and a node the user named explicitly (``CACHE_IPFS_API``) gets one line
on stderr per process; Kubo's api file left behind by a stopped node gets none.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ghcache.core.hookspecs import hookimpl

if TYPE_CHECKING:
    import click

    from ghcache.core.config import Settings
    from ghcache.core.entry import Entry
    from ghcache.ipfs.backend import IpfsBackend
    from ghcache.ipfs.settings import Endpoint

log = logging.getLogger("ghcache.ipfs")


@hookimpl
def register_commands(cli: click.Group) -> None:
    from ghcache.ipfs.commands import ipfs

    cli.add_command(ipfs)


@hookimpl
def config_rows(env: Mapping[str, str]) -> list[tuple[str, str, str]]:
    from ghcache.ipfs.settings import config_rows as rows

    return rows(env)


@hookimpl
def config_problems(env: Mapping[str, str]) -> list[str]:
    from ghcache.ipfs.settings import config_problem

    problem = config_problem(env)
    return [] if problem is None else [problem]


@hookimpl(trylast=True)  # after the p2p daemon: a teammate's copy is newer and nearer
def lookup_entry(key: str, settings: Settings, newer_than: float) -> bool | None:
    opened = _backends.get(settings)
    if opened is None:
        return None
    backend, endpoint = opened
    try:
        from ghcache.core.store import DiskStore

        store = DiskStore(settings.cache_dir, max_bytes=settings.max_bytes)
        found = backend.find(key, newer_than, store)
    except Exception as exc:  # a lookup must never break the request that asked
        _backends.failed(settings)
        _notice(endpoint, f"IPFS lookup failed, asking GitHub: {exc}")
        return None
    return True if found is not None else None


@hookimpl
def entry_stored(entry: Entry, settings: Settings) -> None:
    if not entry.is_shared or not 200 <= entry.status < 300:
        return  # identity-scoped and negative answers never leave this machine
    opened = _backends.get(settings)
    if opened is None:
        return
    backend, endpoint = opened
    try:
        from ghcache.ipfs.backend import TooLarge

        try:
            backend.put(entry)
        except TooLarge as exc:
            log.debug("not kept in IPFS: %s", exc)
    except Exception as exc:
        _backends.failed(settings)
        _notice(endpoint, f"could not keep the answer in IPFS: {exc}")


class _OpenedOnce:
    """The backend for the last core Settings seen (core hands every hook the same object,
    so the environment is read and the key derived once per process)."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.opened: tuple[IpfsBackend, Endpoint] | None = None

    def get(self, settings: Settings) -> tuple[IpfsBackend, Endpoint] | None:
        if settings is not self.settings:
            self.settings = settings
            self.opened = None
            try:
                self.opened = open_backend(settings)
            except Exception as exc:
                log.debug("ipfs off: %s", exc)
        return self.opened

    def failed(self, settings: Settings) -> None:
        """The node failed this process once: a down or hanging node is not waited for again
        (a CLI process is one call; the store after the lookup would wait a second time)."""
        if settings is self.settings:
            self.opened = None


_backends = _OpenedOnce()
_noticed = False


def open_backend(settings: Settings) -> tuple[IpfsBackend, Endpoint] | None:
    """The backend this environment configures, or None (IPFS off, no node, no secret)."""
    from ghcache.ipfs.settings import IPFSSettings

    ipfs = IPFSSettings.from_settings(settings)
    endpoint, why = ipfs.endpoint()
    if endpoint is None:
        log.debug("ipfs off: %s", why)
        return None
    from ghcache.crypto import Keyring

    keyring = Keyring.from_env(settings.env)
    if keyring is None:
        log.debug("ipfs off: no shared secret")
        return None
    from ghcache.ipfs.backend import IpfsBackend
    from ghcache.ipfs.kubo import Kubo

    return IpfsBackend(Kubo(endpoint.url), keyring, timeout=ipfs.timeout), endpoint


def _notice(endpoint: Endpoint, message: str) -> None:
    global _noticed
    log.debug("%s", message)
    if endpoint.explicit and not _noticed:
        _noticed = True
        line = " ".join(message.split())[:300]
        print(f"ghcache: {line} (CACHE_IPFS_API={endpoint.url})", file=sys.stderr)
