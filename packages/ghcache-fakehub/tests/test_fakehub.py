"""fakehub behaves like api.github.com where caching depends on it (real HTTP, real gh)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ghcache.fakehub import ControlClient, FakeHub, main

ALICE, BOB = "ghp_alice", "ghp_bob"


def client(hub: FakeHub, token: str | None = ALICE) -> httpx.Client:
    headers = {"Authorization": f"token {token}"} if token else {}
    # verify=False: plain HTTP only, and it skips loading CA certificates (0.3 s per client).
    return httpx.Client(base_url=hub.url, headers=headers, timeout=5, verify=False)


def links(response: httpx.Response) -> dict[str, str]:
    return {rel: url for rel, url in ((k, v["url"]) for k, v in response.links.items())}


# -- identity, headers, conditional requests -------------------------------------------------


def test_tokens_have_identities_and_token_dependent_etags(fakehub: FakeHub) -> None:
    with client(fakehub, ALICE) as alice, client(fakehub, BOB) as bob:
        assert alice.get("user").json()["login"] == "alice"
        assert bob.get("user").json()["login"] == "bob"
        a1, a2 = alice.get("repos/octo/hello"), alice.get("repos/octo/hello")
        b1 = bob.get("repos/octo/hello")
    assert a1.headers["etag"] == a2.headers["etag"]
    assert a1.headers["etag"].startswith('W/"')
    assert a1.json()["full_name"] == b1.json()["full_name"] == "octo/hello"
    assert a1.headers["etag"] != b1.headers["etag"]  # ETags depend on the token, like GitHub's


def test_github_headers_and_compact_json(fakehub: FakeHub) -> None:
    with client(fakehub) as c:
        r = c.get("repos/octo/hello")
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.headers["x-github-media-type"] == "github.v3; format=json"
    assert r.headers["cache-control"] == "private, max-age=60, s-maxage=60"
    assert r.headers["vary"] == "Accept, Authorization, Cookie, X-GitHub-OTP"
    assert r.headers["x-github-request-id"] and r.headers["date"] and r.headers["last-modified"]
    assert r.headers["x-ratelimit-resource"] == "core"
    assert int(r.headers["content-length"]) == len(r.content)
    assert r.content == json.dumps(r.json(), separators=(",", ":")).encode()
    body = r.json()
    assert body["owner"]["login"] == "octo" and body["owner"]["type"] == "Organization"
    assert body["url"] == fakehub.url + "repos/octo/hello"
    assert body["open_issues_count"] == 50


def test_accept_media_types_change_body_and_etag(fakehub: FakeHub) -> None:
    with client(fakehub) as c:
        plain = c.get("repos/octo/hello/issues/2")
        full = c.get(
            "repos/octo/hello/issues/2", headers={"Accept": "application/vnd.github.full+json"}
        )
    assert plain.headers["x-github-media-type"] == "github.v3; format=json"
    assert full.headers["x-github-media-type"] == "github.v3; param=full; format=json"
    assert "body_html" in full.json() and "body_html" not in plain.json()
    assert full.headers["etag"] != plain.headers["etag"]


def test_if_none_match_gives_304_without_charging(fakehub: FakeHub) -> None:
    with client(fakehub) as c:
        first = c.get("repos/octo/hello/issues")
        etag = first.headers["etag"]
        remaining = int(first.headers["x-ratelimit-remaining"])
        charged = fakehub.counted(ALICE)
        bare = etag.removeprefix("W/")
        for header in (etag, bare, f'"nope", {etag}', "*"):
            r = c.get("repos/octo/hello/issues", headers={"If-None-Match": header})
            assert r.status_code == 304, header
            assert r.content == b""
            assert r.headers["etag"] == etag
            assert int(r.headers["x-ratelimit-remaining"]) == remaining
        assert fakehub.counted(ALICE) == charged
        assert c.get("repos/octo/hello/issues", headers={"If-None-Match": '"x"'}).status_code == 200
        assert fakehub.counted(ALICE) == charged + 1
        # Another token's ETag does not validate this token's copy.
        with client(fakehub, BOB) as bob:
            assert (
                bob.get("repos/octo/hello/issues", headers={"If-None-Match": etag}).status_code
                == 200
            )


def test_if_modified_since(fakehub: FakeHub) -> None:
    with client(fakehub) as c:
        r = c.get("repos/octo/hello/issues/1")
        stamp = r.headers["last-modified"]
        again = c.get("repos/octo/hello/issues/1", headers={"If-Modified-Since": stamp})
        assert again.status_code == 304
        old = "Mon, 01 Jan 2024 00:00:00 GMT"
        assert (
            c.get("repos/octo/hello/issues/1", headers={"If-Modified-Since": old}).status_code
            == 200
        )


def test_head_has_length_but_no_body(fakehub: FakeHub) -> None:
    with client(fakehub) as c:
        get, head = c.get("repos/octo/hello"), c.head("repos/octo/hello")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["etag"] == get.headers["etag"]


# -- rate limits -----------------------------------------------------------------------------


def test_rate_limit_headers_decrement_and_exhaust(fakehub: FakeHub) -> None:
    fakehub.add_token("tok-carol", login="carol", limit=3)
    with client(fakehub, "tok-carol") as c:
        seen = [int(c.get("user").headers["x-ratelimit-remaining"]) for _ in range(3)]
        assert seen == [2, 1, 0]
        over = c.get("repos/octo/hello")
        assert over.status_code == 403
        assert over.headers["x-ratelimit-remaining"] == "0"
        assert over.headers["x-ratelimit-limit"] == "3"
        assert int(over.headers["x-ratelimit-reset"]) > time.time()
        carol_id = c.get("rate_limit").json() and fakehub.world.user("carol")
        assert carol_id is not None
        assert over.json() == {
            "message": f"API rate limit exceeded for user ID {carol_id.id}.",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        }
        assert fakehub.counted("tok-carol") == 3
        limits = c.get("rate_limit").json()
        assert limits["rate"] == limits["resources"]["core"]
        assert limits["resources"]["core"]["remaining"] == 0
        assert limits["resources"]["search"]["limit"] == 30
        fakehub.advance_time(3601)  # the reset time passes
        assert c.get("user").headers["x-ratelimit-remaining"] == "2"
    with client(fakehub) as alice:  # other users are unaffected
        assert alice.get("user").status_code == 200


def test_exhaust_and_reset_limits(fakehub: FakeHub) -> None:
    fakehub.exhaust(ALICE)
    with client(fakehub) as c:
        assert c.get("user").status_code == 403
        fakehub.exhaust(ALICE, "graphql")  # GraphQL answers 200 with a RATE_LIMITED error
        limited = c.post("graphql", json={"query": "{ viewer { login } }"})
        assert limited.status_code == 200 and limited.headers["x-ratelimit-remaining"] == "0"
        assert limited.json()["errors"][0]["type"] == "RATE_LIMITED"
        with client(fakehub, BOB) as bob:
            assert bob.get("user").status_code == 200
        fakehub.reset_limits(ALICE)
        assert c.get("user").status_code == 200


def test_anonymous_limit_and_bad_credentials(fakehub: FakeHub) -> None:
    with client(fakehub, None) as anon:
        r = anon.get("repos/octo/hello")
        assert r.status_code == 200 and r.headers["x-ratelimit-limit"] == "60"
        assert r.headers["cache-control"].startswith("public")
        assert anon.get("user").status_code == 401
        assert anon.post("graphql", json={"query": "{ viewer { login } }"}).status_code == 401
    with client(fakehub, "ghp_unknown") as bad:
        r = bad.get("user")
        assert r.status_code == 401 and r.json()["message"] == "Bad credentials"
    assert fakehub.counted("ghp_unknown") == 0


def test_secondary_limit(fakehub: FakeHub) -> None:
    fakehub.inject(secondary=429, retry_after=7, path="/issues")
    with client(fakehub) as c:
        assert c.get("repos/octo/hello").status_code == 200  # path does not match
        r = c.get("repos/octo/hello/issues")
        assert r.status_code == 429 and r.headers["retry-after"] == "7"
        assert r.json()["message"].startswith("You have exceeded a secondary rate limit")
        assert r.headers["x-github-request-id"] in r.json()["message"]
        assert "x-ratelimit-remaining" in r.headers
        assert c.get("repos/octo/hello/issues").status_code == 200  # times=1 used up
    fakehub.inject(secondary=True)
    with client(fakehub) as c:
        assert c.get("user").status_code == 403


# -- pagination, search, notifications --------------------------------------------------------


def test_pagination_link_headers(fakehub: FakeHub) -> None:
    with client(fakehub) as c:
        first = c.get("repos/octo/hello/issues")
        assert len(first.json()) == 30
        assert first.json()[0]["number"] == 50  # newest first, pull requests included
        rels = links(first)
        assert set(rels) == {"next", "last"}
        assert rels["next"] == f"{fakehub.url}repositories/1296269/issues?page=2"
        assert first.headers["link"] == (
            f'<{fakehub.url}repositories/1296269/issues?page=2>; rel="next", '
            f'<{fakehub.url}repositories/1296269/issues?page=2>; rel="last"'
        )
        second = c.get(rels["next"])
        assert [i["number"] for i in second.json()] == list(range(20, 0, -1))
        assert set(links(second)) == {"prev", "first"}
        big = c.get("repos/octo/big/issues", params={"per_page": 500, "state": "all"})
        assert len(big.json()) == 100  # per_page is capped at 100
        assert links(big)["last"].endswith("issues?per_page=500&state=all&page=3")
        middle = c.get(links(big)["next"])
        assert set(links(middle)) == {"prev", "next", "last", "first"}
        pulls = c.get("repos/octo/hello/pulls").json()
        assert [p["number"] for p in pulls] == [50, 49, 48, 47, 46]
        assert pulls[0]["head"]["ref"] == "feature-50"


def test_search_issues(fakehub: FakeHub) -> None:
    with client(fakehub) as c:
        r = c.get("search/issues", params={"q": "pull request repo:octo/hello"})
        body = r.json()
        assert r.headers["x-ratelimit-resource"] == "search"
        assert r.headers["x-ratelimit-limit"] == "30"
        assert set(body) == {"total_count", "incomplete_results", "items"}
        assert body["total_count"] == 5 and not body["incomplete_results"]
        assert all("pull_request" in item and item["score"] == 1.0 for item in body["items"])
        assert c.get("search/issues").status_code == 422


def test_notifications_and_private_repos_are_identity_scoped(fakehub: FakeHub) -> None:
    with client(fakehub, ALICE) as alice, client(fakehub, BOB) as bob:
        assert len(alice.get("notifications").json()) == 3
        assert [n["id"] for n in bob.get("notifications").json()] == ["2001"]
        assert alice.get("repos/alice/private-notes").json()["private"] is True
        assert bob.get("repos/alice/private-notes").status_code == 404
        assert bob.get("repos/alice/private-notes").json()["message"] == "Not Found"


# -- mutations ---------------------------------------------------------------------------------


def test_mutations_change_state_and_etags(fakehub: FakeHub) -> None:
    with client(fakehub) as c:
        # Issue 45 is on the first page of the (newest first) listing.
        issue, listing = c.get("repos/octo/hello/issues/45"), c.get("repos/octo/hello/issues")
        untouched = c.get("repos/octo/hello/issues", params={"page": 2})
        patched = c.patch(
            "repos/octo/hello/issues/45", json={"title": "Renamed", "state": "closed"}
        )
        assert patched.status_code == 200 and patched.json()["state"] == "closed"
        after = c.get(
            "repos/octo/hello/issues/45", headers={"If-None-Match": issue.headers["etag"]}
        )
        assert after.status_code == 200 and after.json()["title"] == "Renamed"
        assert after.headers["last-modified"] != issue.headers["last-modified"]
        relisted = c.get(
            "repos/octo/hello/issues", headers={"If-None-Match": listing.headers["etag"]}
        )
        assert relisted.status_code == 200 and 45 not in [i["number"] for i in relisted.json()]
        # Page 2 now starts one issue earlier, so its ETag changed too.
        page2 = c.get(
            "repos/octo/hello/issues",
            params={"page": 2},
            headers={"If-None-Match": untouched.headers["etag"]},
        )
        assert page2.status_code == 200 and len(page2.json()) == 19
        created = c.post("repos/octo/hello/issues", json={"title": "New one", "body": "b"})
        assert created.status_code == 201 and created.json()["number"] == 51
        assert created.headers["location"] == f"{fakehub.url}repos/octo/hello/issues/51"
        assert c.get(created.headers["location"]).json()["user"]["login"] == "alice"
        missing = c.post("repos/octo/hello/issues", json={"body": "no title"})
        assert missing.status_code == 422
        assert missing.json()["errors"] == [
            {"resource": "Issue", "code": "missing_field", "field": "title"}
        ]
        assert c.patch("repos/octo/hello/issues/2", json={"state": "weird"}).status_code == 422
        assert c.post("repos/octo/hello/issues", content=b"{nope").status_code == 400


# -- GraphQL -------------------------------------------------------------------------------------


def test_graphql_viewer_and_pagination(fakehub: FakeHub) -> None:
    query = """query($owner: String!, $name: String!, $endCursor: String) {
      repository(owner: $owner, name: $name) {
        name
        issues(first: 20, after: $endCursor) {
          totalCount
          nodes { number title }
          pageInfo { hasNextPage endCursor }
        }
      }
    }"""
    with client(fakehub) as c:
        r = c.post("graphql", json={"query": "query { viewer { login name } }"})
        assert r.json() == {"data": {"viewer": {"login": "alice", "name": "Alice"}}}
        assert "etag" not in r.headers and r.headers["x-ratelimit-resource"] == "graphql"
        numbers: list[int] = []
        cursor = None
        while True:
            variables = {"owner": "octo", "name": "hello", "endCursor": cursor}
            data = c.post("graphql", json={"query": query, "variables": variables}).json()
            issues = data["data"]["repository"]["issues"]
            assert issues["totalCount"] == 45
            numbers += [n["number"] for n in issues["nodes"]]
            if not issues["pageInfo"]["hasNextPage"]:
                break
            cursor = issues["pageInfo"]["endCursor"]
        assert numbers == list(range(1, 46))
        bad = c.post("graphql", json={"query": "{ viewer { nope } }"})
        assert bad.status_code == 200
        assert bad.json()["errors"][0]["message"] == "Field 'nope' doesn't exist on type 'User'"
        absent = c.post("graphql", json={"query": '{ repository(owner:"x", name:"y") { name } }'})
        assert absent.json()["data"] == {"repository": None}
        assert absent.json()["errors"][0]["type"] == "NOT_FOUND"
        assert "errors" in c.post("graphql", json={"query": "{ viewer { login "}).json()


# -- faults and robustness ---------------------------------------------------------------------


def test_injected_server_errors(fakehub: FakeHub) -> None:
    fakehub.inject(status=502, times=2)
    with client(fakehub) as c:
        assert [c.get("user").status_code for _ in range(3)] == [502, 502, 200]
    assert fakehub.counted(ALICE) == 1  # failures are not charged
    fault_id = fakehub.inject(status=500, times=None, path="/pulls")
    assert fault_id is not None
    with client(fakehub) as c:
        assert c.get("repos/octo/hello/pulls").status_code == 500
        assert c.get("repos/octo/hello/pulls").status_code == 500
        assert c.get("repos/octo/hello").status_code == 200
        fakehub.reset_faults()
        assert c.get("repos/octo/hello/pulls").status_code == 200


def test_dropped_connection_and_delay(fakehub: FakeHub) -> None:
    fakehub.inject(drop=True)
    with client(fakehub) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            c.get("user")
        assert c.get("user").status_code == 200
        fakehub.inject(delay=0.3)
        started = time.monotonic()
        assert c.get("user").status_code == 200
        assert time.monotonic() - started >= 0.3
    assert [r.status for r in fakehub.requests] == [0, 200, 200]


def test_survives_clients_that_vanish(fakehub: FakeHub) -> None:
    with socket.create_connection(("127.0.0.1", fakehub.port)) as raw:
        raw.sendall(b"POST /repos/octo/hello/issues HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc")
    fakehub.inject(delay=0.3)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(fakehub.url + "user", timeout=0.05, verify=False)
    time.sleep(0.35)  # the hub writes into the closed socket and must carry on
    with client(fakehub) as c:
        assert c.get("user").status_code == 200


def test_proxy_absolute_form_keeps_the_host(fakehub: FakeHub) -> None:
    with httpx.Client(
        proxy=fakehub.proxy_url, headers={"Authorization": "token ghp_bob"}, verify=False
    ) as c:
        r = c.get("http://api.github.localhost/repos/octo/hello/issues")
        assert r.status_code == 200
        assert links(r)["next"] == "http://api.github.localhost/repositories/1296269/issues?page=2"
        assert r.json()[0]["url"].startswith("http://api.github.localhost/repos/octo/hello/")
        assert c.get("http://api.github.localhost/user").json()["login"] == "bob"
    record = fakehub.requests[0]
    assert record.proxied and record.host == "api.github.localhost" and record.login == "bob"


def test_http_control_endpoints(fakehub: FakeHub) -> None:
    control = ControlClient(fakehub.url)
    assert control.health()["tokens"]["ghp_alice"] == "alice"
    control.inject(status=503, path="/user")
    with client(fakehub) as c:
        assert c.get("user").status_code == 503
        assert c.get("user").status_code == 200
        control.add_token("tok-dave", "dave", 10)
        with client(fakehub, "tok-dave") as dave:
            assert dave.get("user").json()["login"] == "dave"
        counts = control.counts(path_prefix="/user")
        assert counts["total"] == 3 and counts["matching"] == 3
        assert counts["counted"] == {ALICE: 1, "tok-dave": 1}
        assert [r["status"] for r in control.log()] == [503, 200, 200]
        control.exhaust(ALICE)
        assert c.get("user").status_code == 403
        control.reset_limits(ALICE)
        assert c.get("user").status_code == 200
        c.post("repos/octo/hello/issues", json={"title": "gone after reset"})
        control.reset()
        assert control.log() == []
        assert c.get("repos/octo/hello/issues/51").status_code == 404
    with pytest.raises(ValueError, match="secondary must be 403 or 429"):
        control.inject(secondary=500)
    assert httpx.get(fakehub.url + "_fakehub/nothing", verify=False).status_code == 404


def test_pygithub_parses_users_repos_and_pages(fakehub: FakeHub) -> None:
    import github  # PyGithub (in the test extra); imported here, it is slow to import

    gh = github.Github(
        base_url=fakehub.url.rstrip("/"),
        auth=github.Auth.Token(ALICE),
        seconds_between_requests=None,  # PyGithub paces requests by default; not needed here
    )
    assert gh.get_user().login == "alice"
    repo = gh.get_repo("octo/hello")
    assert repo.full_name == "octo/hello" and repo.owner.login == "octo"
    issues = list(repo.get_issues())
    assert len(issues) == 50 and issues[-1].number == 1 and issues[0].labels
    assert fakehub.upstream_count("/repositories/1296269/issues") == 1  # followed Link
    assert gh.get_repo("octo/hello").get_issue(7).title == "Issue 7 in hello"
    gh.close()


# -- processes -------------------------------------------------------------------------------


def test_subprocess_prints_port_and_serves() -> None:
    with FakeHub.start_subprocess() as proc:
        r = httpx.get(proc.url + "user", headers={"Authorization": "token ghp_alice"}, verify=False)
        assert r.json()["login"] == "alice"
        assert proc.control.counts()["counted"] == {ALICE: 1}
    assert proc.process.returncode is not None


def test_main_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--host", "10.1.2.3"]) == 2
    assert "non-loopback" in capsys.readouterr().err
    done = subprocess.run(
        [sys.executable, "-m", "ghcache.fakehub", "--token", "nologin"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "TOKEN=LOGIN" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.needs_gh
@pytest.mark.skipif(shutil.which("gh") is None, reason="the gh binary is not installed")
def test_real_gh_through_the_proxy(fakehub: FakeHub, tmp_path: Path) -> None:
    env = os.environ | fakehub.gh_env(str(tmp_path / "gh-config"))

    def gh(*args: str) -> str:
        done = subprocess.run(
            ["gh", *args], env=env, capture_output=True, text=True, timeout=30, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert json.loads(gh("api", "user"))["login"] == "alice"
    pages = gh("api", "repos/octo/hello/issues?per_page=20", "--paginate", "--jq", "length")
    assert pages.split() == ["20", "20", "10"]
    query = (
        'query($endCursor: String) { repository(owner:"octo", name:"hello") { '
        "issues(first: 10, after: $endCursor) { nodes { number title } "
        "pageInfo { hasNextPage endCursor } } } }"
    )
    counts = gh(
        "api",
        "graphql",
        "--paginate",
        "--jq",
        ".data.repository.issues.nodes | length",
        "-f",
        f"query={query}",
    )
    assert counts.split() == ["10", "10", "10", "10", "5"]
    created = json.loads(gh("api", "-X", "POST", "repos/octo/hello/issues", "-f", "title=from gh"))
    assert created["number"] == 51 and created["user"]["login"] == "alice"
    hosts = {r.host for r in fakehub.requests}
    assert hosts == {"api.github.localhost"} and all(r.proxied for r in fakehub.requests)
    paths = [r.path for r in fakehub.requests]
    assert paths.count("/repositories/1296269/issues") == 2 and paths.count("/graphql") == 5
