"""``ghcache ipfs status|sync|gc`` (run as ``python -m ghcache.ipfs ipfs ...``, a process each)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from ipfs_helpers import YESTERDAY, Machine, machine

from ghcache.core.store import DiskStore
from ghcache.fakehub import FakeHub
from ghcache.ipfs import records
from ghcache.ipfs.fakekubo import FakeKubo

pytestmark = pytest.mark.slow
DAY = 24 * 3600.0


def ipfs(who: Machine, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ghcache.ipfs", "ipfs", *args],
        env=who.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_status_sync_and_gc(tmp_path: Path, hub: FakeHub, kubo: FakeKubo) -> None:
    alice = machine(
        tmp_path,
        "alice",
        GH_TOKEN="ghp_alice",
        CACHE_IPFS_API=kubo.multiaddr,
        GITHUB_API_URL=hub.url,
    )
    # Two days ago, yesterday, and (with IPFS off) now: the last one is only local.
    alice.call_in_process(hub.url + "repos/octo/hello", clock_offset=2 * DAY + 600)
    alice.call_in_process(hub.url + "repos/octo/big", clock_offset=YESTERDAY)
    offline = Machine(alice.cache_dir, {**alice.env, "CACHE_ENABLE_IPFS": "false"})
    offline.call_in_process(hub.url + "repos/octo/empty")
    assert len(kubo.pins()) == 2

    status = ipfs(alice, "status", "--json")
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert shown["kubo_version"] == "0.26.0" and shown["endpoint"] == kubo.url
    assert shown["entries"] == 2
    assert shown["bytes"] == sum(len(kubo.state.block(cid) or b"") for cid in kubo.pins())
    assert YESTERDAY - 60 < shown["index_age_seconds"] < YESTERDAY + 60

    synced = ipfs(alice, "sync")
    assert synced.returncode == 0, synced.stderr
    # The entry stored two days ago is past CACHE_MAX_STALE (1 day) and not put again.
    assert synced.stdout.strip() == (
        "put 1, already there 1, too large 0, past CACHE_MAX_STALE 1"
    ), synced.stdout
    assert len(kubo.pins()) == 3
    assert ipfs(alice, "sync").stdout.startswith("put 0, already there 2")

    collected = ipfs(alice, "gc")
    assert collected.returncode == 0, collected.stderr
    assert collected.stdout.startswith("released 1 pins"), collected.stdout
    assert "removed 1 index records" in collected.stdout
    assert len(kubo.pins()) == 2
    left = {records.parse_pin_name(name) for name in kubo.pins().values()}
    assert all(info is not None and info.expires_at > 0 for info in left)
    # What is left is still found by a fresh machine; the released one is not.
    bob = machine(
        tmp_path, "bob", GH_TOKEN="ghp_bob", CACHE_IPFS_API=kubo.multiaddr, GITHUB_API_URL=hub.url
    )
    assert bob.call(hub.url + "repos/octo/big")["source"] == "confirmed"
    assert bob.call(hub.url + "repos/octo/hello")["source"] == "upstream"
    assert len(list(DiskStore(bob.cache_dir).entries())) == 2


def test_commands_say_why_there_is_no_node(tmp_path: Path) -> None:
    nobody = machine(tmp_path, "nobody")
    done = ipfs(nobody, "status")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"Error: no IPFS node: no CACHE_IPFS_API and no Kubo api file at "
        f"{tmp_path / 'nobody-home' / '.ipfs' / 'api'}"
    )
    off = machine(
        tmp_path, "off", CACHE_ENABLE_IPFS="false", CACHE_IPFS_API="/ip4/127.0.0.1/tcp/5001"
    )
    assert ipfs(off, "gc").stderr.strip() == "Error: no IPFS node: CACHE_ENABLE_IPFS is false"
    down = machine(tmp_path, "down", CACHE_IPFS_API="/ip4/127.0.0.1/tcp/1")
    failed = ipfs(down, "status")
    assert failed.returncode == 1
    assert failed.stderr.startswith("Error: IPFS node: version: ConnectError")
    assert len(failed.stderr.splitlines()) == 1
