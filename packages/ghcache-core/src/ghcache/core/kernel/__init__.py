"""The rules every path shares, on C built-ins alone.

The CLI's cache hit (``ghcache.cli.fastpath``) and the rest of core (keys,
entries, the store, statistics, scope, hosts, settings, policy) build on these
modules, so each rule exists once.  A module here imports only modules that
are built into the interpreter (``os``, ``time``, ``_json``, ``_sha256``,
``fcntl``...) at import time, never ``typing``, ``json``, ``re``, ``dataclasses``,
``pathlib`` or ``urllib``: a whole hit must cost less than gh's own cache, and
``tests/test_kernel_imports.py`` holds this.  Rare paths may import more inside
the function that needs it.
"""
