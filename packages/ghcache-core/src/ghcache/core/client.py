"""The caching client: the policy of :mod:`ghcache.core.policy` around the
disk store, the peers (through plugin hooks) and the upstream.

This is the request-level API the CLI, ``GitHubAPICache`` and the tools build on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from typing import Any
from urllib.parse import urlsplit

from ghcache.core.answers import (
    ApiError,
    ApiResponse,
    Notice,
    OfflineMiss,
    Source,
    UpstreamUnavailable,
)
from ghcache.core.config import Settings
from ghcache.core.entry import Entry
from ghcache.core.hosts import ApiHost, resolve_host, resolve_token
from ghcache.core.kernel.identity import SHARED_SCOPE, identity_scope
from ghcache.core.keys import CacheRequest
from ghcache.core.policy import (
    NEGATIVE_STATUSES,
    Action,
    Options,
    before_request,
    conditional_headers,
    headers_after_304,
    is_fresh,
    is_graphql_error,
    is_upstream_failure,
    stale_usable,
    storable_ttl,
)
from ghcache.core.ratelimit import (
    RateLimitMemory,
    limit_key,
    limited_until,
    parse_rate_limit,
    resource_for,
)
from ghcache.core.request import ApiRequest
from ghcache.core.scope import build_request, identity_fingerprint
from ghcache.core.store import CacheDirError, DiskStore
from ghcache.core.upstream import Upstream, UpstreamError

__all__ = [
    "ApiError",
    "ApiResponse",
    "CachingClient",
    "Notice",
    "OfflineMiss",
    "Source",
    "UpstreamUnavailable",
]


class CachingClient:
    def __init__(
        self,
        settings: Settings,
        host: ApiHost,
        token: str | None,
        *,
        upstream: Upstream | None = None,
        store: DiskStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.host = host
        self._token = token
        # A server holding one client per identity (ghcache-proxy) passes one store to all,
        # so that they share its verified reads and index connection.
        self.store = (
            store
            if store is not None
            else DiskStore(settings.cache_dir, max_bytes=settings.max_bytes)
        )
        self.stats = self.store.stats
        self.ratelimits = RateLimitMemory(settings.cache_dir)
        self._upstream = upstream or Upstream(token, timeout=settings.upstream_timeout)
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
        return self.cache_request_for(
            ApiRequest.for_url(method, url, self.host, tuple(headers), body)
        )

    def cache_request_for(self, request: ApiRequest) -> CacheRequest | None:
        return build_request(request, self.host, token=self._token, sharing=self.settings.sharing)

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
        """Build the :class:`ApiRequest` for a full URL and :meth:`send` it."""
        request = ApiRequest.for_url(method, url, self.host, tuple(headers), body)
        return self.send(request, ttl=ttl, refresh=refresh, no_cache=no_cache, offline=offline)

    def send(
        self,
        request: ApiRequest,
        *,
        ttl: float | None = None,
        refresh: bool = False,
        no_cache: bool = False,
        offline: bool = False,
    ) -> ApiResponse:
        """Answer ``request`` from the cache, peers or GitHub, as the policy decides."""
        cached = None if no_cache else self.cache_request_for(request)
        if cached is None:
            if offline:
                raise OfflineMiss(
                    f"{request.method.upper()} {request.url} is never cached, cannot answer offline"
                )
            return self._pass_through(request)
        options = Options(
            ttl=ttl, refresh=refresh, offline=offline, max_stale=self.settings.max_stale
        )
        return self._coalesced(cached.key, lambda: self._cached(cached, request, options))

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

    def _cached(self, request: CacheRequest, sent: ApiRequest, options: Options) -> ApiResponse:
        method, url, headers, body = sent.method, sent.url, list(sent.headers), sent.body
        now = self._clock()
        sharing = self.settings.sharing
        who = identity_fingerprint(self._token)
        bucket = resource_for(request.path, graphql=request.is_graphql)
        limits_key = limit_key(self.host.hostname, who, bucket)
        own = (
            request
            if request.scope != SHARED_SCOPE
            else request.with_scope(identity_scope(self._token))
        )
        if own is not request and not options.refresh:
            # A negative answer is the caller's own, kept under its identity's key.
            refused = self.store.read(own.key)
            if refused is not None and is_fresh(refused, now, options.ttl):
                self.stats.add(hits=1)
                return ApiResponse.from_entry(refused, Source.CACHE)
        entry = self.store.read(request.key)
        limited = self.ratelimits.until(limits_key, now)
        decision = before_request(entry, now, options, limited, identity=who, sharing=sharing)
        if decision.action is Action.SERVE_FRESH and entry is not None:
            self.stats.add(hits=1)
            return ApiResponse.from_entry(entry, Source.CACHE)
        if (
            request.scope == SHARED_SCOPE
            and not options.refresh
            and (sharing == "team" or decision.action in (Action.FETCH, Action.CONFIRM))
        ):
            found = self._ask_peers(request.key, entry)
            if found is not None:
                entry = found
                decision = before_request(
                    entry, now, options, limited, identity=who, sharing=sharing
                )
                if decision.action is Action.SERVE_FRESH:
                    self.stats.add(peer_hits=1)
                    return ApiResponse.from_entry(entry, Source.PEER)
        if decision.action is Action.SERVE_STALE and entry is not None:
            self.stats.add(stale_served=1)
            return ApiResponse.from_entry(
                entry, Source.STALE, Notice("stale", decision.reason, entry.age(now))
            )
        if decision.action is Action.FAIL:
            if options.offline:
                raise OfflineMiss(f"{url} is not in the cache (offline)")
            raise UpstreamUnavailable(f"API {decision.reason}, and {url} is not in the cache")

        authorize = self.is_api_url(url)
        sent_headers = list(headers)
        conditional = decision.action in (Action.REVALIDATE, Action.CONFIRM) and entry is not None
        if conditional and entry is not None:
            on_wire = self._upstream.request_headers(sent_headers, body, authorize=authorize)
            sent_headers += conditional_headers(
                entry, on_wire, mine=decision.action is Action.REVALIDATE
            )
        try:
            raw = self._upstream.send(method, url, sent_headers, body, authorize=authorize)
        except UpstreamError as exc:
            self.stats.add(upstream_requests=1)
            return self._stale_or_raise(entry, now, options, str(exc), who)
        until = limited_until(raw.status, raw.headers, raw.body, now)
        if until is not None:
            named = parse_rate_limit(raw.headers).resource  # GitHub names the bucket it charged
            self.ratelimits.remember(
                limit_key(self.host.hostname, who, named) if named else limits_key, until, now
            )
            if stale_usable(entry, now, options, who, sharing) and entry is not None:
                self.stats.add(upstream_requests=1, stale_served=1)
                reason = f"rate limited until {time.strftime('%H:%M:%S', time.localtime(until))}"
                return ApiResponse.from_entry(
                    entry, Source.STALE, Notice("stale", reason, entry.age(now))
                )
        ttl = self.settings.default_ttl if options.ttl is None else options.ttl
        if raw.status == 304 and conditional and entry is not None:
            confirmed = decision.action is Action.CONFIRM
            self.stats.add(
                upstream_requests=1, misses=1, revalidated=1, confirmed=1 if confirmed else 0
            )
            refreshed = entry.replace(
                stored_at=now,
                ttl=ttl,
                headers=headers_after_304(entry.headers, raw.headers),
                access={**entry.access, who: now},
            )
            notice = self._write(refreshed)
            return ApiResponse.from_entry(
                refreshed, Source.CONFIRMED if confirmed else Source.REVALIDATED, notice
            )
        if is_upstream_failure(raw.status) and stale_usable(entry, now, options, who, sharing):
            assert entry is not None
            self.stats.add(upstream_requests=1, stale_served=1)
            reason = f"GitHub answered HTTP {raw.status}"
            return ApiResponse.from_entry(
                entry, Source.STALE, Notice("stale", reason, entry.age(now))
            )
        mismatch = (
            decision.action is Action.CONFIRM and entry is not None and raw.body == entry.body
        )
        self.stats.add(upstream_requests=1, misses=1, etag_mismatch=1 if mismatch else 0)
        response = ApiResponse.from_raw(raw, Source.UPSTREAM, request.key)
        negative = raw.status in NEGATIVE_STATUSES or (
            request.is_graphql and is_graphql_error(raw.body)
        )
        keep = storable_ttl(raw.status, ttl, self.settings.negative_ttl)
        if negative and 200 <= raw.status < 300:
            keep = min(ttl, self.settings.negative_ttl)
        if keep is None or until is not None:
            return response
        target = own if negative else request
        fresh = Entry(
            key=target.key,
            scope=target.scope,
            method=request.method,
            url=url,
            stored_at=now,
            ttl=keep,
            status=raw.status,
            headers=raw.headers,
            body=raw.body,
            reason=raw.reason,
            http_version=raw.http_version,
            access={who: now},
        )
        response.notice = self._write(fresh)
        if negative:
            self._forget_access(entry, who)
        elif own is not request:
            self.store.delete(own.key)  # a success replaces the caller's negative answer
        if response.notice is None and fresh.is_shared and 200 <= fresh.status < 300:
            self._announce(fresh)
        return response

    def _forget_access(self, entry: Entry | None, who: str) -> None:
        """GitHub just refused ``who`` this resource: its earlier confirmation is void."""
        if entry is not None and who in entry.access:
            access = {k: v for k, v in entry.access.items() if k != who}
            self._write(entry.replace(access=access))

    def _stale_or_raise(
        self, entry: Entry | None, now: float, options: Options, problem: str, who: str
    ) -> ApiResponse:
        if entry is not None and stale_usable(entry, now, options, who, self.settings.sharing):
            self.stats.add(stale_served=1)
            return ApiResponse.from_entry(
                entry, Source.STALE, Notice("stale", problem, entry.age(now))
            )
        raise UpstreamUnavailable(problem)

    def _write(self, entry: Entry) -> Notice | None:
        """Store ``entry``; a cache dir that cannot be written costs the caching, not the answer."""
        try:
            self.store.write(entry)
        except CacheDirError as exc:
            return Notice("not_cached", str(exc))
        return None

    def _pass_through(self, request: ApiRequest) -> ApiResponse:
        url = request.url
        try:
            raw = self._upstream.send(
                request.method,
                url,
                list(request.headers),
                request.body,
                authorize=self.is_api_url(url),
            )
        except UpstreamError as exc:
            raise UpstreamUnavailable(str(exc)) from None
        self.stats.add(upstream_requests=1)
        if request.method.upper() not in ("GET", "HEAD") and 200 <= raw.status < 300:
            self.invalidate(url)
        return ApiResponse.from_raw(raw, Source.PASSTHROUGH)

    def invalidate(self, url: str) -> int:
        """Drop stored entries for the resource at ``url``, what is below it and its collection."""
        path = ApiRequest.for_url("GET", url, self.host).path.strip("/")
        if not path or path == "graphql":
            return 0
        parent = path.rsplit("/", 1)[0] if "/" in path else path
        removed = 0
        for row in self.store.listing(detail=False)[0]:  # the index's URLs: no file is read
            stored_path = ApiRequest.for_url("GET", row.url, self.host).path.strip("/")
            if stored_path in (path, parent) or stored_path.startswith(path + "/"):
                removed += self.store.delete(row.key)
        return removed

    def _plugin_manager(self) -> Any:
        from ghcache.core.plugins import load_plugins

        return load_plugins()

    def _ask_peers(self, key: str, held: Entry | None) -> Entry | None:
        """A copy newer than ``held`` that a plugin (the p2p daemon) verified and stored."""
        try:
            found = self._plugin_manager().hook.lookup_entry(
                key=key, settings=self.settings, newer_than=held.stored_at if held else 0.0
            )
        except Exception:  # a broken plugin must not break a request
            return None
        if not found:
            return None
        entry = self.store.read(key)  # the plugin stored it; the store checks it once more
        if entry is None or not (entry.is_shared and 200 <= entry.status < 300):
            return None
        if held is not None and entry.stored_at <= held.stored_at:
            return None
        return entry

    def _announce(self, entry: Entry) -> None:
        try:
            self._plugin_manager().hook.entry_stored(entry=entry, settings=self.settings)
        except Exception:
            return
