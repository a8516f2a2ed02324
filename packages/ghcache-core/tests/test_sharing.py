"""The serving rule against the simulated GitHub: an answer reaches an identity only when
GitHub would give that identity that answer (``CACHE_SHARING``: verified, team, off).

Several tokens share one cache directory here, as users of one machine (or a CI
runner with a new ``GITHUB_TOKEN`` per job) do.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from ghcache.core.answers import UpstreamUnavailable
from ghcache.core.client import CachingClient
from ghcache.core.config import Settings
from ghcache.core.hosts import resolve_host
from ghcache.core.policy import github_etag
from ghcache.fakehub.server import FakeHub

ALICE, BOB, ALICE_CI = "ghp_alice", "ghp_bob", "ghs_alice_job_2"
PRIVATE = "repos/alice/private-notes"
PUBLIC = "repos/octo/hello"


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub() as running:
        running.add_token(ALICE_CI, "alice")
        yield running


ClientFor = Callable[..., CachingClient]


@pytest.fixture
def client_for(hub: FakeHub, tmp_path: Path) -> Iterator[ClientFor]:
    """``client_for(token, **env)``: a client on one shared cache directory."""
    made: list[CachingClient] = []

    def make(token: str | None, **extra: str) -> CachingClient:
        env = {
            "GITHUB_API_URL": hub.url,
            "CACHE_DIR": str(tmp_path / "cache"),
            "CACHE_ENABLE_P2P": "false",
            **extra,
        }
        client = CachingClient(Settings.from_env(env), resolve_host(None, env), token)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def get(client: CachingClient, path: str) -> tuple[int, bytes, str]:
    response = client.request("GET", client.host.rest_url + path)
    return response.status, response.body, str(response.source)


def test_private_repository_never_reaches_another_identity(
    hub: FakeHub, client_for: ClientFor
) -> None:
    status, secret, _ = get(client_for(ALICE), PRIVATE)
    assert status == 200 and b"private-notes" in secret
    for token in (BOB, None, "ghp_garbage"):
        status, body, source = get(client_for(token), PRIVATE)
        assert status in (401, 404), (token, status)
        assert body != secret and b"Seeded repository" not in body
        assert source == "upstream"
    # alice still has hers, with no request
    before = hub.upstream_count()
    assert get(client_for(ALICE), PRIVATE)[:2] == (200, secret)
    assert hub.upstream_count() == before


def test_negative_answers_stay_with_their_identity(hub: FakeHub, client_for: ClientFor) -> None:
    assert get(client_for(BOB), PRIVATE)[0] == 404
    status, body, source = get(client_for(ALICE), PRIVATE)
    assert (status, source) == (200, "upstream")
    # bob's 404 is remembered for bob (no request), and alice's 200 for alice
    before = hub.upstream_count()
    assert get(client_for(BOB), PRIVATE)[0] == 404
    assert get(client_for(ALICE), PRIVATE)[:2] == (200, body)
    assert hub.upstream_count() == before


@pytest.mark.parametrize("path", ["./user", "repos/octo/hello/../../../user", "repos/%2e%2e/user"])
def test_dot_segments_cannot_move_an_identity_path_into_the_shared_scope(
    hub: FakeHub, client_for: ClientFor, path: str
) -> None:
    alice = client_for(ALICE)
    request = alice.cache_request("GET", alice.host.rest_url + path)
    assert request is not None and request.path == "user"
    assert request.scope.startswith("identity:")
    status, body, _ = get(alice, path)
    assert status == 200 and json.loads(body)["login"] == "alice"
    assert json.loads(get(client_for(BOB), path)[1])["login"] == "bob"


def test_a_new_token_of_the_same_user_confirms_for_free(
    hub: FakeHub, client_for: ClientFor
) -> None:
    """A CI job's new GITHUB_TOKEN: the teammate's copy is confirmed by a 304, costing no unit."""
    _, body, _ = get(client_for(ALICE), PRIVATE)
    status, again, source = get(client_for(ALICE_CI), PRIVATE)
    assert (status, again, source) == (200, body, "confirmed")
    assert hub.counted(ALICE_CI) == 0
    # now confirmed for the new token too: a plain hit
    before = hub.upstream_count()
    assert get(client_for(ALICE_CI), PRIVATE)[2] == "cache"
    assert hub.upstream_count() == before


def test_another_users_public_answer_is_confirmed_not_trusted(
    hub: FakeHub, client_for: ClientFor
) -> None:
    _, body, _ = get(client_for(ALICE), PUBLIC)
    status, again, source = get(client_for(BOB), PUBLIC)
    assert (status, source) == (200, "confirmed")
    assert json.loads(again)["permissions"] == json.loads(body)["permissions"]
    assert hub.counted(BOB) == 0


def test_a_forged_body_is_never_served_in_verified_mode(
    hub: FakeHub, client_for: ClientFor
) -> None:
    alice = client_for(ALICE)
    get(alice, PUBLIC)
    request = alice.cache_request("GET", alice.host.rest_url + PUBLIC)
    assert request is not None
    stored = alice.store.read(request.key)
    assert stored is not None
    forged = json.dumps({"name": "hello", "description": "pwned"}).encode()
    alice.store.write(stored.replace(body=forged, body_cid="", access={}))
    status, body, source = get(client_for(BOB), PUBLIC)
    assert status == 200 and b"pwned" not in body and source == "upstream"


def test_team_mode_trusts_teammates_and_off_uses_nothing_of_theirs(
    hub: FakeHub, client_for: ClientFor
) -> None:
    get(client_for(ALICE, CACHE_SHARING="team"), PUBLIC)
    before = hub.upstream_count()
    assert get(client_for(BOB, CACHE_SHARING="team"), PUBLIC)[2] == "cache"
    assert hub.upstream_count() == before
    status, _, source = get(client_for("ghp_carol_unknown", CACHE_SHARING="off"), PUBLIC)
    assert source == "upstream" and status == 401
    hub.add_token("ghp_carol", "carol")
    assert get(client_for("ghp_carol", CACHE_SHARING="off"), PUBLIC)[2] == "upstream"
    assert hub.counted("ghp_carol") == 1


def test_rate_limited_callers_get_only_their_own_answers(
    hub: FakeHub, client_for: ClientFor
) -> None:
    _, body, _ = get(client_for(ALICE, CACHE_DEFAULT_TTL="0"), PUBLIC)
    hub.exhaust(BOB)
    hub.exhaust(ALICE)
    status, refused, _ = get(client_for(BOB, CACHE_DEFAULT_TTL="0"), PUBLIC)
    assert status == 403 and refused != body
    with pytest.raises(UpstreamUnavailable):  # remembered: bob does not ask again
        get(client_for(BOB, CACHE_DEFAULT_TTL="0"), PUBLIC)
    response = client_for(ALICE, CACHE_DEFAULT_TTL="0").request("GET", hub.url + PUBLIC)
    assert (response.source, response.body) == ("stale", body)


GRAPHQL_QUERY = '{"query": "query { repository(owner: \\"octo\\", name: \\"hello\\") { name } }"}'


def test_graphql_is_per_identity_unless_team_mode_and_not_viewer_dependent(
    client_for: ClientFor,
) -> None:
    verified = client_for(ALICE)
    request = verified.cache_request("POST", verified.host.graphql_url, body=GRAPHQL_QUERY.encode())
    assert request is not None and request.scope.startswith("identity:")
    team = client_for(ALICE, CACHE_SHARING="team")
    shared = team.cache_request("POST", team.host.graphql_url, body=GRAPHQL_QUERY.encode())
    assert shared is not None and shared.scope == "shared"
    viewer = (
        b'{"query": "query { repository(owner: \\"o\\", name: \\"r\\") { viewerHasStarred } }"}'
    )
    scoped = team.cache_request("POST", team.host.graphql_url, body=viewer)
    assert scoped is not None and scoped.scope.startswith("identity:")


def test_a_document_with_a_mutation_is_never_cached(client_for: ClientFor) -> None:
    client = client_for(ALICE, CACHE_SHARING="team")
    document = {
        "query": "query A { viewer { login } } mutation B { addStar(input: {}) { clientMutationId } }",
        "operationName": "A",
    }
    for name in ("A", "B"):
        body = json.dumps({**document, "operationName": name}).encode()
        assert client.cache_request("POST", client.host.graphql_url, body=body) is None


def test_graphql_errors_are_kept_for_the_negative_ttl_only(
    hub: FakeHub, client_for: ClientFor
) -> None:
    client = client_for(ALICE, CACHE_NEGATIVE_TTL="0")
    body = b'{"query": "query { nosuchfield }"}'
    first = client.request("POST", client.host.graphql_url, body=body)
    assert b'"errors"' in first.body
    again = client.request("POST", client.host.graphql_url, body=body)
    assert again.source == "upstream"  # a negative TTL of 0 keeps nothing fresh


def test_computed_etag_matches_the_simulator(hub: FakeHub) -> None:
    headers = [("Accept", "application/vnd.github+json"), ("Authorization", f"token {BOB}")]
    response = httpx.get(hub.url + PUBLIC, headers=headers)
    assert response.headers["ETag"] == github_etag(headers, response.content)
    anonymous = httpx.get(hub.url + PUBLIC, headers=headers[:1])
    assert anonymous.headers["ETag"] == github_etag(headers[:1], anonymous.content)
    assert anonymous.headers["ETag"] != response.headers["ETag"]


# The published examples of the rule (bored-engineer/github-conditional-http-transport,
# hash_test.go: a real api.github.com body and the ETags GitHub served for it).
PUBLISHED_BODY = (
    b'{"login":"bored-engineer","id":541842,"node_id":"MDQ6VXNlcjU0MTg0Mg==","avatar_url":"htt'
    b'ps://avatars.githubusercontent.com/u/541842?v=4","gravatar_id":"","url":"https://api.git'
    b'hub.com/users/bored-engineer","html_url":"https://github.com/bored-engineer","followers_'
    b'url":"https://api.github.com/users/bored-engineer/followers","following_url":"https://ap'
    b'i.github.com/users/bored-engineer/following{/other_user}","gists_url":"https://api.githu'
    b'b.com/users/bored-engineer/gists{/gist_id}","starred_url":"https://api.github.com/users/'
    b'bored-engineer/starred{/owner}{/repo}","subscriptions_url":"https://api.github.com/users'
    b'/bored-engineer/subscriptions","organizations_url":"https://api.github.com/users/bored-e'
    b'ngineer/orgs","repos_url":"https://api.github.com/users/bored-engineer/repos","events_ur'
    b'l":"https://api.github.com/users/bored-engineer/events{/privacy}","received_events_url":'
    b'"https://api.github.com/users/bored-engineer/received_events","type":"User","user_view_t'
    b'ype":"public","site_admin":false,"name":"Luke Young","company":null,"blog":"https://bore'
    b'd.engineer/","location":"San Francisco, CA","email":null,"hireable":true,"bio":"I find b'
    b'ugs and exploit them. Sometimes for money, mainly for free T-Shirts...","twitter_usernam'
    b'e":null,"public_repos":136,"public_gists":51,"followers":212,"following":13,"created_at"'
    b':"2010-12-30T17:15:38Z","updated_at":"2025-05-06T02:44:16Z"}'
)


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ([], b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ([], PUBLISHED_BODY, "c5542e3ee32c0adf1128a79d80a296d03412415c924e522d9d1c75b17d7c3ef0"),
        (
            [("Accept", "application/vnd.github.v3+json")],
            PUBLISHED_BODY,
            "125f46f7d22cd8f41ea1534256ba85a45f4a0e3dcf995da9fecfe3361b93407d",
        ),
        (
            [("Accept", "application/vnd.github.v3+json"), ("Authorization", "Bearer hunter2")],
            PUBLISHED_BODY,
            "2c3b29a72c9c09135a89fe51c46613393b445efabdf6f02105dc1561237093a4",
        ),
    ],
)
def test_computed_etag_matches_the_published_examples(
    headers: list[tuple[str, str]], body: bytes, expected: str
) -> None:
    assert github_etag(headers, body) == f'W/"{expected}"'
