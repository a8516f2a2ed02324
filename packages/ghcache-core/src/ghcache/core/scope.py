"""Which responses depend on who asks, and the request that keys a call.

The identity table and fingerprint are :mod:`ghcache.core.kernel.identity`.
Identity-scoped responses are keyed to a fingerprint of the token and never
leave the machine; everything else is shared, served to other identities only
as :mod:`ghcache.core.kernel.serving` allows.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from ghcache.core.hosts import ApiHost
from ghcache.core.kernel.identity import (
    IDENTITY_PREFIX,
    IDENTITY_SCOPED_PATHS,
    SHARED_SCOPE,
    identity_fingerprint,
    identity_scope,
    is_identity_path,
)
from ghcache.core.kernel.keys import normalize_path
from ghcache.core.keys import CacheRequest, make_request

__all__ = [
    "IDENTITY_PREFIX",
    "IDENTITY_SCOPED_PATHS",
    "build_request",
    "graphql_operation",
    "identity_fingerprint",
    "is_identity_path",
    "split_url",
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
    method: str,
    url: str,
    host: ApiHost,
    *,
    accept: str | None = None,
    api_version: str | None = None,
    body: bytes | None = None,
    token: str | None = None,
    sharing: str = "verified",
) -> CacheRequest | None:
    """The cache request for an API call, or None when the call is not cacheable.

    Cacheable: GET and HEAD, and POSTs to the GraphQL endpoint that are queries.
    GraphQL has no conditional requests, so in ``verified`` (and ``off``) mode its
    answers are per identity; in ``team`` mode a query is shared unless a field of
    it depends on the viewer.
    """
    method = method.upper()
    base, path, query = split_url(url, host)
    text = body.decode("utf-8", "surrogateescape") if body else ""
    is_graphql = url.split("?", 1)[0].rstrip("/") == host.graphql_url.rstrip("/")
    if is_graphql and method == "POST":
        if graphql_operation(text) != "query":
            return None
        identity = sharing != "team" or is_viewer_dependent(text)
    elif method in ("GET", "HEAD") and not text:
        identity = is_identity_path(path)
    else:
        return None
    scope = identity_scope(token) if identity else SHARED_SCOPE
    return make_request(
        base,
        method,
        path,
        query,
        accept=accept,
        api_version=api_version,
        body=text,
        scope=scope,
    )


def split_url(url: str, host: ApiHost) -> tuple[str, str, list[tuple[str, str]]]:
    """(base URL, normalised path below it, query pairs) for a full API URL."""
    parts = urlsplit(url)
    full_path = "/" + normalize_path(parts.path)
    origin = f"{parts.scheme}://{parts.netloc}"
    for base in (host.rest_url, host.graphql_url.rsplit("/", 1)[0] + "/"):
        base_parts = urlsplit(base)
        if f"{base_parts.scheme}://{base_parts.netloc}".lower() == origin.lower() and (
            full_path.startswith(base_parts.path)
        ):
            return base, full_path[len(base_parts.path) :], parse_qsl(parts.query, True)
    return origin + "/", full_path.lstrip("/"), parse_qsl(parts.query, True)


def normalize_url(url: str) -> str:
    """``url`` with dot segments (also percent-encoded ones) resolved: what is keyed,
    scoped and sent is the same path."""
    parts = urlsplit(url)
    path = "/" + normalize_path(parts.path)
    if path == parts.path:
        return url
    return urlunsplit(parts._replace(path=path))
