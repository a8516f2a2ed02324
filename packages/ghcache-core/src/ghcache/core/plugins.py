"""The single plugin manager; plugins come from the ``ghcache`` entry-point group."""

from __future__ import annotations

import pluggy

from ghcache.core import hookspecs

ENTRY_POINT_GROUP = "ghcache"

pm = pluggy.PluginManager("ghcache")
pm.add_hookspecs(hookspecs)

_loaded = False


def load_plugins() -> pluggy.PluginManager:
    """Load installed plugins once per process and return the plugin manager."""
    global _loaded
    if not _loaded:
        _loaded = True
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return pm
