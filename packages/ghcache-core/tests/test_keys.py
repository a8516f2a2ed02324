"""Cache keys: CIDv1 of an injective canonical form, stable across machines."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from multiformats import CID, multihash

from ghcache.core.cid import is_cid
from ghcache.core.hosts import resolve_host
from ghcache.core.keys import CacheRequest, canonical_json_text, make_request
from ghcache.core.request import ApiRequest
from ghcache.core.scope import build_request

API = "https://api.github.com/"
GRAPHQL_BODY = '{"query":"{ repository(owner:\\"cli\\", name:\\"cli\\") { id } }"}'

# Golden keys: any change here changes every key on every machine (and the CLI's
# fast path mirrors this form), so it must be deliberate.
GOLDEN: list[tuple[CacheRequest, bytes, str]] = [
    (
        make_request(API, "GET", "repos/cli/cli"),
        b'["ghcache-key-v1","https://api.github.com/","GET","repos/cli/cli",[],"","","","shared"]',
        "bafkreifrav67bc3s2vvzrze66vb4ittmwslefokt3tjrwvhd2gguitox6u",
    ),
    (
        make_request(API, "GET", "repos/cli/cli/issues", [("state", "open"), ("per_page", "100")]),
        b'["ghcache-key-v1","https://api.github.com/","GET","repos/cli/cli/issues",'
        b'[["per_page","100"],["state","open"]],"","","","shared"]',
        "bafkreigzulmw7fb23p54tzsjpb6tepkgcewyx52cukcw7jq7dlnmkysiii",
    ),
    (
        make_request(API, "POST", "graphql", body=GRAPHQL_BODY),
        b'["ghcache-key-v1","https://api.github.com/","POST","graphql",[],"","",'
        b'"{\\"query\\":\\"{ repository(owner:\\\\\\"cli\\\\\\", name:\\\\\\"cli\\\\\\") { id } }\\"}",'
        b'"shared"]',
        "bafkreie6uzly3aux6dg6pa7wjod6zj5mjophnki4iu3k5cy5mkmrahyhey",
    ),
    (
        make_request(API, "GET", "user", scope="identity:abc"),
        b'["ghcache-key-v1","https://api.github.com/","GET","user",[],"","","","identity:abc"]',
        "bafkreidlrul2l5boexqshh4h6tnr5mosbgs2cqtuqadfedraac4rgci4qi",
    ),
]


@pytest.mark.parametrize(("request_", "canonical", "key"), GOLDEN)
def test_golden_keys(request_: CacheRequest, canonical: bytes, key: str) -> None:
    assert request_.canonical() == canonical
    assert request_.key == key
    reference = CID("base32", 1, "raw", multihash.digest(canonical, "sha2-256"))
    assert str(reference) == key
    assert is_cid(key)


def test_keys_are_the_same_in_a_fresh_process() -> None:
    # Nothing process-specific (hash seeds, dict order) may leak into a key.
    code = (
        "from ghcache.core.keys import make_request; "
        f"print(make_request({API!r}, 'get', '/repos/cli/cli/issues', "
        "[('state', 'open'), ('per_page', '100')]).key)"
    )
    env = {"PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.strip() == GOLDEN[1][2]


def test_normalisation() -> None:
    base = make_request(API, "GET", "repos/o/r", [("a", "1"), ("b", "2")])
    assert make_request(
        "HTTPS://API.GITHUB.COM", "get", "/repos/o/r", [("b", "2"), ("a", "1")]
    ) == (base)
    assert make_request(API, "GET", "repos/o/r", [("b", "2"), ("a", "1")]).key == base.key
    assert make_request(API, "GET", "repos/o/r", [("a", "1")]).key != base.key
    assert make_request(API, "GET", "repos/o/R", [("a", "1"), ("b", "2")]).key != base.key
    assert make_request(API, "HEAD", "repos/o/r", [("a", "1"), ("b", "2")]).key != base.key


@pytest.mark.parametrize(
    "change",
    [
        {"scope": "identity:0123"},
        {"accept": "application/vnd.github.raw+json"},
        {"api_version": "2022-11-28"},
        {"body": '{"query":"{ viewer { login } }"}'},
    ],
)
def test_each_keyed_part_changes_the_key(change: dict[str, Any]) -> None:
    assert (
        make_request(API, "GET", "repos/o/r", **change).key
        != make_request(API, "GET", "repos/o/r").key
    )


def test_different_scopes_never_share_a_key() -> None:
    keys = {make_request(API, "GET", "user", scope=s).key for s in ("shared", "identity:a", "b")}
    assert len(keys) == 3


def test_joining_ambiguity_does_not_collide() -> None:
    # A key built by joining strings would make these equal.
    pairs = [
        (make_request(API, "GET", "a", [("b", "c")]), make_request(API, "GET", "a?b=c")),
        (make_request(API, "GET", "a:b"), make_request(API + "a:", "GET", "b")),
        (
            make_request(API, "GET", "x", [("a", "b=c")]),
            make_request(API, "GET", "x", [("a=b", "c")]),
        ),
        (
            make_request(API, "GET", "x", [("a", "b"), ("c", "d")]),
            make_request(API, "GET", "x", [("a", "b&c=d")]),
        ),
        (make_request(API, "GET", "x", accept="a,b"), make_request(API, "GET", "x,a", accept="b")),
    ]
    for one, other in pairs:
        assert one.key != other.key


# ---- properties over the canonical form -----------------------------------------------

# Any text, including lone surrogates (what a non-UTF-8 argv or body decodes to).
any_text = st.text(st.characters(exclude_categories=()), max_size=12)
fields = st.tuples(
    any_text,  # base_url
    st.sampled_from(["GET", "HEAD", "POST"]),
    any_text,  # path
    st.lists(st.tuples(any_text, any_text), max_size=3).map(tuple),
    any_text,  # accept
    any_text,  # api_version
    any_text,  # body
    st.one_of(st.just("shared"), any_text),
)


@settings(max_examples=500, deadline=None)
@given(fields, fields)
def test_canonical_form_is_injective(one: tuple[Any, ...], other: tuple[Any, ...]) -> None:
    first, second = CacheRequest(*one), CacheRequest(*other)
    assert (first.canonical() == second.canonical()) == (one == other)
    assert (first.key == second.key) == (one == other)


@settings(max_examples=300, deadline=None)
@given(fields)
def test_canonical_form_decodes_back_to_its_fields(parts: tuple[Any, ...]) -> None:
    canonical = CacheRequest(*parts).canonical()
    decoded = json.loads(canonical.decode("utf-8", "surrogatepass"))
    assert decoded[0] == "ghcache-key-v1"
    assert decoded[1:] == [
        parts[0],
        parts[1],
        parts[2],
        [list(pair) for pair in parts[3]],
        *parts[4:],
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.text(max_size=5), st.text(max_size=5)), max_size=6),
    st.randoms(use_true_random=False),
)
def test_query_order_never_matters(query: list[tuple[str, str]], rnd: random.Random) -> None:
    shuffled = list(query)
    rnd.shuffle(shuffled)
    assert make_request(API, "GET", "search", query).key == (
        make_request(API, "GET", "search", shuffled).key
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.text(max_size=8), json_values, max_size=5),
    st.booleans(),
    st.sampled_from([None, 0, 2]),
    st.booleans(),
)
def test_graphql_body_is_canonicalised(
    payload: dict[str, Any], sort_keys: bool, indent: int | None, ascii_only: bool
) -> None:
    compact = json.dumps(payload, separators=(",", ":"))
    spaced = json.dumps(payload, sort_keys=sort_keys, indent=indent, ensure_ascii=ascii_only)
    reversed_keys = json.dumps(dict(reversed(list(payload.items()))))
    keys = {
        make_request(API, "POST", "graphql", body=text).key
        for text in (compact, spaced, reversed_keys, spaced.encode())
    }
    assert len(keys) == 1


@settings(max_examples=200, deadline=None)
@given(json_values, json_values)
def test_different_graphql_bodies_get_different_keys(one: Any, other: Any) -> None:
    assume(one != other)
    first = make_request(API, "POST", "graphql", body=json.dumps({"query": "q", "v": one}))
    second = make_request(API, "POST", "graphql", body=json.dumps({"query": "q", "v": other}))
    assert first.key != second.key


def test_non_json_body_is_kept_as_is() -> None:
    assert canonical_json_text("query { x }") == "query { x }"
    assert make_request(API, "POST", "graphql", body="a  b").key != (
        make_request(API, "POST", "graphql", body="a b").key
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"query": "query { search(query: \\"caf\xe9\\") { n } }"}',  # Latin-1, not UTF-8
        b"\xff\xfe not json at all",
    ],
)
def test_body_that_is_not_utf8_gets_a_stable_key(body: bytes) -> None:
    one = make_request(API, "POST", "graphql", body=body)
    assert is_cid(one.key)
    assert one.key == make_request(API, "POST", "graphql", body=body).key
    other = body.replace(b"\xe9", b"\xe8").replace(b"\xfe", b"\xfd")
    assert one.key != make_request(API, "POST", "graphql", body=other).key


def test_build_request_scopes_identity_paths_per_token() -> None:
    host = resolve_host(None, {})
    shared_a = build_request(
        ApiRequest.for_url("GET", API + "repos/o/r", host), host, token="token-a"
    )
    shared_b = build_request(
        ApiRequest.for_url("GET", API + "repos/o/r", host), host, token="token-b"
    )
    user_a = build_request(ApiRequest.for_url("GET", API + "user", host), host, token="token-a")
    user_b = build_request(ApiRequest.for_url("GET", API + "user", host), host, token="token-b")
    assert shared_a is not None and shared_b is not None
    assert user_a is not None and user_b is not None
    assert shared_a.key == shared_b.key and shared_a.scope == "shared"
    assert user_a.key != user_b.key
    assert "token-a" not in user_a.scope
    assert (
        build_request(ApiRequest.for_url("POST", API + "repos/o/r/issues", host, (), b"{}"), host)
        is None
    )


def test_body_nested_too_deep_for_json_still_gets_a_key() -> None:
    body = "[" * 100_000 + "]" * 100_000
    assert make_request(API, "POST", "graphql", body=body).key == (
        make_request(API, "POST", "graphql", body=body).key
    )
