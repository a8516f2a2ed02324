"""Host/token resolution, identity scopes, rate-limit parsing and the sans-IO policy."""

from __future__ import annotations

import time

import pytest

from ghcache.core.entry import Entry
from ghcache.core.hosts import resolve_host, token_from_env
from ghcache.core.policy import Action, Options, before_request, storable_ttl
from ghcache.core.ratelimit import RateLimitMemory, limited_until
from ghcache.core.request import ApiRequest
from ghcache.core.scope import build_request, graphql_operation, is_identity_path


@pytest.mark.parametrize(
    ("env", "hostname", "rest", "graphql"),
    [
        ({}, None, "https://api.github.com/", "https://api.github.com/graphql"),
        (
            {"GH_HOST": "github.localhost"},
            None,
            "http://api.github.localhost/",
            "http://api.github.localhost/graphql",
        ),
        ({"GH_HOST": "ghe.corp"}, None, "https://ghe.corp/api/v3/", "https://ghe.corp/api/graphql"),
        ({}, "ghe.corp", "https://ghe.corp/api/v3/", "https://ghe.corp/api/graphql"),
        (
            {"GITHUB_API_URL": "http://127.0.0.1:9/"},
            None,
            "http://127.0.0.1:9/",
            "http://127.0.0.1:9/graphql",
        ),
    ],
)
def test_base_urls_follow_gh(
    env: dict[str, str], hostname: str | None, rest: str, graphql: str
) -> None:
    host = resolve_host(hostname, env)
    assert (host.rest_url, host.graphql_url) == (rest, graphql)


def test_token_order_and_enterprise_names() -> None:
    github = resolve_host(None, {})
    assert token_from_env(github, {"GH_TOKEN": "a", "GITHUB_TOKEN": "b"}) == ("a", "GH_TOKEN")
    assert token_from_env(github, {"GITHUB_TOKEN": "b"}) == ("b", "GITHUB_TOKEN")
    assert token_from_env(github, {}) == (None, None)
    ghe = resolve_host("ghe.corp", {})
    assert token_from_env(ghe, {"GH_TOKEN": "a"}) == (None, None)
    assert token_from_env(ghe, {"GH_ENTERPRISE_TOKEN": "e"}) == ("e", "GH_ENTERPRISE_TOKEN")


@pytest.mark.parametrize(
    ("path", "identity"),
    [
        ("user", True),
        ("/user/repos", True),
        ("notifications", True),
        ("issues", True),
        ("rate_limit", True),
        ("users/octocat", False),
        ("repos/o/r/issues", False),
        ("userx", False),
    ],
)
def test_identity_table(path: str, identity: bool) -> None:
    assert is_identity_path(path) is identity


def test_graphql_queries_are_cached_mutations_are_not() -> None:
    host = resolve_host(None, {})
    query = b'{"query": "query { repository(owner:\\"o\\", name:\\"r\\") { name } }"}'
    viewer = b'{"query": "{ viewer { login } }"}'
    mutation = b'{"query": "mutation { addStar(input:{}) { clientMutationId } }"}'
    assert graphql_operation(mutation.decode()) == "mutation"
    shared = build_request(
        ApiRequest.for_url("POST", host.graphql_url, host, (), query),
        host,
        token="t",
        sharing="team",
    )
    assert shared is not None and shared.scope == "shared"
    verified = build_request(
        ApiRequest.for_url("POST", host.graphql_url, host, (), query), host, token="t"
    )
    assert verified is not None and verified.scope.startswith("identity:")
    scoped = build_request(
        ApiRequest.for_url("POST", host.graphql_url, host, (), viewer),
        host,
        token="t",
        sharing="team",
    )
    assert scoped is not None and scoped.scope.startswith("identity:")
    assert (
        build_request(
            ApiRequest.for_url("POST", host.graphql_url, host, (), mutation), host, token="t"
        )
        is None
    )
    assert (
        build_request(
            ApiRequest.for_url("POST", host.rest_url + "repos/o/r/issues", host, (), b"{}"), host
        )
        is None
    )
    assert (
        build_request(ApiRequest.for_url("DELETE", host.rest_url + "repos/o/r", host), host) is None
    )


def test_identity_scope_never_contains_the_token() -> None:
    host = resolve_host(None, {})
    request = build_request(
        ApiRequest.for_url("GET", host.rest_url + "user", host), host, token="ghp_secret_value"
    )
    assert request is not None
    assert "ghp_secret_value" not in request.scope
    assert b"ghp_secret_value" not in request.canonical()
    other = build_request(
        ApiRequest.for_url("GET", host.rest_url + "user", host), host, token="ghp_other"
    )
    assert other is not None and other.key != request.key


def test_rate_limit_responses() -> None:
    now = 1_000_000.0
    primary = [("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", str(int(now) + 900))]
    assert limited_until(403, primary, b"{}", now) == now + 900
    assert limited_until(429, [("Retry-After", "30")], b"", now) == now + 30
    secondary = b'{"message":"You have exceeded a secondary rate limit."}'
    assert limited_until(403, [], secondary, now) == now + 60
    assert (
        limited_until(403, [("X-RateLimit-Remaining", "12")], b'{"message":"Forbidden"}', now)
        is None
    )
    assert limited_until(200, primary, b"", now) is None


def test_rate_limit_memory_is_shared_through_the_directory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    RateLimitMemory(tmp_path).remember("github.com:abc", now + 100, now)
    assert RateLimitMemory(tmp_path).until("github.com:abc", now) == now + 100
    assert RateLimitMemory(tmp_path).until("github.com:other", now) is None
    assert RateLimitMemory(tmp_path).until("github.com:abc", now + 101) is None


def _entry(
    stored_at: float, ttl: float = 300, etag: str | None = '"x"', status: int = 200
) -> Entry:
    headers = [("ETag", etag)] if etag else []
    entry = Entry("k", "shared", "GET", "u", stored_at, ttl, status, headers, b"{}")
    return entry.replace(access={ME: stored_at})


ME = "me"


def decide(
    entry: Entry | None, now: float, opts: Options, limited: float | None, **kw: str
) -> Action:
    identity = kw.get("identity", ME)
    return before_request(
        entry, now, opts, limited, identity=identity, sharing=kw.get("sharing", "verified")
    ).action


def test_policy_decisions() -> None:
    now = 10_000.0
    opts = Options()
    assert decide(None, now, opts, None) is Action.FETCH
    assert decide(_entry(now - 10), now, opts, None) is Action.SERVE_FRESH
    assert decide(_entry(now - 10), now, Options(refresh=True), None) is Action.REVALIDATE
    assert decide(_entry(now - 400), now, opts, None) is Action.REVALIDATE
    # no stored ETag: the one the caller's request would get is computed from the body
    assert decide(_entry(now - 400, etag=None), now, opts, None) is Action.REVALIDATE
    assert decide(_entry(now - 400), now, Options(ttl=3600), None) is Action.SERVE_FRESH
    limited = before_request(
        _entry(now - 400), now, opts, now + 50, identity=ME, sharing="verified"
    )
    assert limited.action is Action.SERVE_STALE and "rate limited" in limited.reason
    assert decide(None, now, opts, now + 50) is Action.FAIL
    too_old = _entry(now - 300 - opts.max_stale - 1)
    assert decide(too_old, now, opts, now + 50) is Action.FAIL
    assert decide(None, now, Options(offline=True), None) is Action.FAIL
    assert decide(_entry(0), now, Options(offline=True), None) is Action.SERVE_STALE

    # another identity's copy: confirmed with a conditional request, never served as it is
    theirs = _entry(now - 10)
    assert decide(theirs, now, opts, None, identity="other") is Action.CONFIRM
    assert decide(theirs, now, opts, None, identity="other", sharing="team") is Action.SERVE_FRESH
    assert decide(theirs, now, opts, None, identity="other", sharing="off") is Action.FETCH
    assert decide(theirs, now, opts, now + 50, identity="other") is Action.FAIL
    assert decide(theirs, now, Options(offline=True), None, identity="other") is Action.FAIL
    # a stored time far in the future is not fresh for ever
    assert decide(_entry(now + 3600), now, opts, None) is not Action.SERVE_FRESH


def test_only_successes_and_brief_refusals_are_stored() -> None:
    assert storable_ttl(200, 300, 60) == 300
    for status in (401, 403, 404, 410):  # kept per identity, for the negative TTL
        assert storable_ttl(status, 300, 60) == 60
    for status in (301, 422, 429, 500, 502):
        assert storable_ttl(status, 300, 60) is None
