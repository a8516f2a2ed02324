"""ghcache-cli on core's plugin manager: the hooks the CLI adds
(:mod:`ghcache.cli.hookspecs`) and its default plugin, registered like any other."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pluggy


def cli_plugin_manager() -> pluggy.PluginManager:
    """Core's plugin manager with the CLI's hookspecs and default plugin added (once).

    The hookspecs come first, so that the CLI's hooks of every plugin registered
    afterwards are checked against them.
    """
    from ghcache.cli import default_plugin, hookspecs
    from ghcache.core.plugins import pm

    caller = getattr(pm.hook, "register_commands", None)
    if caller is None or not caller.has_spec():
        pm.add_hookspecs(hookspecs)
    if not pm.is_registered(default_plugin):
        pm.register(default_plugin, name=default_plugin.PLUGIN_NAME)
    return pm
