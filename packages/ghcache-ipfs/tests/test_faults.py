"""A node that is down, slow or answers garbage: the call goes on to GitHub within the
timeout, nothing corrupt is stored, and at most one line is said about it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from ipfs_helpers import Machine, assert_loopback_only, machine

import ghcache.ipfs.plugin as plugin
from ghcache.fakehub import FakeHub
from ghcache.ipfs.fakekubo import FakeKubo

pytestmark = pytest.mark.slow
TIMEOUT_MS = 300


def seeded(tmp_path: Path, hub: FakeHub, kubo: FakeKubo) -> str:
    alice = machine(
        tmp_path,
        "alice",
        GH_TOKEN="ghp_alice",
        CACHE_IPFS_API=kubo.multiaddr,
        GITHUB_API_URL=hub.url,
    )
    response = alice.call_in_process(hub.url + "repos/octo/hello")
    assert response.status == 200 and len(kubo.pins()) == 1
    return hub.url + "repos/octo/hello"


def bob(tmp_path: Path, hub: FakeHub, api: str, name: str = "bob") -> Machine:
    return machine(
        tmp_path,
        name,
        GH_TOKEN="ghp_bob",
        CACHE_IPFS_API=api,
        GITHUB_API_URL=hub.url,
        CACHE_IPFS_TIMEOUT_MS=str(TIMEOUT_MS),
    )


def timed_lookup(who: Machine, key: str) -> tuple[bool | None, float]:
    settings = who.settings()  # a new Settings object: the plugin opens a new backend
    started = time.monotonic()
    found = plugin.lookup_entry(key=key, settings=settings, newer_than=0.0)
    return found, time.monotonic() - started


def only_upstream_copy(who: Machine) -> None:
    """What the machine stored is bob's own upstream answer, never the node's bytes."""
    from ghcache.core.store import DiskStore

    (entry,) = [e for e in DiskStore(who.cache_dir).entries() if e.is_shared]
    assert set(entry.access) and entry.status == 200


@pytest.mark.parametrize("fault", ["slow", "trickle"])
def test_a_slow_node_is_cut_off_at_the_timeout(
    tmp_path: Path, hub: FakeHub, kubo: FakeKubo, fault: str
) -> None:
    url = seeded(tmp_path, hub, kubo)
    kubo.inject(fault, seconds=5.0 if fault == "slow" else 0.05)
    client = bob(tmp_path, hub, kubo.multiaddr, f"bob-{fault}")
    cache_key = _key_of(tmp_path, url)
    found, seconds = timed_lookup(client, cache_key)
    assert found is None
    # One budget for the whole lookup: connect and read each get what is left of it.
    assert seconds < 2 * TIMEOUT_MS / 1000 + 0.3, seconds
    answer = client.call(url)
    assert answer["status"] == 200 and answer["source"] == "upstream"
    assert len(answer["stderr"].splitlines()) == 1, answer["stderr"]
    assert "IPFS lookup failed" in answer["stderr"]
    assert_loopback_only(answer["connects"])
    only_upstream_copy(client)


def test_a_node_that_is_down_costs_one_line(tmp_path: Path, hub: FakeHub, kubo: FakeKubo) -> None:
    url = seeded(tmp_path, hub, kubo)
    api = kubo.multiaddr
    kubo.stop()
    client = bob(tmp_path, hub, api)
    answer = client.call(url)
    assert answer["status"] == 200 and answer["source"] == "upstream"
    # The lookup failed, and the store after it was not tried again: one line in all.
    assert len(answer["stderr"].splitlines()) == 1, answer["stderr"]
    assert api.split("/")[-1] in answer["stderr"]
    only_upstream_copy(client)


def test_a_stale_api_file_of_a_stopped_node_says_nothing(
    tmp_path: Path, hub: FakeHub, kubo: FakeKubo
) -> None:
    url = seeded(tmp_path, hub, kubo)
    api = kubo.multiaddr
    kubo.stop()
    client = machine(tmp_path, "ci", GH_TOKEN="ghp_bob", GITHUB_API_URL=hub.url)
    ipfs_path = tmp_path / "ci-ipfs"
    ipfs_path.mkdir()
    (ipfs_path / "api").write_text(api + "\n")  # Kubo's file, left by a node that crashed
    client.env["IPFS_PATH"] = str(ipfs_path)
    answer = client.call(url)
    assert answer["source"] == "upstream" and answer["stderr"] == ""


@pytest.mark.parametrize("command", ["block/get", "files/read"])
def test_garbage_from_the_node_is_never_stored(
    tmp_path: Path, hub: FakeHub, kubo: FakeKubo, command: str
) -> None:
    url = seeded(tmp_path, hub, kubo)
    kubo.inject("garbage", commands=(command,))
    client = bob(tmp_path, hub, kubo.multiaddr, "bob-" + command.replace("/", "-"))
    found, _ = timed_lookup(client, _key_of(tmp_path, url))
    assert found is None
    answer = client.call(url)
    assert answer["status"] == 200 and answer["source"] == "upstream"
    assert len(answer["stderr"].splitlines()) <= 1
    only_upstream_copy(client)


def test_a_block_altered_on_the_node_is_refused(
    tmp_path: Path, hub: FakeHub, kubo: FakeKubo
) -> None:
    url = seeded(tmp_path, hub, kubo)
    (cid,) = kubo.pins()
    block = kubo.state.blocks / cid
    data = bytearray(block.read_bytes())
    data[-1] ^= 1
    block.write_bytes(bytes(data))  # the node's disk rotted (or someone wrote to it)
    client = bob(tmp_path, hub, kubo.multiaddr)
    answer = client.call(url)
    assert answer["source"] == "upstream"
    only_upstream_copy(client)


def _key_of(tmp_path: Path, url: str) -> str:
    from ghcache.core.store import DiskStore

    (entry,) = [e for e in DiskStore(tmp_path / "alice").entries() if e.url == url]
    return entry.key
