"""ghcache core: the content-addressed GitHub API cache engine.

Kept import-light on purpose: the CLI's cache-hit path imports submodules of
this package and must not pay for httpx, pluggy or multiformats.  The public
names below are resolved lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["GitHubAPICache", "__version__", "get_global_cache"]

if TYPE_CHECKING:
    from ghcache.core.cache import GitHubAPICache, get_global_cache


def __getattr__(name: str) -> Any:
    if name in ("GitHubAPICache", "get_global_cache"):
        from ghcache.core import cache

        return getattr(cache, name)
    raise AttributeError(f"module 'ghcache.core' has no attribute {name!r}")
