"""Which responses depend on who asks, and the request that keys a call.

The identity table and fingerprint are :mod:`ghcache.core.kernel.identity`.
Identity-scoped responses are keyed to a fingerprint of the token and never
leave the machine; everything else is shared, served to other identities only
as :mod:`ghcache.core.kernel.serving` allows.
"""

from __future__ import annotations

from ghcache.core.entry import header_value
from ghcache.core.hosts import ApiHost
from ghcache.core.kernel.graphql import (
    graphql_operation,
    is_viewer_dependent,
    needs_identity_scope,
)
from ghcache.core.kernel.identity import (
    IDENTITY_PREFIX,
    IDENTITY_SCOPED_PATHS,
    SHARED_SCOPE,
    identity_fingerprint,
    identity_scope,
    is_identity_path,
)
from ghcache.core.keys import CacheRequest, make_request
from ghcache.core.request import ApiRequest

__all__ = [
    "IDENTITY_PREFIX",
    "IDENTITY_SCOPED_PATHS",
    "build_request",
    "graphql_operation",
    "identity_fingerprint",
    "is_identity_path",
    "is_viewer_dependent",
]


def build_request(
    request: ApiRequest, host: ApiHost, *, token: str | None = None, sharing: str = "verified"
) -> CacheRequest | None:
    """The cache request for an API call, or None when the call is not cacheable.

    Cacheable: GET and HEAD, and POSTs to the GraphQL endpoint that are queries.
    GraphQL has no conditional requests, so in ``verified`` (and ``off``) mode its
    answers are per identity; in ``team`` mode a query is shared unless a field of
    it depends on the viewer.
    """
    method = request.method.upper()
    headers = list(request.headers)
    text = request.body.decode("utf-8", "surrogateescape") if request.body else ""
    is_graphql = request.url.split("?", 1)[0].rstrip("/") == host.graphql_url.rstrip("/")
    if is_graphql and method == "POST":
        per_identity = needs_identity_scope(text, sharing)
        if per_identity is None:
            return None
        identity = per_identity
    elif method in ("GET", "HEAD") and not text:
        identity = is_identity_path(request.path)
    else:
        return None
    scope = identity_scope(token) if identity else SHARED_SCOPE
    return make_request(
        request.base,
        method,
        request.path,
        request.query_pairs(),
        accept=header_value(headers, "accept"),
        api_version=header_value(headers, "x-github-api-version"),
        body=text,
        scope=scope,
    )
