"""mDNS discovery, inside a network namespace made for the test (needs root/unshare)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent


def namespaces_available() -> str | None:
    """None when ``unshare -n`` works here, else why not."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip not installed"
    probe = subprocess.run(
        ["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True, timeout=10
    )
    if probe.returncode != 0:
        return f"cannot create a network namespace: {probe.stderr.decode().strip()[:100]}"
    return None


def test_two_daemons_find_each_other_by_mdns(tmp_path: Path) -> None:
    reason = namespaces_available()
    if reason:
        pytest.skip(reason)
    script = f'ip link set lo up && exec "$0" {HERE / "mdns_pair.py"} {tmp_path}'
    done = subprocess.run(
        ["unshare", "-n", "sh", "-c", script, sys.executable],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "error" not in result, result
    assert result["pushed"] is True
    assert result["connections"] == [1, 1]
    # Listening on 0.0.0.0 advertises real addresses, never the wildcard.
    assert result["addrs"] and not any("/0.0.0.0/" in a for a in result["addrs"])
    assert "/ip4/127.0.0.1/tcp/" in result["remembered"]
    assert "0.0.0.0" not in result["remembered"]
