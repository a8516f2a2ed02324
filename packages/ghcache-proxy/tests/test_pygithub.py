"""PyGithub, unchanged, with the proxy as its base URL (both layouts)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from github import Auth, Github, UnknownObjectException

from ghcache.fakehub import FakeHub

if TYPE_CHECKING:
    from proxyhelpers import ProxyProcess


def client(base_url: str, token: str) -> Github:
    # PyGithub waits 0.25 s between requests by default, to spare GitHub: not needed here.
    return Github(
        auth=Auth.Token(token),
        base_url=base_url,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


def pygithub_run(base_url: str) -> dict[str, Any]:
    """What a script would do: a repository, its issues (two pages), the user behind each
    token, and a private repository that only alice may read."""
    seen: dict[str, Any] = {}
    alice = client(base_url, "ghp_alice")
    bob = client(base_url, "ghp_bob")
    try:
        repo = alice.get_repo("octo/hello")
        seen["repo"] = (repo.full_name, repo.id, repo.private)
        seen["issues"] = [issue.number for issue in repo.get_issues(state="all")]
        seen["alice"] = alice.get_user().login
        seen["bob"] = bob.get_user().login
        private = alice.get_repo("alice/private-notes")
        seen["private"] = (private.full_name, private.private, private.open_issues_count)
        seen["bob_repo"] = bob.get_repo("octo/hello").full_name
        with pytest.raises(UnknownObjectException):
            bob.get_repo("alice/private-notes")
    finally:
        alice.close()
        bob.close()
    return seen


def test_pygithub_second_run_is_answered_by_the_cache(proxy: ProxyProcess, hub: FakeHub) -> None:
    before = hub.counted("ghp_alice"), hub.counted("ghp_bob")
    first = pygithub_run(proxy.url.rstrip("/"))
    assert first["repo"] == ("octo/hello", 1296269, False)
    assert len(first["issues"]) == 50  # 45 issues and 5 pull requests: two pages of 30
    assert sorted(first["issues"]) == list(range(1, 51))
    # The user behind each token is that token's own, never the other's.
    assert (first["alice"], first["bob"]) == ("alice", "bob")
    assert first["private"] == ("alice/private-notes", True, 3)
    assert first["bob_repo"] == "octo/hello"
    after_first = hub.counted("ghp_alice"), hub.counted("ghp_bob")
    assert after_first[0] > before[0] and after_first[1] > before[1]

    second = pygithub_run(proxy.url.rstrip("/"))
    assert second == first
    assert (hub.counted("ghp_alice"), hub.counted("ghp_bob")) == after_first

    # The Enterprise layout reaches the same entries: PyGithub with base_url .../api/v3.
    third = pygithub_run(proxy.url + "api/v3")
    assert third == first
    assert (hub.counted("ghp_alice"), hub.counted("ghp_bob")) == after_first


def test_pygithub_writes_go_through_and_invalidate(proxy: ProxyProcess, hub: FakeHub) -> None:
    gh = client(proxy.url.rstrip("/"), "ghp_alice")
    try:
        repo = gh.get_repo("octo/empty")
        assert repo.get_issues().totalCount == 0
        created = repo.create_issue(title="through the proxy")
        # PyGithub edits at the URL the answer named: it leads back through the proxy.
        created.edit(title="edited through the proxy")
        titles = [issue.title for issue in repo.get_issues()]
    finally:
        gh.close()
    assert titles == ["edited through the proxy"]
    assert [r.method for r in hub.requests if r.path.startswith("/repos/octo/empty/issues/")] == [
        "PATCH"
    ]
