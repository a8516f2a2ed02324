"""The proxy as HTTP clients see it (curl where installed, else httpx): conditional
requests, Link rewriting, mutations, stale answers, GraphQL, rate-limit headers, and
entries shared with `ghcache api` both ways."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from ghcache.fakehub import FakeHub

if TYPE_CHECKING:
    from proxyhelpers import Get, ProxyProcess, Reply

helpers = sys.modules["ghcache_proxy_helpers"]  # loaded by conftest.py
ALICE, BOB = helpers.ALICE, helpers.BOB


@pytest.fixture
def get(proxy: ProxyProcess, tmp_path: Path) -> Get:
    def request(
        path: str, headers: dict[str, str], *, method: str = "GET", data: bytes | None = None
    ) -> Reply:
        return helpers.curl(
            proxy.url + path, headers=headers, method=method, data=data, workdir=tmp_path
        )

    return request


def test_the_clients_own_etag_is_answered_304(get: Get, hub: FakeHub) -> None:
    first = get("repos/octo/empty", ALICE)
    assert (first.status, first.header("x-ghcache")) == (200, "miss")
    etag = first.header("etag")
    assert etag
    counted = hub.upstream_count()
    again = get("repos/octo/empty", {**ALICE, "If-None-Match": etag})
    assert (again.status, again.header("x-ghcache"), again.body) == (304, "hit", b"")
    assert again.header("etag") == etag
    weak_list = get(
        "repos/octo/empty", {**ALICE, "If-None-Match": f'"x", {etag.removeprefix("W/")}'}
    )
    assert weak_list.status == 304
    other = get("repos/octo/empty", {**ALICE, "If-None-Match": '"not-this-one"'})
    assert (other.status, other.body) == (200, first.body)
    assert hub.upstream_count() == counted  # all of it answered by the proxy


def test_link_headers_and_body_urls_lead_back_through_the_proxy(
    get: Get, proxy: ProxyProcess, hub: FakeHub
) -> None:
    page = get("repos/octo/big/issues?per_page=100", ALICE)
    link = page.header("link") or ""
    assert f"<{proxy.url}repositories/" in link and hub.url not in link
    assert hub.url.encode() not in page.body
    assert page.json()[0]["url"].startswith(proxy.url + "repos/octo/big/issues/")
    next_url = link.split(">", 1)[0].lstrip("<")
    second = get(next_url.removeprefix(proxy.url), ALICE)
    assert second.status == 200 and len(second.json()) == 100
    enterprise = get("api/v3/repos/octo/big/issues?per_page=100", ALICE)
    assert enterprise.header("x-ghcache") == "hit"  # the same entry as at /
    assert f"<{proxy.url}api/v3/repositories/" in (enterprise.header("link") or "")
    assert enterprise.json()[0]["url"].startswith(proxy.url + "api/v3/repos/octo/big/")


def test_a_mutation_goes_through_and_invalidates(get: Get, hub: FakeHub) -> None:
    assert get("repos/octo/hello/issues/7", ALICE).header("x-ghcache") == "miss"
    assert get("repos/octo/hello/issues", ALICE).header("x-ghcache") == "miss"
    assert get("repos/octo/hello/issues/7", ALICE).header("x-ghcache") == "hit"
    changed = get(
        "repos/octo/hello/issues/7",
        {**ALICE, "Content-Type": "application/json"},
        method="PATCH",
        data=json.dumps({"title": "renamed"}).encode(),
    )
    assert (changed.status, changed.header("x-ghcache")) == (200, "bypass")
    assert changed.json()["title"] == "renamed"
    after = get("repos/octo/hello/issues/7", ALICE)
    assert (after.header("x-ghcache"), after.json()["title"]) == ("miss", "renamed")
    assert get("repos/octo/hello/issues", ALICE).header("x-ghcache") == "miss"  # the collection
    assert [r.method for r in hub.requests if r.path == "/repos/octo/hello/issues/7"] == [
        "GET",
        "PATCH",
        "GET",
    ]


def test_a_5xx_is_answered_stale_then_revalidated(
    get: Get, proxy: ProxyProcess, hub: FakeHub
) -> None:
    fresh = get("repos/octo/hello/pulls", ALICE)
    assert fresh.header("x-ghcache") == "miss"
    assert helpers.age_entries(proxy.cache_dir, hub.url + "repos/octo/hello/pulls", 1000) == 1
    hub.inject(status=502, path="/repos/octo/hello/pulls", times=1)
    stale = get("repos/octo/hello/pulls", ALICE)
    assert (stale.status, stale.header("x-ghcache"), stale.body) == (200, "stale", fresh.body)
    assert "HTTP 502" in (stale.header("x-ghcache-notice") or "")
    counted = hub.counted("ghp_alice")
    again = get("repos/octo/hello/pulls", ALICE)  # GitHub is back: a free 304
    assert (again.header("x-ghcache"), again.body) == ("revalidated", fresh.body)
    bob = get("repos/octo/hello/pulls", BOB)  # alice's copy, confirmed for bob by a 304
    assert (bob.header("x-ghcache"), bob.body) == ("confirmed", fresh.body)
    assert hub.counted("ghp_alice") == counted


def test_graphql_at_both_paths_per_identity(get: Get) -> None:
    query = json.dumps({"query": "query { viewer { login } }"}).encode()

    def ask(path: str, who: dict[str, str]) -> Reply:
        headers = {**who, "Content-Type": "application/json"}
        return get(path, headers, method="POST", data=query)

    first = ask("api/graphql", ALICE)
    assert (first.header("x-ghcache"), first.json()["data"]["viewer"]["login"]) == ("miss", "alice")
    again = ask("graphql", ALICE)
    assert (again.header("x-ghcache"), again.body) == ("hit", first.body)
    bob = ask("graphql", BOB)
    assert (bob.header("x-ghcache"), bob.json()["data"]["viewer"]["login"]) == ("miss", "bob")
    mutation = json.dumps({"query": 'mutation { addStar(input: {starrableId: "x"}) { x } }'})
    answer = get(
        "graphql",
        {**ALICE, "Content-Type": "application/json"},
        method="POST",
        data=mutation.encode(),
    )
    assert answer.header("x-ghcache") == "bypass"


def test_rate_limit_headers_on_a_hit_are_known_now(get: Get, hub: FakeHub) -> None:
    hub.add_token("ghp_carol", "carol")
    carol = {"Authorization": "Bearer ghp_carol"}
    first = get("repos/octo/hello/issues/11", carol)
    assert first.header("x-ghcache") == "miss"
    for number in (12, 13, 14):
        latest = get(f"repos/octo/hello/issues/{number}", carol)
        assert latest.header("x-ghcache") == "miss"
    hit = get("repos/octo/hello/issues/11", carol)
    assert hit.header("x-ghcache") == "hit"
    # What GitHub said last, not what was stored with the entry.
    assert hit.header("x-ratelimit-remaining") == latest.header("x-ratelimit-remaining")
    assert int(first.header("x-ratelimit-remaining") or "") - 3 == int(
        latest.header("x-ratelimit-remaining") or ""
    )
    assert hit.header("x-ratelimit-resource") == "core"

    hub.exhaust("ghp_carol")
    refused = get("repos/octo/hello/issues/15", carol)
    assert (refused.status, refused.header("x-ghcache")) == (403, "miss")  # GitHub's answer
    limited = get("repos/octo/hello/issues/11", carol)
    assert (limited.status, limited.header("x-ghcache")) == (200, "hit")
    assert limited.header("x-ratelimit-remaining") == "0"
    assert limited.header("x-ratelimit-reset") == refused.header("x-ratelimit-reset")
    counted = hub.upstream_count()
    nothing = get("repos/octo/hello/issues/16", carol)  # not stored: the proxy says no itself
    assert (nothing.status, nothing.header("x-ghcache")) == (429, "error")
    assert "rate limit" in nothing.json()["message"]
    assert int(nothing.header("retry-after") or "0") > 0
    assert hub.upstream_count() == counted


def test_entries_are_shared_with_ghcache_api_both_ways(
    get: Get, proxy: ProxyProcess, hub: FakeHub
) -> None:
    hub.add_token("ghp_dave", "dave")
    dave = {"Authorization": "token ghp_dave"}
    cli = helpers.run_ghcache(["api", "repos/octo/hello/issues/5"], proxy.env, token="ghp_dave")
    assert cli.returncode == 0, cli.stderr
    requests = hub.upstream_count()
    through = get("repos/octo/hello/issues/5", dave)
    assert through.header("x-ghcache") == "hit"
    assert through.body.replace(proxy.url.encode(), hub.url.encode()) == cli.stdout.rstrip(b"\n")
    # Nothing known about dave's limit here: no X-RateLimit-* rather than the stored ones.
    assert through.header("x-ratelimit-remaining") is None

    first = get("repos/octo/hello/issues/6", dave)
    assert first.header("x-ghcache") == "miss"
    cli = helpers.run_ghcache(["api", "repos/octo/hello/issues/6"], proxy.env, token="ghp_dave")
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.rstrip(b"\n") == first.body.replace(proxy.url.encode(), hub.url.encode())
    assert hub.upstream_count() == requests + 1  # the proxy's miss, and nothing else


def test_uploads_and_downloads_stream_through_and_are_never_stored(
    proxy: ProxyProcess, hub: FakeHub, http: httpx.Client
) -> None:
    text = "x" * (3 << 20)
    payload = json.dumps({"title": "a large one", "body": text}).encode()

    def chunks() -> Iterator[bytes]:  # sent chunked: the proxy never holds it whole
        for start in range(0, len(payload), 65536):
            yield payload[start : start + 65536]

    created = http.post("repos/octo/big/issues", headers=ALICE, content=chunks())
    assert (created.status_code, created.headers["x-ghcache"]) == (201, "bypass")
    number = created.json()["number"]
    fetched = http.get(f"repos/octo/big/issues/{number}", headers=ALICE)
    assert fetched.json()["body"] == text
    download = http.get("repos/octo/hello/tarball/main", headers=ALICE)
    assert download.headers["x-ghcache"] == "bypass"
    assert not helpers.stored(proxy.cache_dir, hub.url + "repos/octo/hello/tarball/main")
