"""A request's canonical form and its cache key (a CIDv1 string).

The canonical form is a JSON array, so no two different requests can encode
to the same bytes (``("a:b",)`` never equals ``("a", "b")``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode

from ghcache.core.cid import cid_for_bytes
from ghcache.core.entry import SHARED_SCOPE

KEY_SCHEMA = "ghcache-key-v1"


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
        parts = [
            KEY_SCHEMA,
            self.base_url,
            self.method,
            self.path,
            [list(pair) for pair in self.query],
            self.accept,
            self.api_version,
            self.body,
            self.scope,
        ]
        text = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
        # surrogatepass: text decoded from non-UTF-8 bytes (argv, a Latin-1 body) holds
        # lone surrogates; strict UTF-8 cannot encode them.  Still injective, and the
        # same bytes as plain UTF-8 for every other string.
        return text.encode("utf-8", "surrogatepass")

    @property
    def key(self) -> str:
        return cid_for_bytes(self.canonical())

    @property
    def url(self) -> str:
        url = self.base_url + self.path
        if self.query:
            url += "?" + urlencode(self.query)
        return url


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
    if not base_url.endswith("/"):
        base_url += "/"
    scheme, sep, rest = base_url.partition("://")
    host, slash, tail = rest.partition("/")
    base_url = f"{scheme.lower()}{sep}{host.lower()}{slash}{tail}"
    if isinstance(body, bytes):
        body = body.decode("utf-8", "surrogateescape")
    if body:
        body = canonical_json_text(body)
    return CacheRequest(
        base_url=base_url,
        method=method.upper(),
        path=path.lstrip("/"),
        query=tuple(sorted((str(k), str(v)) for k, v in query)),
        accept=(accept or "").strip(),
        api_version=(api_version or "").strip(),
        body=body or "",
        scope=scope,
    )


def canonical_json_text(text: str) -> str:
    """JSON text with sorted keys and no whitespace; other text unchanged."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested too deep to be a query
        return text
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
