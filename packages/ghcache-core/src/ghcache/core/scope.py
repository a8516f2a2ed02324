"""Which responses depend on who asks, and the request that keys a call.

The identity table and fingerprint are :mod:`ghcache.core.kernel.identity`.
Identity-scoped responses are keyed to a fingerprint of the token and never
leave the machine; everything else is shared, served to other identities only
as :mod:`ghcache.core.kernel.serving` allows.
"""

from __future__ import annotations

import json
import re

from ghcache.core.entry import header_value
from ghcache.core.hosts import ApiHost
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
]

# A GraphQL field whose value depends on who asks: ``viewer`` and every ``viewer…`` field.
_VIEWER_FIELD = re.compile(r"\bviewer\w*")
# Operation keywords at the start of a definition; anonymous ``{ ... }`` is a query.
_DEFINITION = re.compile(r"(?:^|})\s*(query|mutation|subscription|fragment)\b")
_COMMENT = re.compile(r"#[^\n]*")
_STRING = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"')


def graphql_operation(body: str) -> str | None:
    """'query' when a GraphQL JSON body holds only queries (and fragments); 'mutation' or
    'subscription' when any definition is one, whatever ``operationName`` selects;
    None if unreadable."""
    try:
        payload = json.loads(body)
        query = payload["query"]
    except (ValueError, KeyError, TypeError, RecursionError):
        return None
    if not isinstance(query, str):
        return None
    text = _COMMENT.sub(" ", _STRING.sub('""', query))
    if not text.strip():
        return None
    kinds = set(_DEFINITION.findall(text))
    if "mutation" in kinds:
        return "mutation"
    if "subscription" in kinds:
        return "subscription"
    stripped = text.lstrip()
    if kinds <= {"query", "fragment"} and (stripped.startswith("{") or "query" in kinds):
        return "query"
    return None


def is_viewer_dependent(body: str) -> bool:
    """Whether a GraphQL query asks for ``viewer`` or any ``viewer…`` field."""
    return bool(_VIEWER_FIELD.search(body))


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
        if graphql_operation(text) != "query":
            return None
        identity = sharing != "team" or is_viewer_dependent(text)
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
