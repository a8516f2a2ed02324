"""Console-script entry points: ``ghcache`` and ``gh-api-cached``.

A plain ``ghcache api ENDPOINT`` whose answer is fresh in the cache is served
by :mod:`ghcache.cli.fastpath` on the standard library alone; everything else
(misses, other flags, other commands, errors) goes to the click group.  Set
``GHCACHE_NO_FASTPATH=1`` to always take the click path (a debugging aid: the
output is the same, only slower).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """``ghcache ARGS``: the fast path for a cache hit, else the click group."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["api"]:
        from ghcache.cli.fastpath import serve_hit

        code = serve_hit(args)
        if code is not None:
            return code
    from ghcache.cli.main import run

    return run(args)


def gh_api_cached(argv: list[str] | None = None) -> int:
    """``gh-api-cached ARGS`` is ``ghcache api ARGS``."""
    args = sys.argv[1:] if argv is None else list(argv)
    return main(["api", *args])


if __name__ == "__main__":
    sys.exit(main())
