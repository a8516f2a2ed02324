"""ghcache ipfs: shared answers kept in a Kubo IPFS node, for machines born empty."""

__version__ = "0.1.0"
