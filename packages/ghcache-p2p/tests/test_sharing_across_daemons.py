"""The serving rule across two daemons whose users hold different tokens (real processes).

In the default ``verified`` mode a teammate's entry reaches a caller only through a
conditional request under the caller's own token; in ``team`` mode it is served as is.
Each machine's caller is core's caching client with that machine's environment (the
client ``ghcache api`` uses), so the daemon is reached through the plugin hooks.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import pytest
from p2p_helpers import Daemon, Network, make_entry, wait_until

from ghcache import fakehub
from ghcache.core.client import CachingClient
from ghcache.core.config import Settings
from ghcache.core.hosts import resolve_host

pytestmark = pytest.mark.slow

PRIVATE = "repos/alice/private-notes"
PUBLIC = "repos/octo/hello"


@dataclass
class Answer:
    status: int
    stdout: str  # the body, as `ghcache api` would print it
    source: str


def api(daemon: Daemon, hub: fakehub.FakeHub, token: str, path: str, **extra: str) -> Answer:
    env = {
        **daemon.env,
        "CACHE_DIR": str(daemon.cache_dir),
        "GITHUB_API_URL": hub.url,
        **extra,
    }
    client = CachingClient(Settings.from_env(env), resolve_host(None, env), token or None)
    with client:
        response = client.request("GET", hub.url + path)
    return Answer(response.status, response.body.decode(), str(response.source))


@pytest.fixture
def pair(network: Network, request: pytest.FixtureRequest) -> tuple[Daemon, Daemon]:
    name = request.node.name[5:25]  # the network is shared by the module: one pair per test
    a = network.start(f"{name}-a")
    b = network.start(f"{name}-b", bootstrap=[a])
    a.wait_topic_peers(b)
    b.wait_topic_peers(a)
    return a, b


def key_of(daemon: Daemon) -> str:
    (entry,) = [e for e in daemon.store().entries() if e.is_shared]
    return entry.key


def test_a_teammates_private_answer_never_reaches_another_user(
    pair: tuple[Daemon, Daemon],
) -> None:
    a, b = pair
    with fakehub.FakeHub() as hub:
        mine = api(a, hub, "ghp_alice", PRIVATE)
        assert mine.status == 200 and "private-notes" in mine.stdout
        key = key_of(a)
        wait_until(lambda: b.has(key), 10, "alice's entry pushed to B")
        held = b.store().read(key)
        assert held is not None and held.access == {}  # who A showed it to stays on A
        for token in ("ghp_bob", "ghp_garbage"):
            theirs = api(b, hub, token, PRIVATE)
            assert theirs.status in (401, 404), token
            assert "Seeded repository" not in theirs.stdout
        # no token at all: GitHub's 404, not alice's repository
        anonymous = api(b, hub, "", PRIVATE)
        assert anonymous.status == 404 and "Seeded repository" not in anonymous.stdout


def test_a_new_ci_token_gets_the_teammates_answer_for_no_counted_unit(
    pair: tuple[Daemon, Daemon],
) -> None:
    a, b = pair
    with fakehub.FakeHub() as hub:
        hub.add_token("ghs_job_1", "alice")
        hub.add_token("ghs_job_2", "alice")
        first = api(a, hub, "ghp_alice", PRIVATE)
        assert first.status == 200
        wait_until(lambda: b.has(key_of(a)), 10, "push to B")
        job = api(b, hub, "ghs_job_1", PRIVATE)
        assert (job.status, job.stdout, job.source) == (200, first.stdout, "confirmed")
        assert hub.counted("ghs_job_1") == 0  # confirmed by a free 304
        # after expiry too: the next job revalidates for free
        expired = api(b, hub, "ghs_job_2", PRIVATE, CACHE_DEFAULT_TTL="0")
        assert (expired.status, expired.stdout) == (200, first.stdout)
        assert hub.counted("ghs_job_2") == 0


def test_a_forged_peer_entry_is_never_printed_in_verified_mode(
    pair: tuple[Daemon, Daemon],
) -> None:
    a, b = pair
    with fakehub.FakeHub() as hub:
        real = api(b, hub, "ghp_bob", PUBLIC, CACHE_DEFAULT_TTL="0")  # B's key for the call
        key = key_of(b)
        b.store().delete(key)
        forged = make_entry("forged", body=b'{"full_name": "octo/hello", "x": "pwned"}')
        forged = forged.replace(key=key, url=hub.url + PUBLIC, stored_at=time.time())
        a.put(forged)  # a teammate (holding the secret) offers a body GitHub never served
        wait_until(lambda: b.has(key), 10, "forged entry pushed to B")
        shown = api(b, hub, "ghp_bob", PUBLIC)
        assert shown.status == 200
        assert "pwned" not in shown.stdout
        assert json.loads(shown.stdout)["full_name"] == json.loads(real.stdout)["full_name"]
        # team mode trusts the teammate: served with no request at all
        a.put(forged.replace(stored_at=time.time() + 1))
        wait_until(lambda: "pwned" in b.store().path_for(key).read_text(), 10, "push again")
        before = hub.upstream_count()
        trusted = api(b, hub, "ghp_bob", PUBLIC, CACHE_SHARING="team")
        assert "pwned" in trusted.stdout and hub.upstream_count() == before
