"""What a client is sent: GitHub's status, headers and body, with the proxy's changes
and nothing else.

Changes: ``Link`` and ``Location`` point back through the proxy, and so do the API URLs
in a JSON body (``"url": "https://api.github.com/repos/o/r"``: PyGithub and octokit follow
them, and PyGithub refuses a URL on another host than its base URL), at serving time only:
entries keep GitHub's bytes, so ``ghcache api`` prints what GitHub sent; ``X-RateLimit-*`` on
an answer GitHub did not just send are what is known now (:mod:`ghcache.proxy.ratelimits`);
``X-Ghcache`` says what happened (and ``X-Ghcache-Notice`` why a stale answer stood in);
``Access-Control-*`` are dropped, so that a web page cannot read a local cache through
a browser; hop-by-hop headers and a stale ``Content-Length`` are replaced.
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from ghcache.core.answers import Source
from ghcache.proxy.ratelimits import HEADER_PREFIX

Send = Callable[[dict[str, Any]], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

OUTCOMES = {
    Source.CACHE: "hit",
    Source.PEER: "peer",
    Source.CONFIRMED: "confirmed",
    Source.REVALIDATED: "revalidated",
    Source.STALE: "stale",
    Source.UPSTREAM: "miss",
    Source.PASSTHROUGH: "bypass",
}


class Refusal(Exception):
    """A request the proxy answers itself with an error; ``status`` is its HTTP status."""

    def __init__(self, status: int, message: str, headers: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers or []


ERROR = "error"  # an answer the proxy made itself (bad request, GitHub unreachable)
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
# Never in a 304 (RFC 9110 15.4.5: it describes no content).
_CONTENT = {"content-length", "content-type", "content-encoding"}


def rewrite_url(name: str, value: str, api_base: str, client_base: str) -> str:
    """A ``link`` or ``location`` value on the API host, moved under the base the client used."""
    if name == "link":
        return value.replace("<" + api_base, "<" + client_base)
    if value.startswith(api_base):
        return client_base + value[len(api_base) :]
    return value


def rewrite_body(body: bytes, content_type: str | None, api_base: str, client_base: str) -> bytes:
    """A JSON body with each string that starts with the API's base URL moved under the
    base the client used (GitHub's JSON never escapes ``/``)."""
    if not body or content_type is None or "json" not in content_type.lower():
        return body
    needle = b'"' + api_base.encode()
    if needle not in body:
        return body
    return body.replace(needle, b'"' + client_base.encode())


def shaped(
    headers: Iterable[tuple[str, str]],
    *,
    api_base: str,
    client_base: str,
    rate_limit: list[tuple[str, str]] | None,
    outcome: str,
    notice: str | None = None,
    keep_length: bool = False,
) -> list[tuple[str, str]]:
    """GitHub's headers for the client; ``rate_limit`` replaces ``X-RateLimit-*`` unless None
    (an answer GitHub just sent keeps its own); ``keep_length`` keeps ``Content-Length``
    (a streamed body, or a HEAD)."""
    out: list[tuple[str, str]] = []
    for name, value in headers:
        lowered = name.lower()
        if (
            lowered in HOP_BY_HOP
            or lowered.startswith(("access-control-", "x-ghcache"))
            or (lowered == "content-length" and not keep_length)
            or (rate_limit is not None and lowered.startswith(HEADER_PREFIX))
        ):
            continue
        if lowered in ("link", "location"):
            value = rewrite_url(lowered, value, api_base, client_base)
        out.append((name, value))
    out += rate_limit or []
    out.append(("X-Ghcache", outcome))
    if notice:
        out.append(("X-Ghcache-Notice", one_line(notice)))
    return out


def one_line(text: str) -> str:
    return "".join(c if " " <= c <= "~" else "?" for c in text)[:500]


def header_map(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Header values by lower-case name, repeated ones joined (RFC 9110 5.3)."""
    fields: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        fields[key] = f"{fields[key]}, {value}" if key in fields else value
    return fields


def header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    values = [value for key, value in headers if key.lower() == name]
    return ", ".join(values) if values else None


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def not_modified(request: dict[str, str], status: int, response: list[tuple[str, str]]) -> bool:
    """Whether the client already holds this answer: its ``If-None-Match`` names the ETag
    (weak comparison), or without one, ``If-Modified-Since`` is not before ``Last-Modified``."""
    if status != 200:
        return False
    tags = request.get("if-none-match")
    if tags is not None:
        etag = header(response, "etag")
        wanted = {_opaque(tag) for tag in tags.split(",")}
        return "*" in wanted or (etag is not None and _opaque(etag) in wanted)
    since, modified = request.get("if-modified-since"), header(response, "last-modified")
    if since is None or modified is None:
        return False
    try:
        return email.utils.parsedate_to_datetime(modified) <= email.utils.parsedate_to_datetime(
            since
        )
    except (TypeError, ValueError):
        return False


def without_content(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers if name.lower() not in _CONTENT]


def encoded(headers: Iterable[tuple[str, str]]) -> Headers:
    return [(name.encode("latin-1"), value.encode("latin-1", "replace")) for name, value in headers]


async def send_whole(send: Send, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": encoded(headers)})
    await send({"type": "http.response.body", "body": body})


def error_answer(
    message: str, extra: Iterable[tuple[str, str]] = ()
) -> tuple[list[tuple[str, str]], bytes]:
    """GitHub's error shape, so clients show the message as they show GitHub's."""
    body = json.dumps({"message": f"ghcache proxy: {message}"}).encode()
    headers = [
        ("Content-Type", "application/json; charset=utf-8"),
        ("Content-Length", str(len(body))),
        *extra,
        ("X-Ghcache", ERROR),
    ]
    return headers, body
