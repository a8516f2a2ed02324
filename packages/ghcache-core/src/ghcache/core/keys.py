"""A request's canonical form and its cache key (a CIDv1 string).

The bytes and the key come from :mod:`ghcache.core.kernel.keys`, which the
CLI's hit path uses too; this module normalises the parts first.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import cached_property
from urllib.parse import urlencode

from ghcache.core.kernel import keys as kernel_keys
from ghcache.core.kernel.graphql import canonical_json_text
from ghcache.core.kernel.identity import SHARED_SCOPE

KEY_SCHEMA = kernel_keys.KEY_SCHEMA


@dataclass(frozen=True)
class CacheRequest:
    """What identifies a cacheable response; build it with :func:`make_request`."""

    base_url: str
    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    accept: str = ""
    api_version: str = ""
    body: str = ""
    scope: str = SHARED_SCOPE

    def canonical(self) -> bytes:
        # The fields in declaration order are the canonical array's members.
        return kernel_keys.canonical_bytes(*(getattr(self, name) for name in _FIELDS))

    @cached_property
    def key(self) -> str:
        # Computed once per request object (it is frozen): callers that keep requests
        # (GitHubAPICache's memo) look entries up without hashing again.
        return kernel_keys.cid_for_bytes(self.canonical())

    @property
    def url(self) -> str:
        url = self.base_url + self.path
        if self.query:
            url += "?" + urlencode(self.query)
        return url

    @property
    def is_graphql(self) -> bool:
        return self.method == "POST" and self.path == "graphql"

    def with_scope(self, scope: str) -> CacheRequest:
        return replace(self, scope=scope)


_FIELDS = tuple(field.name for field in fields(CacheRequest))


def make_request(
    base_url: str,
    method: str,
    path: str,
    query: list[tuple[str, str]] | tuple[tuple[str, str], ...] = (),
    *,
    accept: str | None = None,
    api_version: str | None = None,
    body: str | bytes | None = None,
    scope: str = SHARED_SCOPE,
) -> CacheRequest:
    """Normalise the parts of a request into its canonical :class:`CacheRequest`."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "surrogateescape")
    if body:
        body = canonical_json_text(body)
    return CacheRequest(
        base_url=kernel_keys.normalize_base(base_url),
        method=method.upper(),
        path=kernel_keys.normalize_path(path),
        query=tuple(sorted((str(k), str(v)) for k, v in query)),
        accept=(accept or "").strip(),
        api_version=(api_version or "").strip(),
        body=body or "",
        scope=scope,
    )
