"""``ghcache config`` with the p2p plugin installed (as ghcache-validate installs it) names a
plugin's setting that cannot be used, after showing every row (the console script)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

GOOD = "/ip4/10.0.0.5/tcp/9100/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
BAD = "/ip4/127.0.0.1/tcp/4001/p2p/QmHash1"


def config(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[bytes]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "CACHE_DIR": str(tmp_path / "cache"),
        "GH_CONFIG_DIR": str(tmp_path / "gh"),
        **extra,
    }
    script = Path(sys.executable).with_name("ghcache")
    return subprocess.run(
        [str(script), "config", *args], env=env, capture_output=True, timeout=60, check=False
    )


def test_config_names_the_bootstrap_peer_the_daemon_would_refuse(tmp_path: Path) -> None:
    problem = (
        f"CACHE_BOOTSTRAP_PEERS: entry 2 '{BAD}' is not a valid multiaddr with a peer id: "
        "Invalid CID: QmHash1"
    )
    text = config(tmp_path, CACHE_BOOTSTRAP_PEERS=f"{GOOD},{BAD}")
    assert text.returncode == 1
    assert text.stderr.decode() == f"ghcache: {problem}\n"
    # Every row is still shown, the one with the bad entry included.
    rows = text.stdout.decode().splitlines()
    assert any(line.startswith("CACHE_BOOTSTRAP_PEERS ") and BAD in line for line in rows)
    assert any(line.startswith("CACHE_SHARED_SECRET ") for line in rows)
    done = config(tmp_path, "--json", CACHE_BOOTSTRAP_PEERS=f"{GOOD},{BAD}")
    assert done.returncode == 1
    assert json.loads(done.stdout)["problems"] == [problem]
    fine = config(tmp_path, "--json", CACHE_BOOTSTRAP_PEERS=GOOD)
    assert fine.returncode == 0, fine.stderr
    assert json.loads(fine.stdout)["problems"] == []
