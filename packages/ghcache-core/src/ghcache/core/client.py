"""The caching client: the policy of :mod:`ghcache.core.policy` around the
disk store, the peers (through plugin hooks) and the upstream.

This is the request-level API the CLI, ``GitHubAPICache`` and the tools build on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from ghcache.core.cid import cid_for_bytes
from ghcache.core.config import Settings
from ghcache.core.entry import CorruptEntry, Entry, header_value
from ghcache.core.hosts import ApiHost, resolve_host, resolve_token
from ghcache.core.keys import CacheRequest
from ghcache.core.policy import (
    Action,
    Options,
    before_request,
    conditional_headers,
    is_fresh,
    is_upstream_failure,
    stale_notice,
    stale_usable,
    storable_ttl,
)
from ghcache.core.ratelimit import RateLimitMemory, limited_until
from ghcache.core.scope import build_request, identity_fingerprint, split_url
from ghcache.core.store import CacheDirError, DiskStore
from ghcache.core.upstream import RawResponse, Upstream, UpstreamError

# Headers a 304 may carry that should replace the stored ones.
_REFRESHABLE = {"etag", "last-modified", "date", "cache-control", "expires", "vary"}


class ApiError(Exception):
    """A call that cannot be answered; the message is one line with no secrets."""


class UpstreamUnavailable(ApiError):
    """GitHub cannot be used now (unreachable, failing, rate limited) and nothing is stored."""


class OfflineMiss(ApiError):
    """``offline`` was asked and the cache has no answer."""


@dataclass
class ApiResponse:
    status: int
    reason: str
    http_version: str
    headers: list[tuple[str, str]]
    body: bytes
    source: str
    notice: str | None = None
    key: str | None = None

    @classmethod
    def from_entry(cls, entry: Entry, source: str, notice: str | None = None) -> ApiResponse:
        return cls(
            status=entry.status,
            reason=entry.reason,
            http_version=entry.http_version,
            headers=list(entry.headers),
            body=entry.body,
            source=source,
            notice=notice,
            key=entry.key,
        )

    @classmethod
    def from_raw(cls, raw: RawResponse, source: str, key: str | None = None) -> ApiResponse:
        return cls(raw.status, raw.reason, raw.http_version, raw.headers, raw.body, source, key=key)


class CachingClient:
    def __init__(
        self,
        settings: Settings,
        host: ApiHost,
        token: str | None,
        *,
        upstream: Upstream | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.host = host
        self._token = token
        self.store = DiskStore(settings.cache_dir, max_bytes=settings.max_bytes)
        self.stats = self.store.stats
        self.ratelimits = RateLimitMemory(settings.cache_dir)
        self._upstream = upstream or Upstream(token)
        self._clock = clock
        self._inflight: dict[str, Future[ApiResponse]] = {}
        self._inflight_lock = threading.Lock()

    @classmethod
    def from_env(
        cls, hostname: str | None = None, env: Mapping[str, str] | None = None
    ) -> CachingClient:
        settings = Settings.from_env(env)
        host = resolve_host(hostname, env)
        token, _ = resolve_token(host, env)
        return cls(settings, host, token)

    def __repr__(self) -> str:
        return f"CachingClient(host={self.host.hostname!r}, cache_dir={str(self.settings.cache_dir)!r})"

    def close(self) -> None:
        self._upstream.close()

    def __enter__(self) -> CachingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def is_api_url(self, url: str) -> bool:
        """Whether ``url`` is on this client's API host: only there does the token go (as gh)."""
        origin = urlsplit(url)
        return any(
            (origin.scheme, origin.netloc.lower()) == (api.scheme, api.netloc.lower())
            for api in (urlsplit(self.host.rest_url), urlsplit(self.host.graphql_url))
        )

    def cache_request(
        self,
        method: str,
        url: str,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes | None = None,
    ) -> CacheRequest | None:
        """The cache request (and so the key) for a call, or None when it is not cacheable."""
        headers = list(headers)
        return build_request(
            method,
            url,
            self.host,
            accept=header_value(headers, "accept"),
            api_version=header_value(headers, "x-github-api-version"),
            body=body,
            token=self._token,
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes | None = None,
        ttl: float | None = None,
        refresh: bool = False,
        no_cache: bool = False,
        offline: bool = False,
    ) -> ApiResponse:
        headers = list(headers)
        request = None if no_cache else self.cache_request(method, url, headers, body)
        if request is None:
            if offline:
                raise OfflineMiss(f"{method.upper()} {url} is never cached, cannot answer offline")
            return self._pass_through(method, url, headers, body)
        options = Options(
            ttl=ttl, refresh=refresh, offline=offline, max_stale=self.settings.max_stale
        )
        return self._coalesced(
            request.key, lambda: self._cached(request, method, url, headers, body, options)
        )

    def _coalesced(self, key: str, work: Callable[[], ApiResponse]) -> ApiResponse:
        # Concurrent identical requests in this process share one upstream request.
        with self._inflight_lock:
            pending = self._inflight.get(key)
            leader = pending is None
            if pending is None:
                pending = self._inflight[key] = Future()
        if not leader:
            return pending.result()
        try:
            result = work()
        except BaseException as exc:
            pending.set_exception(exc)
            raise
        else:
            pending.set_result(result)
            return result
        finally:
            with self._inflight_lock:
                del self._inflight[key]

    def _cached(
        self,
        request: CacheRequest,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        options: Options,
    ) -> ApiResponse:
        now = self._clock()
        key = request.key
        entry = self.store.read(key)
        who = f"{self.host.hostname}:{identity_fingerprint(self._token)}"
        decision = before_request(entry, now, options, self.ratelimits.until(who, now))
        if decision.action is Action.SERVE_FRESH and entry is not None:
            self.stats.add(hits=1)
            return ApiResponse.from_entry(entry, "cache")
        if request.scope == "shared" and not options.refresh:
            from_peer = self._ask_peers(key, now, options)
            if from_peer is not None:
                return from_peer
        if decision.action is Action.SERVE_STALE and entry is not None:
            self.stats.add(stale_served=1)
            return ApiResponse.from_entry(entry, "stale", stale_notice(entry, now, decision.reason))
        if decision.action is Action.FAIL:
            if options.offline:
                raise OfflineMiss(f"{url} is not in the cache (offline)")
            raise UpstreamUnavailable(f"API {decision.reason}, and {url} is not in the cache")

        sent_headers = list(headers)
        if decision.action is Action.REVALIDATE and entry is not None:
            sent_headers += conditional_headers(entry)
        try:
            raw = self._upstream.send(
                method, url, sent_headers, body, authorize=self.is_api_url(url)
            )
        except UpstreamError as exc:
            self.stats.add(upstream_requests=1)
            return self._stale_or_raise(entry, now, options, str(exc))
        until = limited_until(raw.status, raw.headers, raw.body, now)
        if until is not None:
            self.ratelimits.remember(who, until, now)
            if stale_usable(entry, now, options) and entry is not None:
                self.stats.add(upstream_requests=1, stale_served=1)
                reason = f"rate limited until {time.strftime('%H:%M:%S', time.localtime(until))}"
                return ApiResponse.from_entry(entry, "stale", stale_notice(entry, now, reason))
        if raw.status == 304 and entry is not None:
            self.stats.add(upstream_requests=1, misses=1, revalidated=1)
            refreshed = replace(
                entry,
                stored_at=now,
                ttl=entry.ttl if options.ttl is None else options.ttl,
                headers=_merge_headers(entry.headers, raw.headers),
            )
            notice = self._write(refreshed)
            return ApiResponse.from_entry(refreshed, "revalidated", notice)
        if is_upstream_failure(raw.status) and stale_usable(entry, now, options) and entry:
            self.stats.add(upstream_requests=1, stale_served=1)
            reason = f"GitHub answered HTTP {raw.status}"
            return ApiResponse.from_entry(entry, "stale", stale_notice(entry, now, reason))
        self.stats.add(upstream_requests=1, misses=1)
        response = ApiResponse.from_raw(raw, "upstream", key)
        keep = storable_ttl(
            raw.status,
            self.settings.default_ttl if options.ttl is None else options.ttl,
            self.settings.negative_ttl,
        )
        if keep is not None and raw.status != 304:
            fresh = Entry(
                key=key,
                scope=request.scope,
                method=request.method,
                url=url,
                stored_at=now,
                ttl=keep,
                status=raw.status,
                headers=raw.headers,
                body=raw.body,
                reason=raw.reason,
                http_version=raw.http_version,
            )
            response.notice = self._write(fresh)
            if response.notice is None and fresh.is_shared and 200 <= fresh.status < 300:
                self._announce(fresh)
        return response

    def _stale_or_raise(
        self, entry: Entry | None, now: float, options: Options, problem: str
    ) -> ApiResponse:
        if entry is not None and stale_usable(entry, now, options):
            self.stats.add(stale_served=1)
            return ApiResponse.from_entry(entry, "stale", stale_notice(entry, now, problem))
        raise UpstreamUnavailable(problem)

    def _write(self, entry: Entry) -> str | None:
        """Store ``entry``; a cache dir that cannot be written costs the caching, not the answer."""
        try:
            self.store.write(entry)
        except CacheDirError as exc:
            return f"ghcache: not cached: {exc}"
        return None

    def _pass_through(
        self, method: str, url: str, headers: list[tuple[str, str]], body: bytes | None
    ) -> ApiResponse:
        try:
            raw = self._upstream.send(method, url, headers, body, authorize=self.is_api_url(url))
        except UpstreamError as exc:
            raise UpstreamUnavailable(str(exc)) from None
        self.stats.add(upstream_requests=1)
        if method.upper() not in ("GET", "HEAD") and 200 <= raw.status < 300:
            self.invalidate(url)
        return ApiResponse.from_raw(raw, "passthrough")

    def invalidate(self, url: str) -> int:
        """Drop stored entries for the resource at ``url``, what is below it and its collection."""
        _, path, _ = split_url(url, self.host)
        path = path.strip("/")
        if not path or path == "graphql":
            return 0
        parent = path.rsplit("/", 1)[0] if "/" in path else path
        removed = 0
        for entry in list(self.store.entries()):
            _, stored_path, _ = split_url(entry.url, self.host)
            stored_path = stored_path.strip("/")
            if stored_path in (path, parent) or stored_path.startswith(path + "/"):
                removed += self.store.delete(entry.key)
        return removed

    def _plugin_manager(self) -> Any:
        if not self.settings.enable_p2p:
            return None
        from ghcache.core.plugins import load_plugins

        return load_plugins()

    def _ask_peers(self, key: str, now: float, options: Options) -> ApiResponse | None:
        pm = self._plugin_manager()
        if pm is None:
            return None
        try:
            found = pm.hook.lookup_entry(key=key, cache_dir=self.settings.cache_dir)
        except Exception:  # a broken plugin must not break a request
            return None
        if not isinstance(found, Entry):
            return None
        try:
            # Take only what the verified body supports: ``data`` is re-derived from it.
            found = Entry.from_bytes(found.to_bytes(), trust_data=False)
        except CorruptEntry:
            return None
        if not _acceptable_from_peer(found, key, now, options):
            return None
        self._write(found)
        self.stats.add(peer_hits=1)
        return ApiResponse.from_entry(found, "peer")

    def _announce(self, entry: Entry) -> None:
        pm = self._plugin_manager()
        if pm is None:
            return
        try:
            pm.hook.entry_stored(entry=entry, cache_dir=self.settings.cache_dir)
        except Exception:
            return


def _acceptable_from_peer(entry: Entry, key: str, now: float, options: Options) -> bool:
    return (
        entry.key == key
        and cid_for_bytes(entry.body) == entry.body_cid
        and entry.is_shared
        and 200 <= entry.status < 300
        and entry.stored_at <= now + 60
        and is_fresh(entry, now, options.ttl)
    )


def _merge_headers(
    stored: list[tuple[str, str]], fresh: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    updates = {name.lower(): (name, value) for name, value in fresh if name.lower() in _REFRESHABLE}
    merged = [updates.pop(name.lower(), (name, value)) for name, value in stored]
    return merged + list(updates.values())
