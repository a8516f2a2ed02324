"""Reading a request the way GitHub's edge does: its target (direct or HTTP-proxy form, with
or without the /api/v3 prefix), its token, and the media type its Accept header asks for;
plus the compact JSON and HTTP-date encodings every answer uses."""

from __future__ import annotations

import base64
import binascii
import email.utils
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def compact(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def http_date(stamp: float) -> str:
    return email.utils.formatdate(stamp, usegmt=True)


def parse_token(authorization: str | None) -> str | None:
    """The token of an Authorization header ("token X", "Bearer X" or Basic user:X)."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() in ("token", "bearer"):
        return value or ""
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return password or user
    return ""


@dataclass(frozen=True)
class Target:
    path: str  # decoded, without /api/v3 prefix
    query: str
    base: str  # REST base for URLs in bodies and Link headers
    proxied: bool
    host: str


def parse_target(raw: str, host_header: str | None, port: int) -> Target:
    if raw.startswith(("http://", "https://")):
        # Absolute form: we are being used as an HTTP proxy (HTTP_PROXY=...), so answer as
        # the host the client asked for and keep Link headers on that host.
        parts = urlsplit(raw)
        base, path, query, proxied = (
            f"{parts.scheme}://{parts.netloc}/",
            parts.path,
            parts.query,
            True,
        )
        host = parts.netloc
    else:
        path, _, query = raw.partition("?")
        host = host_header or ""
        if host.rsplit(":", 1)[0] not in LOOPBACK_HOSTS:
            host = f"127.0.0.1:{port}"  # never point clients at a host we are not
        base, proxied = f"http://{host}/", False
    path = unquote(path or "/")
    if path == "/api/graphql":
        path, base = "/graphql", base + "api/"
    elif path == "/api/v3" or path.startswith("/api/v3/"):
        path, base = path[len("/api/v3") :] or "/", base + "api/v3/"
    return Target(path, query, base, proxied, host)


_MEDIA = re.compile(
    r"application/vnd\.github(?:\.(?:v3|[a-z0-9-]+-preview))?(?:\.(raw|text|html|full))?"
)


def media_param(accept: str | None) -> str:
    """The body representation requested by Accept (application/vnd.github.v3.full+json, ...)."""
    for part in (accept or "").split(","):
        m = _MEDIA.match(part.strip().lower())
        if m is not None and m.group(1):
            return m.group(1)
    return ""


def resource_for(path: str) -> str:
    if path == "/graphql":
        return "graphql"
    if path.startswith("/search/"):
        return "search"
    return "core"
