"""Which responses depend on who asks, and the request that keys a call.

Identity-scoped responses are keyed to a fingerprint of the token (never the
token itself) and never leave the machine; everything else is shared.
Standard library only: the CLI's hit path uses :func:`build_request`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from urllib.parse import parse_qsl, urlsplit

from ghcache.core.entry import SHARED_SCOPE
from ghcache.core.hosts import ApiHost
from ghcache.core.keys import CacheRequest, make_request

# REST paths whose answer depends on the token: (pattern, why).  A pattern
# ending in "/" matches the path and everything below it.
IDENTITY_SCOPED_PATHS: tuple[tuple[str, str], ...] = (
    ("user", "the authenticated user"),
    ("user/", "the authenticated user's resources (repos, orgs, emails, keys, ...)"),
    ("notifications", "the user's notifications"),
    ("notifications/", "the user's notification threads"),
    ("issues", "issues assigned to the authenticated user"),
    ("rate_limit", "the token's own rate limit"),
    ("installation/", "the installation token's repositories"),
    ("app", "the authenticated GitHub App"),
    ("app/", "the authenticated GitHub App's resources"),
)
# GraphQL queries that mention the viewer answer for the token's user.
_GRAPHQL_VIEWER = re.compile(r"\bviewer\b")
_GRAPHQL_OPERATION = re.compile(r"^\s*(?:#[^\n]*\n\s*)*(\w+)?")

IDENTITY_PREFIX = "identity:"
_FINGERPRINT_LABEL = b"ghcache/identity/v1"


def identity_fingerprint(token: str | None) -> str:
    """A one-way, stable name for the token's identity (never the token)."""
    if not token:
        return "anonymous"
    digest = hmac.new(_FINGERPRINT_LABEL, token.encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()[:32]


def is_identity_path(path: str) -> bool:
    path = path.strip("/")
    for pattern, _ in IDENTITY_SCOPED_PATHS:
        if pattern.endswith("/") and (path + "/").startswith(pattern):
            return True
        if path == pattern:
            return True
    return False


def graphql_operation(body: str) -> str | None:
    """'query', 'mutation' or 'subscription' for a GraphQL JSON body; None if unreadable."""
    try:
        payload = json.loads(body)
        query = payload["query"]
    except (ValueError, KeyError, TypeError, RecursionError):
        return None
    if not isinstance(query, str):
        return None
    match = _GRAPHQL_OPERATION.match(query)
    word = match.group(1) if match else None
    if word is None:
        return "query" if query.lstrip().startswith("{") else None
    return word if word in ("query", "mutation", "subscription") else None


def build_request(
    method: str,
    url: str,
    host: ApiHost,
    *,
    accept: str | None = None,
    api_version: str | None = None,
    body: bytes | None = None,
    token: str | None = None,
) -> CacheRequest | None:
    """The cache request for an API call, or None when the call is not cacheable.

    Cacheable: GET and HEAD, and POSTs to the GraphQL endpoint that are queries.
    """
    method = method.upper()
    base, path, query = split_url(url, host)
    text = body.decode("utf-8", "surrogateescape") if body else ""
    is_graphql = url.split("?", 1)[0].rstrip("/") == host.graphql_url.rstrip("/")
    if is_graphql and method == "POST":
        if graphql_operation(text) != "query":
            return None
        identity = bool(_GRAPHQL_VIEWER.search(text))
    elif method in ("GET", "HEAD") and not text:
        identity = is_identity_path(path)
    else:
        return None
    scope = IDENTITY_PREFIX + identity_fingerprint(token) if identity else SHARED_SCOPE
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
    """(base URL, path below it, query pairs) for a full API URL."""
    parts = urlsplit(url)
    full_path = parts.path
    origin = f"{parts.scheme}://{parts.netloc}"
    for base in (host.rest_url, host.graphql_url.rsplit("/", 1)[0] + "/"):
        base_parts = urlsplit(base)
        if f"{base_parts.scheme}://{base_parts.netloc}".lower() == origin.lower() and (
            full_path.startswith(base_parts.path)
        ):
            return base, full_path[len(base_parts.path) :], parse_qsl(parts.query, True)
    return origin + "/", full_path.lstrip("/"), parse_qsl(parts.query, True)
