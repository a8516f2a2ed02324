"""Plugin hooks around the caching client: peers are asked on misses, told about stores."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ghcache.core import plugins
from ghcache.core.client import CachingClient
from ghcache.core.config import Settings
from ghcache.core.entry import Entry
from ghcache.core.hookspecs import hookimpl


class RecordingPeer:
    """A plugin that remembers every call and answers lookups from ``answers``, storing
    what it found in the local store itself (as the p2p daemon does), unchecked."""

    def __init__(self) -> None:
        self.lookups: list[tuple[str, Path, float]] = []
        self.stored: list[tuple[Entry, Path]] = []
        self.answers: dict[str, Any] = {}

    @hookimpl
    def lookup_entry(self, key: str, settings: Settings, newer_than: float) -> bool | None:
        self.lookups.append((key, settings.cache_dir, newer_than))
        found = self.answers.get(key)
        if not isinstance(found, Entry):
            return None
        settings.cache_dir.mkdir(parents=True, exist_ok=True)
        path = settings.cache_dir / f"gh_api_{key}.json"
        path.write_bytes(found.to_bytes())
        return True

    @hookimpl
    def entry_stored(self, entry: Entry, settings: Settings) -> None:
        self.stored.append((entry, settings.cache_dir))


@pytest.fixture
def peer(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingPeer]:
    # Installed plugins (ghcache-p2p) would also answer: mark entry points as loaded.
    monkeypatch.setattr(plugins, "_loaded", True)
    plugin = RecordingPeer()
    plugins.pm.register(plugin)
    try:
        yield plugin
    finally:
        plugins.pm.unregister(plugin)


@pytest.fixture
def client(make_client: Callable[..., CachingClient]) -> CachingClient:
    # team mode: a teammate's entry is served as it is (verified mode confirms it first)
    return make_client(CACHE_SHARING="team")


def peer_entry(client: CachingClient, path: str, body: bytes, **changes: Any) -> Entry:
    url = client.host.rest_url + path
    request = client.cache_request("GET", url)
    assert request is not None
    entry = Entry(
        key=request.key,
        scope=request.scope,
        method="GET",
        url=url,
        stored_at=time.time(),
        ttl=300,
        status=200,
        headers=[("Content-Type", "application/json"), ("ETag", '"from-peer"')],
        body=body,
    )
    return replace(entry, **changes) if changes else entry


def test_miss_asks_peers_then_upstream_then_announces(
    client: CachingClient, peer: RecordingPeer, fake_api: Any
) -> None:
    url = client.host.rest_url + "repos/o/r"
    response = client.request("GET", url)
    assert response.source == "upstream"
    assert fake_api.count("/repos/o/r") == 1
    assert peer.lookups == [(response.key, client.settings.cache_dir, 0.0)]
    assert len(peer.stored) == 1
    stored, cache_dir = peer.stored[0]
    assert cache_dir == client.settings.cache_dir
    assert (stored.key, stored.body, stored.is_shared) == (response.key, response.body, True)
    assert stored.body == fake_api.body_for("/repos/o/r")

    again = client.request("GET", url)  # fresh local hit: no peers, no upstream
    assert again.source == "cache"
    assert len(peer.lookups) == 1 and len(peer.stored) == 1
    assert fake_api.count("/repos/o/r") == 1


def test_valid_peer_entry_is_served_without_upstream(
    client: CachingClient, peer: RecordingPeer, fake_api: Any
) -> None:
    body = json.dumps({"from": "peer"}).encode()
    entry = peer_entry(client, "repos/o/shared", body)
    peer.answers[entry.key] = entry
    response = client.request("GET", entry.url)
    assert (response.source, response.body, response.key) == ("peer", body, entry.key)
    assert fake_api.count() == 0
    assert client.stats.read()["peer_hits"] == 1
    stored = client.store.read(entry.key)
    assert stored is not None and stored.body == body
    assert peer.stored == []  # an entry that came from peers is not announced back

    again = client.request("GET", entry.url)
    assert again.source == "cache"
    assert len(peer.lookups) == 1


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda e: replace(e, key=e.key[:-4] + "aaaa"), id="wrong key"),
        pytest.param(lambda e: replace(e, scope="identity:someone"), id="identity scope"),
        pytest.param(lambda e: replace(e, status=500), id="error status"),
        pytest.param(lambda e: replace(e, stored_at=time.time() - 3600), id="expired"),
        pytest.param(lambda e: replace(e, stored_at=time.time() + 3600), id="from the future"),
        pytest.param(lambda e: replace(e, body=b'{"from": "forged"}'), id="bad CID"),
        pytest.param(lambda e: "not an entry", id="not an Entry"),
    ],
)
def test_invalid_peer_entry_is_ignored(
    client: CachingClient,
    peer: RecordingPeer,
    fake_api: Any,
    spoil: Callable[[Entry], Any],
) -> None:
    entry = peer_entry(client, "repos/o/spoiled", b'{"from": "peer"}')
    peer.answers[entry.key] = spoil(entry)
    response = client.request("GET", entry.url)
    assert response.source == "upstream"
    assert response.body == fake_api.body_for("/repos/o/spoiled")
    assert fake_api.count("/repos/o/spoiled") == 1
    assert client.stats.read()["peer_hits"] == 0
    stored = client.store.read(response.key or "")
    assert stored is not None and stored.body == response.body


def test_broken_plugin_does_not_break_requests(
    client: CachingClient, peer: RecordingPeer, fake_api: Any
) -> None:
    class Broken:
        @hookimpl
        def lookup_entry(self, key: str, settings: Settings, newer_than: float) -> bool | None:
            raise RuntimeError("peer exploded")

        @hookimpl
        def entry_stored(self, entry: Entry, settings: Settings) -> None:
            raise RuntimeError("announce exploded")

    broken = Broken()
    plugins.pm.register(broken)
    try:
        response = client.request("GET", client.host.rest_url + "repos/o/broken")
    finally:
        plugins.pm.unregister(broken)
    assert response.source == "upstream"
    assert response.status == 200


def test_identity_scoped_requests_never_reach_plugins(
    client: CachingClient, peer: RecordingPeer, fake_api: Any
) -> None:
    response = client.request("GET", client.host.rest_url + "user")
    assert response.source == "upstream"
    assert response.key is not None
    stored = client.store.read(response.key)
    assert stored is not None and not stored.is_shared
    assert peer.lookups == []
    assert peer.stored == []


def test_verified_mode_confirms_a_peer_entry_with_the_callers_own_etag(
    make_client: Callable[..., CachingClient], peer: RecordingPeer, fake_api: Any
) -> None:
    client = make_client()  # CACHE_SHARING defaults to verified
    entry = peer_entry(client, "repos/o/peer", b'{"from": "peer"}')
    peer.answers[entry.key] = entry
    response = client.request("GET", entry.url)
    # the tiny fake API does not follow GitHub's ETag rule: the candidate is not confirmed,
    # and the caller gets the server's own answer, never the peer's body
    assert response.source == "upstream"
    assert response.body == fake_api.body_for("/repos/o/peer")
    sent = fake_api.requests[-1][2]
    assert sent["If-None-Match"].startswith('W/"')
    assert "If-Modified-Since" not in sent  # another identity's validators are never sent


def test_first_miss_in_a_fresh_cache_dir_is_counted(
    make_client: Callable[..., CachingClient], fake_api: Any
) -> None:
    client = make_client()
    assert not client.settings.cache_dir.exists()
    client.request("GET", client.host.rest_url + "repos/o/r")
    counters = client.stats.read()
    assert (counters["misses"], counters["upstream_requests"]) == (1, 1)


def test_revalidation_uses_the_etag(
    make_client: Callable[..., CachingClient], fake_api: Any
) -> None:
    client = make_client()
    url = client.host.rest_url + "repos/o/r"
    first = client.request("GET", url, ttl=0)
    second = client.request("GET", url, ttl=0)
    assert (first.source, second.source) == ("upstream", "revalidated")
    assert second.body == first.body
    last_headers = fake_api.requests[-1][2]
    sent = [tag.strip() for tag in last_headers.get("If-None-Match", "").split(",")]
    assert fake_api.etag_for("/repos/o/r") in sent
    assert client.stats.read()["revalidated"] == 1


def test_peer_entry_data_is_derived_from_its_verified_body(
    client: CachingClient, peer: RecordingPeer, env_for: Callable[..., dict[str, str]]
) -> None:
    from ghcache.core.cache import GitHubAPICache

    entry = peer_entry(client, "repos/o/data", b'{"from": "peer"}', data={"forged": True})
    peer.answers[entry.key] = entry
    assert client.request("GET", entry.url).source == "peer"
    env = env_for(Path("unused"), CACHE_SHARING="team")
    cache = GitHubAPICache(cache_dir=client.settings.cache_dir, env=env)
    assert cache.get("gh_api", "repos/o/data") == {"from": "peer"}
