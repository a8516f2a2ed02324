"""Tests only (``CACHE_PROXY_TEST_UPSTREAM``): httpx transports that send each request
over plain HTTP to one loopback address, with the original URL as an absolute-form
target, as a client sends it to an HTTP proxy.

The simulated GitHub answers an absolute-form request as the host it names, so the
forward proxy's tests get what api.github.com's layout would give (``https://api.github.com/``
in bodies and ``Link``) while no byte leaves the machine.  Settings accept only a
loopback address here; without the variable these transports are never built.
"""

from __future__ import annotations

import httpx


def _redirected(request: httpx.Request, address: tuple[str, int]) -> httpx.Request:
    host, port = address
    # httpcore's "target" extension is the request line's target: the whole URL.
    extensions = {**request.extensions, "target": str(request.url).encode("ascii")}
    return httpx.Request(
        request.method,
        request.url.copy_with(scheme="http", host=host, port=port),
        headers=request.headers,  # Host stays the API host's
        stream=request.stream,
        extensions=extensions,
    )


class ViaTransport(httpx.HTTPTransport):
    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__()
        self._address = address

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return super().handle_request(_redirected(request, self._address))


class AsyncViaTransport(httpx.AsyncHTTPTransport):
    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__()
        self._address = address

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await super().handle_async_request(_redirected(request, self._address))
