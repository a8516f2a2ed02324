"""What is never cached goes through as a stream: mutations, uploads, downloads.

The request body flows to GitHub as the client sends it and the answer flows back
as GitHub sends it (still compressed, if it was), so a large upload or download
never sits in memory.  A successful mutation then drops what the cache holds for
the resource it changed (core's rule, as ``ghcache api -X PATCH`` does).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from ghcache.proxy.ratelimits import RateLimitView
from ghcache.proxy.responses import (
    HOP_BY_HOP,
    Refusal,
    Send,
    encoded,
    rewrite_body,
    send_whole,
    shaped,
)
from ghcache.proxy.target import Target

Receive = Callable[[], Awaitable[dict[str, Any]]]
# Client headers that describe this hop, or that the proxy sets itself.
_NOT_FORWARDED = HOP_BY_HOP | {"host", "expect"}


class Aborted(Exception):
    """The exchange cannot be finished: the client went away, or GitHub broke off
    mid-answer.  Nothing more can be said to the client."""


async def request_body(receive: Receive) -> AsyncIterator[bytes]:
    """The client's body as it arrives."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Aborted
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


def forwarded(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers if name.lower() not in _NOT_FORWARDED]


class PassThrough:
    def __init__(self, http: httpx.AsyncClient, api_base: str, ratelimits: RateLimitView) -> None:
        self._http = http
        self._api_base = api_base
        self._ratelimits = ratelimits

    async def forward(
        self,
        *,
        method: str,
        target: Target,
        headers: list[tuple[str, str]],
        body: bytes | AsyncIterator[bytes] | None,
        receive: Receive,
        send: Send,
        identity: str,
        resource: str,
        before_answer: Callable[[int], Awaitable[None]],
    ) -> int:
        """Send the request upstream and stream the answer back; GitHub's status.

        ``before_answer(status)`` runs before the client sees anything (the cache is
        invalidated there, so the client's next read cannot get the old answer)."""
        request = self._http.build_request(
            method, target.url, headers=forwarded(headers), content=body
        )
        try:
            answer = await self._http.send(request, stream=True)
        except httpx.TimeoutException:
            raise Refusal(504, f"timed out waiting for {request.url.host}") from None
        except httpx.HTTPError as exc:
            raise Refusal(
                502, f"error connecting to {request.url.host}: {type(exc).__name__}"
            ) from None
        # The request body is sent: from now on the client only ever says it is gone.
        gone = asyncio.ensure_future(receive())
        try:
            await before_answer(answer.status_code)
            live = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in answer.headers.raw]
            self._ratelimits.record(identity, resource, live)
            content_type = answer.headers.get("content-type")
            if content_type is not None and "json" in content_type.lower():
                # An API answer (a created issue): its URLs must lead back here, so it is
                # read whole, decoded, and sent with a length of its own.
                body = rewrite_body(
                    await answer.aread(), content_type, self._api_base, target.client_base
                )
                headers_out = shaped(
                    [(k, v) for k, v in live if k.lower() != "content-encoding"],
                    api_base=self._api_base,
                    client_base=target.client_base,
                    rate_limit=None,
                    outcome="bypass",
                )
                headers_out.append(("Content-Length", str(len(body))))
                await send_whole(send, answer.status_code, headers_out, body)
                return answer.status_code
            headers_out = shaped(
                live,
                api_base=self._api_base,
                client_base=target.client_base,
                rate_limit=None,
                outcome="bypass",
                keep_length=True,
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": answer.status_code,
                    "headers": encoded(headers_out),
                }
            )
            async for chunk in answer.aiter_raw():
                if gone.done():
                    raise Aborted
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        except httpx.HTTPError:
            raise Aborted from None
        finally:
            gone.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await gone
            await answer.aclose()
        return answer.status_code
