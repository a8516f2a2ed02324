"""Turning a route's Reply into the bytes GitHub would send: ETags and conditional requests
(304s are not charged), and the cache, media-type, OAuth, rate-limit and security headers."""

from __future__ import annotations

import email.utils
import hashlib
from dataclasses import dataclass
from email.message import Message
from typing import Any

from ghcache.fakehub.http_parsing import compact, http_date, media_param
from ghcache.fakehub.limits import Bucket
from ghcache.fakehub.rest import Reply
from ghcache.fakehub.state import HubState

EXPOSED = (
    "ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, "
    "X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, "
    "X-Accepted-OAuth-Scopes, X-Poll-Interval, X-GitHub-Media-Type, X-GitHub-SSO, "
    "X-GitHub-Request-Id, Deprecation, Sunset"
)


def make_etag(request_headers: Any, body: bytes) -> str:
    """GitHub's rule as observed: SHA-256 over the values of the request's ``Accept``,
    ``Authorization`` and ``Cookie`` headers that are present, each followed by ``:``,
    then the body bytes as sent; served weak."""
    digest = hashlib.sha256()
    for name in ("Accept", "Authorization", "Cookie"):
        value = request_headers.get(name)
        if value is not None:
            digest.update(value.encode("latin-1", "replace") + b":")
    digest.update(body)
    return f'W/"{digest.hexdigest()}"'


def etag_matches(header: str, etag: str) -> bool:
    wanted = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


def not_modified_since(header: str, last_modified: int) -> bool:
    try:
        since = email.utils.parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError, IndexError):
        return False
    return last_modified <= since


@dataclass
class Outgoing:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class ResponseHeaders:
    """The response half of the request handler (mixed into Handler, which supplies the
    request attributes declared here)."""

    command: str
    path: str
    headers: Message
    request_id: str

    def respond(
        self,
        state: HubState,
        reply: Reply,
        bucket: Bucket,
        resource: str,
        token: str | None,
        login: str | None,
        now: float,
        *,
        charge: bool = False,
    ) -> Outgoing:
        """Serialise, apply conditional headers, charge the limit, and add GitHub's headers."""
        payload = compact(reply.body) if reply.body is not None else b""
        ok = 200 <= reply.status < 300
        etag = (
            make_etag(self.headers, payload)
            if ok and reply.etag and resource != "graphql"
            else None
        )
        status = reply.status
        if status == 200 and self.command in ("GET", "HEAD"):
            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            if inm is not None and etag is not None:
                if etag_matches(inm, etag):
                    status = 304
            elif (
                ims is not None
                and reply.last_modified is not None
                and not_modified_since(ims, reply.last_modified)
            ):
                status = 304
        if charge and status != 304:
            bucket.used += 1  # GitHub does not charge conditional requests answered 304

        headers: list[tuple[str, str]] = []
        if status != 304 and payload:
            headers.append(("Content-Type", "application/json; charset=utf-8"))
        authenticated = login is not None
        if (ok or status == 304) and resource != "graphql":
            default = "private" if authenticated else "public"
            headers.append(
                ("Cache-Control", reply.cache_control or f"{default}, max-age=60, s-maxage=60")
            )
            vary = "Accept, Authorization, Cookie, X-GitHub-OTP"
            headers.append(("Vary", vary if authenticated else "Accept, Accept-Encoding"))
        if etag is not None:
            headers.append(("ETag", etag))
        if reply.last_modified is not None and (ok or status == 304):
            headers.append(("Last-Modified", http_date(reply.last_modified)))
        headers.extend(reply.headers)
        if authenticated:
            headers.append(("X-OAuth-Scopes", "gist, read:org, repo, workflow"))
            headers.append(("X-Accepted-OAuth-Scopes", "repo" if "/repos/" in self.path else ""))
        if resource == "graphql":
            media = "github.v4; format=json"
        else:
            param = media_param(self.headers.get("Accept"))
            media = f"github.v3; param={param}; format=json" if param else "github.v3; format=json"
        headers.append(("X-GitHub-Media-Type", media))
        headers.append(("X-GitHub-Api-Version-Selected", "2022-11-28"))
        headers.extend(bucket.headers(resource))
        headers += [
            ("Access-Control-Expose-Headers", EXPOSED),
            ("Access-Control-Allow-Origin", "*"),
            ("Strict-Transport-Security", "max-age=31536000; includeSubdomains; preload"),
            ("X-Frame-Options", "deny"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-XSS-Protection", "0"),
            ("Referrer-Policy", "origin-when-cross-origin, strict-origin-when-cross-origin"),
            ("Content-Security-Policy", "default-src 'none'"),
            ("X-GitHub-Request-Id", self.request_id),
        ]
        return Outgoing(status, headers, b"" if status == 304 else payload)
