"""``ghcache config`` names a plugin's setting that cannot be used, after showing every row
(run as the installed console script)."""

from __future__ import annotations

import json
from typing import Any


def test_config_names_the_bootstrap_peer_the_daemon_would_refuse(
    cli: Any, env: dict[str, str]
) -> None:
    good = "/ip4/10.0.0.5/tcp/9100/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
    bad = "/ip4/127.0.0.1/tcp/4001/p2p/QmHash1"
    peers_env = {**env, "CACHE_BOOTSTRAP_PEERS": f"{good},{bad}"}
    problem = (
        f"CACHE_BOOTSTRAP_PEERS: entry 2 '{bad}' is not a valid multiaddr with a peer id: "
        "Invalid CID: QmHash1"
    )
    text = cli(["config"], peers_env)
    assert text.returncode == 1
    assert text.stderr.decode() == f"ghcache: {problem}\n"
    # Every row is still shown, the one with the bad entry included.
    rows = text.stdout.decode().splitlines()
    assert any(line.startswith("CACHE_BOOTSTRAP_PEERS ") and bad in line for line in rows)
    assert any(line.startswith("CACHE_SHARED_SECRET ") for line in rows)
    done = cli(["config", "--json"], peers_env)
    assert done.returncode == 1
    assert json.loads(done.stdout)["problems"] == [problem]
    fine = cli(["config", "--json"], {**env, "CACHE_BOOTSTRAP_PEERS": good})
    assert fine.returncode == 0, fine.stderr
    assert json.loads(fine.stdout)["problems"] == []
