"""What ghcache reproduces of gh 2.23: flags, request building, filters and output.

Each module here mirrors a part of gh (or go-gh) and holds no ghcache policy;
the application's plumbing (commands, plugins, the cache client) lives beside
this package.  Imports nothing: the fast path loads ``gh.output`` on a cache hit.
"""
