"""What a client asked for: the request target read as GitHub's edge reads it, in the
github.com layout (``/repos/...``, ``/graphql``) or the Enterprise one (``/api/v3/...``,
``/api/graphql``), and the URL upstream it stands for."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from ghcache.core.hosts import ApiHost
from ghcache.core.kernel.keys import normalize_path
from ghcache.proxy.responses import Refusal

# gh talks plain HTTP to this host only (GH_HOST=github.localhost), through HTTP_PROXY:
# requests for it arrive in absolute form and are served like any other.
GH_LOCAL_API_HOST = "api.github.localhost"
ENTERPRISE_REST = "api/v3"
ENTERPRISE_GRAPHQL = "api/graphql"


@dataclass(frozen=True)
class Target:
    url: str  # upstream: below the API host's REST base, or its GraphQL URL
    path: str  # below the API base, no leading slash ("repos/o/r", "graphql")
    client_base: str  # the base the client used, for Links: "http://127.0.0.1:9180/api/v3/"
    is_graphql: bool
    # False for a path of an intercepted Enterprise host outside its API (git over HTTPS,
    # the web): streamed to that host untouched, never cached.
    is_api: bool = True


def is_loopback_name(host: str) -> bool:
    """``localhost``, ``*.localhost``, 127.0.0.0/8 or ``[::1]``, with or without a port."""
    name = host.lower()
    if name.startswith("["):
        name = name[1:].split("]", 1)[0]
    elif name.count(":") == 1:
        name = name.rsplit(":", 1)[0]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def intercepted_origin(host_header: str | None, intercepted: tuple[str, int]) -> str:
    """``https://HOST/`` for a request inside a CONNECT tunnel to ``intercepted``, whose
    ``Host`` must name that host (the TLS certificate it was given names no other)."""
    host, port = intercepted
    try:
        parts = urlsplit("//" + (host_header or "").strip())
        same = (parts.hostname or "") == host and (parts.port or 443) == port
    except ValueError:
        same = False
    if not same:
        raise Refusal(421, f"Host {host_header!r} is not {host}, the host this tunnel is for")
    return f"https://{host}/" if port == 443 else f"https://{host}:{port}/"


def _printable(raw: bytes) -> bool:
    return all(0x21 <= byte <= 0x7E for byte in raw)


def parse_target(
    raw_path: bytes,
    query: bytes,
    host_header: str | None,
    api: ApiHost,
    *,
    loopback_only: bool,
    intercepted: tuple[str, int] | None = None,
) -> Target:
    """The target of one request; :class:`Refusal` for one the proxy does not serve.

    ``intercepted``: the request came decrypted from the forward proxy's ``CONNECT`` to
    this (host, port), the API host; its origin-form target is on that host."""
    if not raw_path or not _printable(raw_path) or (query and not _printable(query)):
        raise Refusal(400, "the request target must be printable ASCII")
    text = raw_path.decode("ascii")
    if text.startswith(("http://", "https://")):
        # Absolute form: a client using us as its HTTP proxy for gh's local API host.
        parts = urlsplit(text)
        if (parts.hostname or "") != GH_LOCAL_API_HOST and not is_loopback_name(parts.netloc):
            raise Refusal(400, f"this proxy serves the GitHub API only, not {parts.netloc or text}")
        origin, path = f"{parts.scheme}://{parts.netloc}/", parts.path or "/"
    elif text.startswith("/") and intercepted is not None:
        origin = intercepted_origin(host_header, intercepted)
        if api.is_enterprise and not text.startswith("/api/"):
            qs = "?" + query.decode("ascii") if query else ""
            return Target(origin + text[1:] + qs, text[1:], origin, False, is_api=False)
        path = text
    elif text.startswith("/"):
        authority = (host_header or "").strip()
        if not authority or not _printable(authority.encode("latin-1", "replace")):
            raise Refusal(400, "a Host header is required")
        # A page in a browser can reach a loopback port under a name it controls (DNS
        # rebinding); a proxy bound to loopback answers only to loopback names.
        if loopback_only and not is_loopback_name(authority):
            raise Refusal(421, f"Host {authority!r} is not a name of this proxy")
        origin, path = f"http://{authority}/", text
    else:
        raise Refusal(400, "the request target must be a path")
    below = normalize_path(path)
    qs = "?" + query.decode("ascii") if query else ""
    if below in ("graphql", ENTERPRISE_GRAPHQL):
        base = origin + ("api/" if below == ENTERPRISE_GRAPHQL else "")
        return Target(api.graphql_url + qs, "graphql", base, True)
    if below == ENTERPRISE_REST or below.startswith(ENTERPRISE_REST + "/"):
        below = below[len(ENTERPRISE_REST) :].lstrip("/")
        origin += ENTERPRISE_REST + "/"
    return Target(api.rest_url + below + qs, below, origin, False)
