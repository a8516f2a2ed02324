"""``python -m ghcache.p2p daemon run|start|stop|status`` and ``python -m ghcache.p2p peers``."""

from ghcache.p2p.commands import standalone

standalone(prog_name="python -m ghcache.p2p")
