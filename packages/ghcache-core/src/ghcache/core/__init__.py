"""ghcache core: the content-addressed GitHub API cache engine.

Imports nothing at all: the CLI's cache-hit path imports ``ghcache.core.kernel``
through this package and must not pay for ``typing``, httpx or pluggy.  The
public names below are resolved lazily.
"""

__version__ = "0.1.0"

__all__ = ["GitHubAPICache", "__version__", "get_global_cache"]


def __getattr__(name: str) -> object:
    if name in ("GitHubAPICache", "get_global_cache"):
        from ghcache.core import cache

        return getattr(cache, name)
    raise AttributeError(f"module 'ghcache.core' has no attribute {name!r}")
