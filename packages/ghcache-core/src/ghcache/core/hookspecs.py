"""Every way ghcache can be extended, one hook each (project name ``ghcache``).

Plugins are found through the ``ghcache`` entry-point group.  A plugin module
must keep heavy imports (libp2p, trio, cryptography) inside the functions that
need them: loading plugins imports the module.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from ghcache.core.entry import Entry

hookspec = pluggy.HookspecMarker("ghcache")
hookimpl = pluggy.HookimplMarker("ghcache")


@hookspec
def register_commands(cli: Any) -> None:
    """Add click commands or groups to the ``ghcache`` command group ``cli``."""


@hookspec(firstresult=True)
def lookup_entry(key: str, cache_dir: Path) -> Entry | None:
    """On a local miss of a shared-scope ``key``, find the entry elsewhere (e.g. peers).

    The first non-None answer wins.  The caller verifies the answer (key, scope,
    body CID) before storing it, and counts it as a peer hit.
    """


@hookspec
def entry_stored(entry: Entry, cache_dir: Path) -> None:
    """``entry`` was written to the local store in ``cache_dir`` (e.g. announce it to peers)."""
