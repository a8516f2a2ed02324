"""The single plugin manager; plugins come from the ``ghcache`` entry-point group."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

import pluggy

from ghcache.core import hookspecs

ENTRY_POINT_GROUP = "ghcache"

pm = pluggy.PluginManager("ghcache")
pm.add_hookspecs(hookspecs)

_loaded = False


def load_plugins() -> pluggy.PluginManager:
    """Load installed plugins once per process and return the plugin manager.

    Each entry point is loaded on its own (pluggy's ``load_setuptools_entrypoints``
    stops at the first broken one): a plugin that fails to import is reported in
    one line on stderr and the others still load.
    """
    global _loaded
    if _loaded:
        return pm
    _loaded = True
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if pm.get_plugin(entry_point.name) is not None or pm.is_blocked(entry_point.name):
            continue
        try:
            plugin = entry_point.load()
            pm.register(plugin, name=entry_point.name)
        except Exception as exc:
            print(
                f"ghcache: plugin {entry_point.name!r} ({entry_point.value}) not loaded: "
                f"{type(exc).__name__}: {exc}",
                file=sys.stderr,
            )
    return pm
