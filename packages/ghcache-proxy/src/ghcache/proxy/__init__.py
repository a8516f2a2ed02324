"""ghcache proxy: the team cache as a GitHub API base URL for any client."""

__version__ = "0.1.0"
