"""The documented Python API: ``GitHubAPICache`` and ``get_global_cache()``.

``cache.get("gh_api", "repos/o/r", ())`` reads the same entry that
``ghcache api repos/o/r`` stores, so scripts and the CLI share one cache.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ghcache.core.config import Settings
from ghcache.core.entry import Entry, decode_json
from ghcache.core.hosts import ApiHost, resolve_host, token_from_env
from ghcache.core.kernel import serving
from ghcache.core.kernel.identity import identity_fingerprint
from ghcache.core.kernel.settings import SHARING_MODES, parse_choice, raw_setting
from ghcache.core.keys import CacheRequest
from ghcache.core.request import ApiRequest
from ghcache.core.scope import build_request
from ghcache.core.stats import summarize
from ghcache.core.store import CacheDirError, DiskStore, ensure_cache_dir

DEFAULT_NAMESPACE = "gh_api"
# Request keys remembered per environment; a script's working set of endpoints fits.
MEMO_REQUESTS = 4096


class _Environment:
    """What one environment decides for the cache: the host, the token, the identity and,
    as they are asked for, the requests (the key of each ``(namespace, endpoint, args)``)."""

    __slots__ = ("host", "identity", "requests", "snapshot", "token")

    def __init__(self, env: Mapping[str, str] | None, snapshot: Mapping[Any, Any]) -> None:
        self.snapshot = dict(snapshot)
        self.host: ApiHost = resolve_host(None, env)
        self.token = token_from_env(self.host, env)[0]
        self.identity = identity_fingerprint(self.token)
        self.requests: dict[tuple[str, str, tuple[str, ...]], CacheRequest] = {}


def _variables(env: Mapping[str, str] | None) -> Mapping[Any, Any]:
    """The environment's variables, cheap to compare with a copy taken earlier.

    ``os.environ`` decodes each key it is asked for and raises KeyError inside for each
    missing one (~1.5 us a variable); its ``_data`` dict compares in one C call.
    """
    if env is None:
        return getattr(os.environ, "_data", os.environ)
    return env


class GitHubAPICache:
    """The cache as a library: ``get``/``put``/``get_stale`` on the same entries the CLI uses.

    ``enable_p2p``, ``p2p_listen_port`` and ``bootstrap_peers`` are the documented
    constructor's arguments and are kept as attributes for callers that read them,
    but sharing is the daemon's job (``ghcache daemon``, configured by its own
    ``CACHE_*`` variables): this object neither listens nor dials.
    """

    def __init__(
        self,
        cache_dir: str | Path | None = None,
        enable_p2p: bool = True,
        p2p_listen_port: int = 9100,
        default_ttl: int = 300,
        *,
        max_bytes: int | None = None,
        max_stale: int | None = None,
        bootstrap_peers: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        if not default_ttl >= 0:  # also NaN: an entry with such a TTL reads as corrupt
            raise ValueError(f"default_ttl must not be negative, got {default_ttl}")
        defaults = Settings.from_env({})
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else defaults.cache_dir
        self.enable_p2p = enable_p2p
        self.p2p_listen_port = p2p_listen_port
        self.default_ttl = default_ttl
        self.max_stale = defaults.max_stale if max_stale is None else max_stale
        self.bootstrap_peers = tuple(bootstrap_peers)
        sharing, _ = raw_setting(os.environ if env is None else env, "CACHE_SHARING")
        self.sharing = parse_choice("CACHE_SHARING", sharing, SHARING_MODES)
        self._env = env
        ensure_cache_dir(self.cache_dir)
        self.store = DiskStore(self.cache_dir, max_bytes=max_bytes or defaults.max_bytes)
        self._lock = threading.Lock()
        self._environment = _Environment(env, _variables(env))

    def __repr__(self) -> str:
        return f"GitHubAPICache(cache_dir={str(self.cache_dir)!r}, default_ttl={self.default_ttl})"

    def request_for(self, namespace: str, endpoint: str, args: Sequence[Any] = ()) -> CacheRequest:
        """The cache request for a ``(namespace, endpoint, args)`` triple.

        The plain ``("gh_api", endpoint, ())`` form is keyed exactly like a GET of
        that endpoint; other namespaces and arguments become part of the key.  Requests
        are remembered while the environment (host, token) stays the same.
        """
        return self._request(self._current_environment(), namespace, endpoint, args)

    def _request(
        self, environment: _Environment, namespace: str, endpoint: str, args: Sequence[Any]
    ) -> CacheRequest:
        memo = (namespace, endpoint, tuple([str(a) for a in args]) if args else ())
        request = environment.requests.get(memo)
        if request is None:
            request = self._make_request(environment, namespace, endpoint, memo[2])
            if len(environment.requests) >= MEMO_REQUESTS:
                environment.requests.clear()  # rare: a script sweeping many endpoints
            environment.requests[memo] = request
        return request

    def _current_environment(self) -> _Environment:
        environment = self._environment
        variables = _variables(self._env)
        if variables != environment.snapshot:
            environment = self._environment = _Environment(self._env, variables)
        return environment

    @staticmethod
    def _make_request(
        environment: _Environment, namespace: str, endpoint: str, args: tuple[str, ...]
    ) -> CacheRequest:
        host = environment.host
        url = endpoint if "://" in endpoint else host.rest_url + endpoint.lstrip("/")
        request = build_request(ApiRequest.for_url("GET", url, host), host, token=environment.token)
        if request is None:  # pragma: no cover - GET is always cacheable
            raise ValueError(f"cannot cache {endpoint!r}")
        if namespace != DEFAULT_NAMESPACE or args:
            extra = json.dumps({"namespace": namespace, "args": list(args)})
            request = CacheRequest(
                base_url=request.base_url,
                method=request.method,
                path=request.path,
                query=request.query,
                body=extra,
                scope=request.scope,
            )
        return request

    def put(
        self,
        namespace: str,
        data: Any,
        endpoint: str,
        args: Sequence[Any] = (),
        ttl: float | None = None,
    ) -> str:
        """Store JSON-serialisable ``data``; returns the entry's key."""
        if ttl is not None and not ttl >= 0:  # an entry with a negative TTL reads as corrupt
            raise ValueError(f"ttl must not be negative, got {ttl}")
        request = self.request_for(namespace, endpoint, args)
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        now = time.time()
        entry = Entry(
            key=request.key,
            scope=request.scope,
            method="GET",
            url=request.url,
            stored_at=now,
            ttl=self.default_ttl if ttl is None else ttl,
            status=200,
            headers=[("Content-Type", "application/json; charset=utf-8")],
            body=body,
            data=data,
            access={self.identity(): now},
        )
        self.store.write(entry)
        return entry.key

    def identity(self) -> str:
        """The fingerprint of the environment's token: whose answers ``get`` may return."""
        return self._current_environment().identity

    def get(self, namespace: str, endpoint: str, args: Sequence[Any] = ()) -> Any:
        """Fresh data for the triple that this identity may see (``CACHE_SHARING``), or None.

        The data is decoded from the stored body on each call: a new object the caller
        may change.
        """
        environment = self._current_environment()
        found = self.store.read_body(self._request(environment, namespace, endpoint, args).key)
        if found is not None and serving.serves_fresh(
            found[0], environment.identity, self.sharing, time.time(), None
        ):
            self._count(hit=True)
            return decode_json(found[1])  # what Entry.data gives, without building the Entry
        self._count(hit=False)
        return None

    def get_stale(self, namespace: str, endpoint: str, args: Sequence[Any] = ()) -> Any:
        """Any stored data for the triple, fresh or not, within the max-stale bound."""
        entry = self._read(namespace, endpoint, args)
        since = None if entry is None else serving.shown_at(entry, self.identity(), self.sharing)
        if entry is None or since is None or time.time() - since > entry.ttl + self.max_stale:
            return None
        return entry.data

    def stats(self) -> dict[str, Any]:
        summary = summarize(self.store.stats.read())
        summary["entries"], summary["bytes"] = self.store.disk_usage()
        return summary

    def _read(self, namespace: str, endpoint: str, args: Sequence[Any]) -> Entry | None:
        return self.store.read(self.request_for(namespace, endpoint, args).key)

    @property
    def hits(self) -> int:
        """Fresh answers from this cache directory, all processes and all time (``stats.json``)."""
        return self.store.stats.read()["hits"]

    @property
    def misses(self) -> int:
        """Lookups this cache directory could not answer, all processes and all time."""
        return self.store.stats.read()["misses"]

    def _count(self, *, hit: bool) -> None:
        # Batched (stats.Stats.add_soon): a locked update of stats.json per get cost more
        # than the rest of a hit.  ``hits``, ``misses`` and ``stats()`` see them at once.
        if hit:
            self.store.stats.add_soon(hits=1)
        else:
            self.store.stats.add_soon(misses=1)


_global: GitHubAPICache | None = None
_global_lock = threading.Lock()


def get_global_cache() -> GitHubAPICache:
    """The process-wide cache configured from the environment (raises ConfigError on bad values)."""
    global _global
    with _global_lock:
        if _global is None:
            settings = Settings.from_env()
            try:
                _global = GitHubAPICache(
                    cache_dir=settings.cache_dir,
                    default_ttl=settings.default_ttl,
                    max_bytes=settings.max_bytes,
                    max_stale=settings.max_stale,
                )
            except CacheDirError as exc:
                if settings.sources["CACHE_DIR"] == "env":
                    raise CacheDirError(f"CACHE_DIR: {exc}") from None
                raise CacheDirError(f"{exc} (the default; set CACHE_DIR to use another)") from None
        return _global
