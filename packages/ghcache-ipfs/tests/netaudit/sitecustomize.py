"""Loaded by the tests' client processes (PYTHONPATH): every socket connect is logged.

The tests then assert that each address is loopback or a Unix socket, so nothing a
client process does (ghcache, httpx, a plugin) reached another address unseen.
"""

import os
import sys

_LOG = os.environ.get("GHCACHE_TEST_CONNECT_LOG", "")

if _LOG:

    def _audit(event: str, args: tuple[object, ...]) -> None:
        if event == "socket.connect":
            with open(_LOG, "a", encoding="utf-8") as log:
                log.write(repr(args[1]) + "\n")

    sys.addaudithook(_audit)
