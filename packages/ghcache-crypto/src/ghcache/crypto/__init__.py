"""ghcache crypto."""

__version__ = "0.1.0"
