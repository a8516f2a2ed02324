"""ghcache p2p."""

__version__ = "0.1.0"
