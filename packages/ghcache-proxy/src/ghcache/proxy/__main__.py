"""``python -m ghcache.proxy run|start|stop|status|env``: the proxy without the CLI installed."""

from ghcache.proxy.commands import proxy

proxy(prog_name="python -m ghcache.proxy")
