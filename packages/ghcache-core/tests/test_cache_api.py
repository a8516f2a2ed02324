"""The documented Python API, GitHubAPICache, and its sharing of entries with the CLI client."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ghcache.core import GitHubAPICache
from ghcache.core.client import CachingClient
from ghcache.core.hosts import resolve_host
from ghcache.core.request import ApiRequest
from ghcache.core.scope import build_request

ENV = {"GITHUB_API_URL": "https://api.github.com/"}
REPO = {"full_name": "owner/repo", "stargazers_count": 7, "topics": ["a", "ü"]}


@pytest.fixture
def cache(tmp_path: Path) -> GitHubAPICache:
    return GitHubAPICache(cache_dir=tmp_path / "cache", default_ttl=300, env=ENV)


def test_documented_constructor(tmp_path: Path) -> None:
    cache = GitHubAPICache(
        cache_dir=str(tmp_path / "c"), enable_p2p=True, p2p_listen_port=9100, default_ttl=300
    )
    assert (cache.cache_dir, cache.enable_p2p, cache.p2p_listen_port, cache.default_ttl) == (
        tmp_path / "c",
        True,
        9100,
        300,
    )
    assert (tmp_path / "c").is_dir()
    positional = GitHubAPICache(tmp_path / "d", False, 9200, 60)
    assert (positional.enable_p2p, positional.p2p_listen_port, positional.default_ttl) == (
        False,
        9200,
        60,
    )
    for bad in (-1, float("nan")):
        with pytest.raises(ValueError, match="default_ttl"):
            GitHubAPICache(cache_dir=tmp_path / "e", default_ttl=bad)  # type: ignore[arg-type]


def test_put_get_hits_misses_stats(cache: GitHubAPICache) -> None:
    assert cache.get("gh_api", "repos/owner/repo", ()) is None
    key = cache.put("gh_api", REPO, "repos/owner/repo", (), ttl=300)
    assert cache.get("gh_api", "repos/owner/repo", ()) == REPO
    assert cache.get("gh_api", "repos/owner/repo") == REPO
    assert (cache.hits, cache.misses) == (2, 1)
    stats = cache.stats()
    assert (stats["hits"], stats["misses"], stats["entries"]) == (2, 1, 1)
    assert stats["bytes"] == cache.store.path_for(key).stat().st_size
    assert stats["hit_rate"] == round(2 / 3, 4)
    record = json.loads(cache.store.path_for(key).read_bytes())
    assert record["data"] == REPO and record["ttl"] == 300


def test_get_returns_a_fresh_copy_each_time(cache: GitHubAPICache) -> None:
    cache.put("gh_api", REPO, "repos/owner/repo")
    first = cache.get("gh_api", "repos/owner/repo")
    first["stargazers_count"] = 0
    assert cache.get("gh_api", "repos/owner/repo") == REPO


def test_counters_add_up_across_instances(tmp_path: Path) -> None:
    one = GitHubAPICache(cache_dir=tmp_path, env=ENV)
    one.put("gh_api", REPO, "repos/owner/repo")
    one.get("gh_api", "repos/owner/repo")
    two = GitHubAPICache(cache_dir=tmp_path, env=ENV)
    two.get("gh_api", "repos/owner/repo")
    two.get("gh_api", "repos/owner/missing")
    # hits and misses are the directory's totals, whichever instance or process counted
    assert (one.hits, one.misses) == (two.hits, two.misses) == (2, 1)
    assert (two.stats()["hits"], two.stats()["misses"]) == (2, 1)


def test_expired_entry_is_a_miss_but_stale_data_is_available(tmp_path: Path) -> None:
    cache = GitHubAPICache(cache_dir=tmp_path, env=ENV, max_stale=3600)
    cache.put("gh_api", REPO, "repos/owner/repo", ttl=0)
    assert cache.get("gh_api", "repos/owner/repo") is None
    assert cache.misses == 1
    assert cache.get_stale("gh_api", "repos/owner/repo") == REPO
    assert cache.get_stale("gh_api", "repos/owner/other") is None


def test_stale_data_is_bounded_by_max_stale(tmp_path: Path) -> None:
    lenient = GitHubAPICache(cache_dir=tmp_path, env=ENV, max_stale=3600)
    strict = GitHubAPICache(cache_dir=tmp_path, env=ENV, max_stale=0)
    lenient.put("gh_api", REPO, "repos/owner/repo", ttl=0)
    time.sleep(0.01)
    assert lenient.get_stale("gh_api", "repos/owner/repo") == REPO
    assert strict.get_stale("gh_api", "repos/owner/repo") is None
    assert strict.store.read(strict.request_for("gh_api", "repos/owner/repo").key) is not None


def test_default_ttl_applies(tmp_path: Path) -> None:
    cache = GitHubAPICache(cache_dir=tmp_path, env=ENV, default_ttl=0)
    key = cache.put("gh_api", REPO, "repos/owner/repo")
    assert json.loads(cache.store.path_for(key).read_bytes())["ttl"] == 0
    assert cache.get("gh_api", "repos/owner/repo") is None


def test_bad_put_arguments(cache: GitHubAPICache) -> None:
    with pytest.raises(ValueError, match="ttl"):
        cache.put("gh_api", REPO, "repos/owner/repo", ttl=-1)
    with pytest.raises(ValueError, match="ttl"):
        cache.put("gh_api", REPO, "repos/owner/repo", ttl=float("nan"))
    with pytest.raises(TypeError):
        cache.put("gh_api", {"not": {1, 2}}, "repos/owner/repo")
    assert cache.stats()["entries"] == 0


def test_namespace_and_args_are_part_of_the_key(cache: GitHubAPICache) -> None:
    keys = {
        cache.put("gh_api", 1, "repos/owner/repo"),
        cache.put("gh_api", 2, "repos/owner/repo", ("page", 2)),
        cache.put("gh_api", 3, "repos/owner/repo", ("page",)),
        cache.put("other", 4, "repos/owner/repo"),
        cache.put("gh_api", 5, "repos/owner/repo2"),
    }
    assert len(keys) == 5
    assert cache.get("gh_api", "repos/owner/repo") == 1
    assert cache.get("gh_api", "repos/owner/repo", ("page", 2)) == 2
    assert cache.get("other", "repos/owner/repo") == 4


def test_gh_api_key_is_the_cli_key(cache: GitHubAPICache) -> None:
    host = resolve_host(None, ENV)
    request = build_request(
        ApiRequest.for_url("GET", host.rest_url + "repos/owner/repo", host), host
    )
    assert request is not None
    assert cache.put("gh_api", REPO, "repos/owner/repo") == request.key
    assert cache.put("gh_api", REPO, "/repos/owner/repo") == request.key


def test_identity_endpoints_are_keyed_per_token(tmp_path: Path) -> None:
    alice = GitHubAPICache(cache_dir=tmp_path, env={**ENV, "GH_TOKEN": "alice"})
    bob = GitHubAPICache(cache_dir=tmp_path, env={**ENV, "GH_TOKEN": "bob"})
    alice.put("gh_api", {"login": "alice"}, "user")
    assert bob.get("gh_api", "user") is None
    assert alice.get("gh_api", "user") == {"login": "alice"}
    assert alice.put("gh_api", 1, "repos/o/r") == bob.put("gh_api", 1, "repos/o/r")


def test_cli_client_and_python_api_share_entries(
    fake_api: object,
    env_for: Callable[..., dict[str, str]],
    make_client: Callable[..., CachingClient],
    tmp_path: Path,
) -> None:
    client = make_client()
    api_url = client.host.rest_url
    cache = GitHubAPICache(cache_dir=tmp_path / "cache", env=env_for(tmp_path / "cache"))

    fetched = client.request("GET", api_url + "repos/owner/repo")
    assert fetched.source == "upstream"
    assert cache.get("gh_api", "repos/owner/repo") == json.loads(fetched.body)

    cache.put("gh_api", REPO, "repos/owner/put-by-python")
    served = client.request("GET", api_url + "repos/owner/put-by-python")
    assert served.source == "cache"
    assert json.loads(served.body) == REPO
    assert fake_api.count("/repos/owner/put-by-python") == 0  # type: ignore[attr-defined]
