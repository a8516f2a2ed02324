"""End to end: fakehub + three daemons + core's caching client (what ``ghcache api`` uses).

One member fetches ``repos/octo/hello`` from upstream; the other two get the
same answer with zero further upstream requests (pushed, or pulled on a miss).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from p2p_helpers import Daemon, Network, wait_until

from ghcache import fakehub
from ghcache.core.client import CachingClient
from ghcache.core.config import Settings
from ghcache.core.hosts import resolve_host

pytestmark = pytest.mark.slow


@dataclass
class Answer:
    returncode: int
    stdout: str
    stderr: str


def ghcache_api(daemon: Daemon, hub_url: str, token: str, path: str) -> Answer:
    env = {
        **daemon.env,
        "CACHE_DIR": str(daemon.cache_dir),
        "GITHUB_API_URL": hub_url,
        "GH_TOKEN": token,
        # Teammates trust each other's answers; the default (verified) would confirm
        # alice's copy for bob with a conditional request, which is core's rule, not p2p's.
        "CACHE_SHARING": "team",
    }
    with CachingClient(Settings.from_env(env), resolve_host(None, env), token) as client:
        response = client.request("GET", hub_url + path)
    return Answer(0 if response.status == 200 else 1, response.body.decode(), str(response.notice))


def stored_keys(daemon: Daemon) -> set[str]:
    return {entry.key for entry in daemon.store().entries()}


def test_one_upstream_request_serves_the_whole_team(network: Network) -> None:
    with fakehub.FakeHub() as hub:
        a = network.start("e2e-a")
        b = network.start("e2e-b", bootstrap=[a])
        a.wait_topic_peers(b)
        first = ghcache_api(a, hub.url, "ghp_alice", "repos/octo/hello")
        assert first.returncode == 0, first.stderr
        assert '"full_name"' in first.stdout or "octo/hello" in first.stdout
        assert hub.upstream_count() == 1
        (key,) = stored_keys(a)

        # Pushed: B already holds it and answers as a plain local hit.
        wait_until(lambda: b.has(key), 10, "push to B")
        second = ghcache_api(b, hub.url, "ghp_bob", "repos/octo/hello")
        assert second.returncode == 0, second.stderr
        assert second.stdout == first.stdout

        # Pulled: C joins later, never saw the announcement, asks its peers on the miss.
        c = network.start("e2e-c", bootstrap=[b])
        c.wait_topic_peers(b)
        c.store().delete(key)  # in case gossipsub replayed the announcement to it
        third = ghcache_api(c, hub.url, "ghp_bob", "repos/octo/hello")
        assert third.returncode == 0, third.stderr
        assert third.stdout == first.stdout
        assert hub.upstream_count() == 1
        # Normally a peer hit; a late gossip replay would make it a local hit instead.
        counted = c.store().stats.read()
        assert counted["peer_hits"] + counted["hits"] == 1
        assert counted["upstream_requests"] == 0
