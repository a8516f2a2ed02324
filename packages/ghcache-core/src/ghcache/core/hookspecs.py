"""Every way ghcache-core can be extended, one hook each (project name ``ghcache``).

Plugins are found through the ``ghcache`` entry-point group.  A plugin module
must keep heavy imports (libp2p, trio, cryptography) inside the functions that
need them: loading plugins imports the module.  Each hook gets core's
:class:`~ghcache.core.config.Settings` (as datasette's hooks get ``datasette``):
a plugin reads its own variables from ``settings.env`` and decides by itself
whether it is enabled.  Higher layers add their own hookspecs (ghcache-cli adds
``register_commands``) with ``pm.add_hookspecs``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from ghcache.core.config import Settings
    from ghcache.core.entry import Entry

hookspec = pluggy.HookspecMarker("ghcache")
hookimpl = pluggy.HookimplMarker("ghcache")


@hookspec(firstresult=True)
def lookup_entry(key: str, settings: Settings, newer_than: float) -> bool | None:
    """On a local miss of shared-scope ``key``, find a copy stored after ``newer_than``
    (epoch seconds; 0 when nothing is held) elsewhere, e.g. at peers.

    The plugin verifies what it finds and writes it to the store in
    ``settings.cache_dir`` itself (one owner per datum), then answers True;
    core reads it from there once, through the store.  The first answer wins.
    """


@hookspec
def entry_stored(entry: Entry, settings: Settings) -> None:
    """``entry`` was written to the local store (e.g. announce it to peers)."""
