"""The HTTP leg to GitHub, with httpx: one request in, one raw response out.

Nothing here knows about caching; :mod:`ghcache.core.client` decides what to
send and what to keep.  Proxies come from the environment (``HTTP_PROXY``,
``HTTPS_PROXY``, ``NO_PROXY``) as gh honours them.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from ghcache.core import __version__

USER_AGENT = f"ghcache/{__version__}"
# What `gh api` sends when the caller gives no Accept (gh 2.23: an empty value, which
# GitHub answers with its default media type).  GitHub's ETag covers the Accept value,
# so sending gh's makes our answers, ETags included, byte-identical to gh's.
DEFAULT_ACCEPT = ""
# Headers that describe the transfer, not the resource: httpx already decoded
# the body, so keeping them would misdescribe what is stored.
_TRANSFER_HEADERS = {"transfer-encoding", "connection", "keep-alive"}
_ENCODING_HEADERS = {"content-encoding", "content-length"}


class UpstreamError(Exception):
    """GitHub could not be reached or did not answer (message has no secrets)."""


@dataclass
class RawResponse:
    status: int
    reason: str
    http_version: str
    headers: list[tuple[str, str]]
    body: bytes


class Upstream:
    def __init__(
        self,
        token: str | None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._token = token
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=10.0),
            follow_redirects=True,
            trust_env=True,
            transport=transport,
        )

    def request_headers(
        self, headers: list[tuple[str, str]], body: bytes | None, *, authorize: bool = True
    ) -> list[tuple[str, str]]:
        """The headers :meth:`send` puts on the wire (the caller computes validators from them)."""
        names = {name.lower() for name, _ in headers}
        final = list(headers)
        if "accept" not in names:
            final.append(("Accept", DEFAULT_ACCEPT))
        if "user-agent" not in names:
            final.append(("User-Agent", USER_AGENT))
        if authorize and self._token and "authorization" not in names:
            final.append(("Authorization", f"token {self._token}"))
        if body is not None and "content-type" not in names:
            final.append(("Content-Type", "application/json; charset=utf-8"))
        return final

    def send(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        *,
        authorize: bool = True,
    ) -> RawResponse:
        """One request; the token is attached only when ``authorize`` (the URL is the API's)."""
        final = self.request_headers(headers, body, authorize=authorize)
        try:
            response = self._client.request(method, url, headers=final, content=body)
        except httpx.TimeoutException:
            raise UpstreamError(f"timed out waiting for {httpx.URL(url).host}") from None
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"error connecting to {httpx.URL(url).host}: {type(exc).__name__}"
            ) from None
        decoded = "content-encoding" in response.headers
        kept = []
        for raw_name, raw_value in response.headers.raw:
            name = raw_name.decode("latin-1")
            lowered = name.lower()
            if lowered in _TRANSFER_HEADERS or (decoded and lowered in _ENCODING_HEADERS):
                continue
            kept.append((name, raw_value.decode("latin-1")))
        return RawResponse(
            status=response.status_code,
            reason=response.reason_phrase,
            http_version=response.http_version,
            headers=kept,
            body=response.content,
        )

    def close(self) -> None:
        self._client.close()
