"""Run inside a fresh network namespace: two daemons find each other by mDNS alone.

Prints one JSON line with what happened; ``test_mdns.py`` runs this under
``unshare -n`` so zeroconf only ever sees the namespace's loopback.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from p2p_helpers import Network, make_entry, wait_until


def main(root: Path) -> None:
    net = Network(root)
    result: dict[str, object] = {}
    try:
        # Listening on every interface (only loopback exists in this namespace).
        a = net.start("a", CACHE_ENABLE_MDNS="true", CACHE_LISTEN_ADDR="0.0.0.0")
        b = net.start("b", CACHE_ENABLE_MDNS="true", CACHE_LISTEN_ADDR="0.0.0.0")
        result["addrs"] = a.status()["addrs"] + b.status()["addrs"]
        started = time.monotonic()
        a.wait_topic_peers(b, timeout=30)
        b.wait_topic_peers(a, timeout=30)
        result["found_after_s"] = round(time.monotonic() - started, 2)
        entry = make_entry("mdns")
        a.put(entry)
        wait_until(lambda: b.has(entry.key), 10, "push over the mDNS-found connection")
        result["pushed"] = True
        # Only the smaller peer id dials: one connection each way, not two.
        result["connections"] = [len(a.status()["peers"]), len(b.status()["peers"])]
        book = b.cache_dir / "p2p_peers.json"
        wait_until(lambda: book.exists() and a.peer_id in book.read_text(), 10, "b remembers a")
        result["remembered"] = book.read_text()
    except AssertionError as exc:
        result["error"] = str(exc)
    finally:
        net.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
