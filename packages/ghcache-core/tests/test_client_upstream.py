"""The caching client against the simulated GitHub, through the real HTTP stack (issue 4)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ghcache.core.client import CachingClient, UpstreamUnavailable
from ghcache.core.config import Settings
from ghcache.core.hosts import resolve_host
from ghcache.core.ratelimit import limit_key
from ghcache.core.upstream import Upstream
from ghcache.fakehub import FakeHub

ALICE, BOB = "ghp_alice", "ghp_bob"


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub() as running:
        yield running


def make_client(
    hub: FakeHub,
    cache_dir: Path,
    token: str | None = ALICE,
    clock: Callable[[], float] = time.time,
    timeout: float = 30.0,
) -> CachingClient:
    settings = Settings.from_env({"CACHE_DIR": str(cache_dir), "CACHE_ENABLE_P2P": "false"})
    host = resolve_host(None, {"GITHUB_API_URL": hub.url})
    upstream = Upstream(token, timeout=timeout)
    return CachingClient(settings, host, token, upstream=upstream, clock=clock)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_fresh_hit_makes_no_upstream_request(hub: FakeHub, tmp_path: Path) -> None:
    client = make_client(hub, tmp_path)
    url = hub.url + "repos/octo/hello"
    first = client.request("GET", url)
    assert first.status == 200 and first.source == "upstream"
    before = hub.upstream_count()
    second = client.request("GET", url)
    assert second.source == "cache"
    assert second.body == first.body
    assert hub.upstream_count() == before
    assert json.loads(second.body)["full_name"] == "octo/hello"


def test_expired_entry_revalidates_for_free(hub: FakeHub, tmp_path: Path) -> None:
    clock = Clock()
    client = make_client(hub, tmp_path, clock=clock)
    url = hub.url + "repos/octo/hello"
    client.request("GET", url)
    charged = hub.counted(ALICE)
    clock.now += 301
    again = client.request("GET", url)
    assert again.source == "revalidated" and again.status == 200
    assert hub.upstream_count() == 2
    assert hub.counted(ALICE) == charged  # a 304 costs no rate limit
    stored = client.store.read(again.key or "")
    assert stored is not None and stored.stored_at == clock.now
    assert client.stats.read()["revalidated"] == 1


def test_changed_resource_gets_the_new_body(hub: FakeHub, tmp_path: Path) -> None:
    clock = Clock()
    client = make_client(hub, tmp_path, clock=clock)
    url = hub.url + "repos/octo/hello/issues/1"
    old = json.loads(client.request("GET", url).body)
    patched = client.request("PATCH", url, body=json.dumps({"title": "renamed by test"}).encode())
    assert patched.status == 200 and patched.source == "passthrough"
    # The mutation invalidated the stored entry: the next GET goes upstream.
    new = client.request("GET", url)
    assert new.source == "upstream"
    assert json.loads(new.body)["title"] == "renamed by test" != old["title"]


def test_changed_resource_after_expiry_is_refetched(hub: FakeHub, tmp_path: Path) -> None:
    clock = Clock()
    reader = make_client(hub, tmp_path / "reader", clock=clock)
    writer = make_client(hub, tmp_path / "writer")
    url = hub.url + "repos/octo/hello/issues/2"
    reader.request("GET", url)
    writer.request("PATCH", url, body=b'{"title": "changed elsewhere"}')
    clock.now += 301
    refreshed = reader.request("GET", url)
    assert refreshed.source == "upstream"  # the ETag no longer matches: a full 200
    assert json.loads(refreshed.body)["title"] == "changed elsewhere"


def test_rate_limited_serves_stale_and_remembers(hub: FakeHub, tmp_path: Path) -> None:
    clock = Clock()
    client = make_client(hub, tmp_path, clock=clock)
    url = hub.url + "repos/octo/hello"
    client.request("GET", url)
    hub.exhaust(ALICE)
    clock.now += 301
    stale = client.request("GET", url)
    assert stale.source == "stale" and stale.status == 200
    assert stale.notice and "rate limited until" in stale.notice.reason
    # Remembered across processes: a new process does not even try.
    seen = hub.upstream_count()
    code = (
        "import os,sys; from ghcache.core.client import CachingClient;"
        "c=CachingClient.from_env(); r=c.request('GET', sys.argv[1]);"
        "print(r.source)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, hub.url + "repos/octo/hello/issues"],
        env={
            "CACHE_DIR": str(tmp_path),
            "CACHE_ENABLE_P2P": "false",
            "GITHUB_API_URL": hub.url,
            "GH_TOKEN": ALICE,
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "rate limit" in done.stderr and ALICE not in done.stderr
    assert hub.upstream_count() == seen
    # After the reset, requests flow again.
    hub.reset_limits()
    clock.now += 3600
    assert client.request("GET", url).source in ("revalidated", "upstream")
    assert hub.upstream_count() == seen + 1


def test_secondary_limit_waits_retry_after(hub: FakeHub, tmp_path: Path) -> None:
    clock = Clock()
    client = make_client(hub, tmp_path, clock=clock)
    hub.inject(secondary=True, retry_after=120, times=1)
    limited = client.request("GET", hub.url + "repos/octo/hello")
    assert limited.status in (403, 429)
    key = limit_key(client.host.hostname, _fingerprint(ALICE), "core")
    until = client.ratelimits.until(key, clock.now)
    assert until is not None and 119 <= until - clock.now <= 121
    with pytest.raises(UpstreamUnavailable):
        client.request("GET", hub.url + "repos/octo/hello")


@pytest.mark.parametrize(
    "fault",
    [{"status": 500}, {"status": 502}, {"drop": True}, {"delay": 3.0}],
    ids=["500", "502", "dropped", "timeout"],
)
def test_outages_serve_stale_or_fail_clearly(
    hub: FakeHub, tmp_path: Path, fault: dict[str, object]
) -> None:
    clock = Clock()
    client = make_client(hub, tmp_path, clock=clock, timeout=1.0)
    url = hub.url + "repos/octo/hello"
    good = client.request("GET", url)
    clock.now += 301
    hub.inject(times=2, **fault)
    stale = client.request("GET", url)
    assert stale.source == "stale" and stale.body == good.body and stale.notice
    other = hub.url + "repos/octo/hello/issues/3"
    if fault.get("status"):
        error = client.request("GET", other)
        assert error.status == fault["status"] and error.source == "upstream"
        assert client.store.read(error.key or "") is None  # never stored
    else:
        with pytest.raises(UpstreamUnavailable) as caught:
            client.request("GET", other)
        assert "127.0.0.1" in str(caught.value) and ALICE not in str(caught.value)


def test_identities_never_cross_but_shared_resources_do(hub: FakeHub, tmp_path: Path) -> None:
    alice = make_client(hub, tmp_path, ALICE)
    bob = make_client(hub, tmp_path, BOB)
    assert json.loads(alice.request("GET", hub.url + "user").body)["login"] == "alice"
    who = bob.request("GET", hub.url + "user")
    assert who.source == "upstream" and json.loads(who.body)["login"] == "bob"
    alice.request("GET", hub.url + "repos/octo/hello")
    # alice's copy reaches bob through one free conditional request under bob's token
    assert bob.request("GET", hub.url + "repos/octo/hello").source == "confirmed"
    assert hub.counted(BOB) == 1  # only /user was charged
    before = hub.upstream_count()
    assert bob.request("GET", hub.url + "repos/octo/hello").source == "cache"
    assert hub.upstream_count() == before


def test_errors_are_never_served_as_successes(hub: FakeHub, tmp_path: Path) -> None:
    clock = Clock()
    client = make_client(hub, tmp_path, clock=clock)
    missing = client.request("GET", hub.url + "repos/octo/nope")
    assert missing.status == 404
    again = client.request("GET", hub.url + "repos/octo/nope")
    assert again.status == 404 and again.source == "cache"  # negative caching, briefly
    clock.now += 61
    assert client.request("GET", hub.url + "repos/octo/nope").source != "cache"
    invalid = client.request("POST", hub.url + "repos/octo/hello/issues", body=b"{}")
    assert invalid.status == 422
    hub.inject(status=500, times=1)
    failed = client.request("GET", hub.url + "repos/octo/hello/pulls")
    assert failed.status == 500
    assert client.request("GET", hub.url + "repos/octo/hello/pulls").status == 200


def test_concurrent_identical_requests_share_one_upstream_call(
    hub: FakeHub, tmp_path: Path
) -> None:
    client = make_client(hub, tmp_path)
    hub.inject(delay=0.5, times=1)
    results: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                client.request("GET", hub.url + "repos/octo/hello").status
            )
        )
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 6
    assert hub.upstream_count() == 1


def test_token_is_never_written_to_disk(hub: FakeHub, tmp_path: Path) -> None:
    client = make_client(hub, tmp_path)
    client.request("GET", hub.url + "user")
    client.request("GET", hub.url + "repos/octo/hello")
    for path in tmp_path.iterdir():
        assert ALICE.encode() not in path.read_bytes()


def test_gh_host_and_proxy_are_honoured(hub: FakeHub, tmp_path: Path) -> None:
    env = {
        "GH_HOST": "github.localhost",
        "HTTP_PROXY": f"http://127.0.0.1:{hub.port}",
        "GH_TOKEN": ALICE,
        "CACHE_DIR": str(tmp_path),
        "CACHE_ENABLE_P2P": "false",
        "PATH": "/usr/bin:/bin",
    }
    code = (
        "from ghcache.core.client import CachingClient;"
        "c=CachingClient.from_env(); r=c.request('GET', c.host.rest_url + 'user');"
        "print(c.host.rest_url, r.status, r.body.decode())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("http://api.github.localhost/ 200 ")
    assert json.loads(done.stdout.split(" ", 2)[2])["login"] == "alice"


def _fingerprint(token: str) -> str:
    from ghcache.core.scope import identity_fingerprint

    return identity_fingerprint(token)


def test_token_goes_only_to_the_api_host(hub: FakeHub, tmp_path: Path) -> None:
    client = make_client(hub, tmp_path)
    with FakeHub() as elsewhere:
        answer = client.request("GET", elsewhere.url + "user")
        assert answer.status == 401  # no credentials were sent to the other host
        assert [record.login for record in elsewhere.requests] == [None]
    assert json.loads(client.request("GET", hub.url + "user").body)["login"] == "alice"


def test_an_exhausted_graphql_limit_does_not_stop_rest_calls(hub: FakeHub, tmp_path: Path) -> None:
    client = make_client(hub, tmp_path)
    hub.exhaust(ALICE, "graphql")
    query = b'{"query": "query { viewer { login } }"}'
    client.request("POST", hub.graphql_url, body=query)
    remembered = client.ratelimits.active(time.time())
    assert remembered and all(key.endswith(":graphql") for key in remembered)
    assert client.request("GET", hub.url + "repos/octo/hello").status == 200


@pytest.mark.parametrize("retry_after", ["100000000000000000", "1e999", "nan", "-5"])
def test_an_absurd_retry_after_cannot_poison_the_memory(
    hub: FakeHub, tmp_path: Path, retry_after: str
) -> None:
    client = make_client(hub, tmp_path)  # its cache directory does not exist yet
    hub.inject(secondary=True, retry_after=retry_after, times=1)
    client.request("GET", hub.url + "repos/octo/hello")
    now = time.time()
    active = client.ratelimits.active(now)
    assert active, "the first refusal in a new cache directory is remembered"
    assert all(now < until <= now + 3600 + 1 for until in active.values())
    # a file written by someone else with absurd values is ignored, not fatal
    client.ratelimits.path.write_text('{"x:y:core": 1e308, "a:b:core": "soon"}')
    assert client.ratelimits.active(now) == {}


def test_a_hanging_upstream_gives_the_stored_answer_after_cache_upstream_timeout(
    hub: FakeHub, tmp_path: Path
) -> None:
    env = {"CACHE_DIR": str(tmp_path), "CACHE_UPSTREAM_TIMEOUT": "1", "GITHUB_API_URL": hub.url}
    client = CachingClient(Settings.from_env(env), resolve_host(None, env), ALICE)
    url = hub.url + "repos/octo/hello"
    first = client.request("GET", url, ttl=0)
    hub.inject(delay=5.0, times=1)
    started = time.monotonic()
    stale = client.request("GET", url, ttl=0)
    assert time.monotonic() - started < 4
    assert (stale.source, stale.body) == ("stale", first.body)
    assert stale.notice is not None and "timed out" in stale.notice.reason
    client.close()
